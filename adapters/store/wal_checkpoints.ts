/**
 * Checkpoints for the embedded database. A PostgreSQL server's checkpointer process writes dirty
 * pages out and recycles WAL as it grows past `max_wal_size`; PGlite runs PostgreSQL as one
 * single-user backend without that process, so its WAL only grows: 913 MB after 20k documents.
 * The store checkpoints itself instead, once enough WAL has been written, and when it closes.
 *
 * @module
 */
import type { SqlExecutor } from "./sql_client.ts";

/** Options of {@link makeWalCheckpoints}. */
export interface WalCheckpointOptions {
  /**
   * Committed transactions between two looks at the WAL written since the last checkpoint.
   * @default 200
   */
  readonly everyTransactions?: number;
  /**
   * WAL bytes since the last checkpoint that make the next look checkpoint.
   * @default 33554432 (32 MB, two WAL segments)
   */
  readonly walBytes?: number;
}

/** Counts commits and checkpoints when they wrote enough WAL. */
export interface WalCheckpoints {
  /** Called after each committed transaction. */
  readonly committed: () => Promise<void>;
  /** Checkpoints now (the store is closing). */
  readonly checkpoint: () => Promise<void>;
}

/** WAL written since the last checkpoint began, in bytes. */
export const walSinceCheckpoint = async (db: SqlExecutor): Promise<number> => {
  const [row] = await db.query<{ bytes: string | number }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)::bigint as bytes
     from pg_control_checkpoint()`,
  );
  return Number(row.bytes);
};

/** Checkpoints `db` after every `walBytes` of WAL, looked at every `everyTransactions` commits. */
export const makeWalCheckpoints = (
  db: SqlExecutor,
  options: WalCheckpointOptions = {},
): WalCheckpoints => {
  const every = options.everyTransactions ?? 200;
  const limit = options.walBytes ?? 32 * 1024 * 1024;
  let commits = 0;
  return {
    committed: async () => {
      commits += 1;
      if (commits % every !== 0) return;
      if (await walSinceCheckpoint(db) >= limit) await db.exec("checkpoint");
    },
    checkpoint: () => db.exec("checkpoint"),
  };
};
