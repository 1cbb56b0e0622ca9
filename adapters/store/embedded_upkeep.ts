/**
 * Upkeep of the embedded database. A PostgreSQL server has a checkpointer process that writes
 * dirty pages out and recycles WAL past `max_wal_size`, and autovacuum that makes the space of
 * updated and deleted rows reusable. PGlite runs PostgreSQL as one single-user backend with
 * neither, so its WAL only grows (913 MB after 20k documents) and so does every table whose rows
 * change: a job's row is updated at every stage transition, every event is dated delivered once.
 * The store does both itself instead, once enough WAL has been written, and checkpoints when it
 * closes; like autovacuum, it vacuums the tables with dead rows and gathers the planner statistics
 * of those that changed.
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
 * Vacuums those of the churning tables that exist (a store may predate some of them) and have
 * dead rows, and gathers the planner statistics of those that changed or never had any, which
 * autovacuum would also do on a server. Without statistics the planner guesses: it took
 * `delivered_at is null` for 0.5 % of the outbox whatever it held (the relay's page of pending
 * events, which it then read by sorting the whole backlog, now pins its plan: see sql_outbox.ts),
 * and it plans an empty table never analysed as ten pages of rows (the outbox's prune, joining the
 * delivered-through records, none at retention 0, then took 29-46 ms a call instead of under 5).
 * So statistics follow every change, not autovacuum's tenth of a table.
 *
 * A table only inserted into has no space to give back, so it is not vacuumed: a vacuum of it
 * would only read its new pages (and write them again, to mark them all visible). The outbox of
 * `deno task bench` is such a table between two upkeeps: the vacuums and analyses of its 3,000
 * documents took 695-798 ms, now 439-595 ms (four runs each). Both are judged by the database's
 * own counters (`pg_stat_user_tables`), flushed first: a backend sends them on only every second
 * or so.
 */
const vacuumChurning = async (db: SqlExecutor): Promise<void> => {
  await db.query("select pg_stat_force_next_flush()");
  const rows = await db.query<{ name: string; vacuum: boolean; analyze: boolean }>(
    `select quote_ident(c.relname) as name, s.n_dead_tup > 0 as vacuum,
       s.n_mod_since_analyze > 0 or s.analyze_count = 0 as analyze
     from pg_class c join pg_stat_user_tables s on s.relid = c.oid
     where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace
       and c.relname in (select jsonb_array_elements_text($1::jsonb))
     order by c.relname`,
    [JSON.stringify(churningTables)],
  );
  const listOf = (pick: (r: (typeof rows)[number]) => boolean) =>
    rows.filter(pick).map((r) => r.name).join(", ");
  const statements = [
    ["vacuum (analyze)", listOf((r) => r.vacuum && r.analyze)],
    ["vacuum", listOf((r) => r.vacuum && !r.analyze)],
    ["analyze", listOf((r) => !r.vacuum && r.analyze)],
  ].filter(([, tables]) => tables !== "");
  if (statements.length === 0) return;
  // One statement each: VACUUM refuses to run in a script of several.
  await db.exec(`set default_statistics_target = ${STATISTICS_TARGET}`);
  try {
    for (const [command, tables] of statements) await db.exec(`${command} ${tables}`);
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
