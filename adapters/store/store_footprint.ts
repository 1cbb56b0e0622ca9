/**
 * How much room the store takes, for `deno task status`: the database's size, its WAL, and the
 * outbox's events still waiting for a sink against those every sink had (which retention prunes).
 *
 * @module
 */
import type { Effect } from "effect";
import type { StoreError } from "../../lineage/outbox.ts";
import type { SqlExecutor } from "./sql_client.ts";
import { storeOp } from "./store_op.ts";
import { LOWEST_CURSOR_BY_CHANNEL } from "./sql_outbox.ts";

/** The store's size on disk and its outbox's state. */
export interface StoreFootprint {
  /** The database's size in bytes (tables, indexes; without WAL). */
  readonly databaseBytes: number;
  /** The WAL's size in bytes; null where the server does not let this user read it. */
  readonly walBytes: number | null;
  /** Outbox events some sink has not had yet, and events every sink had. */
  readonly outbox: { readonly pending: number; readonly delivered: number };
}

const walBytes = async (db: SqlExecutor): Promise<number | null> => {
  try {
    const [row] = await db.query<{ n: string | number }>(
      "select coalesce(sum(size), 0)::bigint as n from pg_ls_waldir()",
    );
    return Number(row.n);
  } catch {
    // pg_ls_waldir() needs superuser or pg_monitor on a server.
    return null;
  }
};

/** Reads the store's footprint (the whole store: sizes are not kept per tenant). */
export const storeFootprint = (db: SqlExecutor): Effect.Effect<StoreFootprint, StoreError> =>
  storeOp("footprint", async () => {
    const [size] = await db.query<{ n: string | number }>(
      "select pg_database_size(current_database())::bigint as n",
    );
    const [outbox] = await db.query<{ pending: number; delivered: number }>(
      // Delivered: dated, or up to the lowest cursor of the sinks taking its channel and not
      // dead-lettered (see markDelivered in sql_outbox.ts).
      `with lowest as (${LOWEST_CURSOR_BY_CHANNEL}),
       outbox as (
         select o.delivered_at is not null or (o.seq <= l.seq
           and not exists (select 1 from lk_outbox_dead_letters d where d.seq = o.seq)) as done
         from lk_outbox o join lowest l on l.channel = o.channel)
       select count(*) filter (where not done)::int as pending,
              count(*) filter (where done)::int as delivered
       from outbox`,
    );
    return {
      databaseBytes: Number(size.n),
      walBytes: await walBytes(db),
      outbox: { pending: outbox.pending, delivered: outbox.delivered },
    };
  });
