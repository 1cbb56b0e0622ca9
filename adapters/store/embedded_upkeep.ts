/**
 * Upkeep of the embedded database. A PostgreSQL server has a checkpointer process that writes
 * dirty pages out and recycles WAL past `max_wal_size`, and autovacuum that makes the space of
 * updated and deleted rows reusable. PGlite runs PostgreSQL as one single-user backend with
 * neither, so its WAL only grows (913 MB after 20k documents) and so does every table whose rows
 * change: a job's row is updated at every stage transition, every event is dated delivered once.
 * The store does both itself instead, once enough WAL has been written, and checkpoints when it
 * closes; its vacuum also gathers the planner statistics autovacuum would.
 *
 * @module
 */
import type { SqlExecutor } from "./sql_client.ts";

/** Options of {@link makeEmbeddedUpkeep}. */
export interface EmbeddedUpkeepOptions {
  /**
   * Writes (statements and transactions) between two looks at the WAL written since the last
   * checkpoint.
   * @default 200
   */
  readonly everyWrites?: number;
  /**
   * WAL bytes since the last checkpoint that make the next look vacuum and checkpoint.
   * @default 33554432 (32 MB, two WAL segments)
   */
  readonly walBytes?: number;
}

/** Counts writes; vacuums and checkpoints once they wrote enough WAL. */
export interface EmbeddedUpkeep {
  /** Called after each statement or transaction that ended outside a transaction. */
  readonly wrote: () => Promise<void>;
  /** Checkpoints now (the store is closing). */
  readonly checkpoint: () => Promise<void>;
}

/**
 * The kit's tables whose rows are updated or deleted as jobs run: vacuumed at each upkeep. The
 * others only grow, and a vacuum over them would only read them.
 */
export const churningTables: ReadonlyArray<string> = [
  "lk_jobs",
  "lk_checkpoints",
  "lk_outbox",
  "lk_outbox_settled",
  "lk_outbox_cursors",
  "lk_outbox_delivered_through",
  "lk_leases",
];

/** WAL written since the last checkpoint began, in bytes. */
export const walSinceCheckpoint = async (db: SqlExecutor): Promise<number> => {
  const [row] = await db.query<{ bytes: string | number }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)::bigint as bytes
     from pg_control_checkpoint()`,
  );
  return Number(row.bytes);
};

/**
 * The statistics target of the upkeep's analyze, a tenth of the server default: 3,000 rows
 * sampled per table instead of 30,000. The kit's queries need the share of each job status and of
 * undelivered events, not fine histograms, and each sampled event is 1.5 KB read from its page.
 */
const STATISTICS_TARGET = 10;

/**
 * Vacuums those of the churning tables that exist (a store may predate some of them), and
 * gathers their planner statistics, which autovacuum would also do on a server. Without them the
 * planner guesses: it took `delivered_at is null` for 0.5 % of the outbox whatever it held (the
 * relay's page of pending events, which it then read by sorting the whole backlog, now pins its
 * plan: see sql_outbox.ts).
 */
const vacuumChurning = async (db: SqlExecutor): Promise<void> => {
  const [row] = await db.query<{ tables: string | null }>(
    `select string_agg(quote_ident(relname), ', ') as tables from pg_class
     where relkind = 'r' and relnamespace = 'public'::regnamespace
       and relname in (select jsonb_array_elements_text($1::jsonb))`,
    [JSON.stringify(churningTables)],
  );
  if (!row?.tables) return;
  // One statement each: VACUUM refuses to run in a script of several.
  await db.exec(`set default_statistics_target = ${STATISTICS_TARGET}`);
  try {
    await db.exec(`vacuum (analyze) ${row.tables}`);
  } finally {
    await db.exec("reset default_statistics_target");
  }
};

/**
 * Vacuums the churning tables and checkpoints `db` after every `walBytes` of WAL, looked at
 * every `everyWrites` writes.
 */
export const makeEmbeddedUpkeep = (
  db: SqlExecutor,
  options: EmbeddedUpkeepOptions = {},
): EmbeddedUpkeep => {
  const every = options.everyWrites ?? 200;
  const limit = options.walBytes ?? 32 * 1024 * 1024;
  let writes = 0;
  return {
    wrote: async () => {
      writes += 1;
      if (writes % every !== 0) return;
      if (await walSinceCheckpoint(db) < limit) return;
      await vacuumChurning(db);
      await db.exec("checkpoint");
    },
    checkpoint: () => db.exec("checkpoint"),
  };
};
