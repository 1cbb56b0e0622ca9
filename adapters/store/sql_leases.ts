/**
 * Leases in SQL: named work that one holder at a time may do, across processes sharing a store
 * (a relay delivering to a sink, a bridge sending a job's PDF to MinerU). A lease lasts `ttlMs`
 * unless its holder renews it; one left by a dead process expires.
 *
 * @module
 */
import type { SqlExecutor } from "./sql_client.ts";

/** Takes or renews the lease `name` for `holder`; false while another holder's lease runs. */
export const claimLease = async (
  db: SqlExecutor,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> => {
  // Of two holders racing, the second waits for the first's row and then sees it held.
  const rows = await db.query<{ holder: string }>(
    `insert into lk_leases (name, holder, expires_at)
     values ($1, $2, now() + $3::int * interval '1 millisecond')
     on conflict (name) do update set holder = excluded.holder, expires_at = excluded.expires_at
     where lk_leases.holder = excluded.holder or lk_leases.expires_at < now()
     returning holder`,
    [name, holder, Math.round(ttlMs)],
  );
  return rows.length === 1;
};

/** Gives the lease `name` back, if `holder` has it. */
export const releaseLease = async (
  db: SqlExecutor,
  name: string,
  holder: string,
): Promise<void> => {
  await db.query("delete from lk_leases where name = $1 and holder = $2", [name, holder]);
};

/** Drops every lease: for a single-process database, whose leases all belong to gone processes. */
export const dropLeases = async (db: SqlExecutor): Promise<void> => {
  await db.query("delete from lk_leases");
  // Expired, not cleared: a job running without an expiry counts as held for a while.
  await db.query(
    `update lk_jobs set lease_owner = null, lease_expires_at = now() - interval '1 millisecond'
     where status = 'running'`,
  );
};
