/**
 * The embedded database: PGlite (Postgres in WebAssembly) with pgvector, in a folder on disk.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { makeEmbeddedUpkeep } from "./embedded_upkeep.ts";
import { makePreparedQuery, type PreparedQuery } from "./pglite_statements.ts";
import { sizeFilesBySeeking } from "./pglite_file_sizes.ts";
import { lookUpMissingFilesQuietly } from "./pglite_missing_files.ts";

/**
 * Postgres settings of the embedded database, on top of PGlite's own start parameters.
 *
 * PGlite keeps server defaults sized for a machine of its own: 128 MB of shared buffers, all
 * touched at start inside the WebAssembly heap. One process writing one store at a time does not
 * need them, and 16 MB takes about 130 MB off the resident size of every command that opens it.
 *
 * PGlite runs with fsync off (its default `-F`), so a full page image in the WAL protects
 * against nothing a process crash can do (a page the database wrote is in the operating system's
 * hands either way), and nothing replicates the WAL: both only multiply the bytes every commit
 * writes. In memory, every file that grows is copied again, so a new WAL segment is not
 * zero-filled page by page.
 */
export const pgliteSettings: ReadonlyArray<string> = [
  "-c",
  "shared_buffers=16MB",
  "-c",
  "full_page_writes=off",
  "-c",
  "wal_level=minimal",
  "-c",
  "max_wal_senders=0",
  "-c",
  "wal_init_zero=off",
  // At a checkpoint (embedded_upkeep.ts) WAL segments past these are deleted, not kept for reuse.
  "-c",
  "min_wal_size=32MB",
  "-c",
  "max_wal_size=32MB",
  // `plan_cache_mode` stays `auto` for the prepared statements (pglite_statements.ts): forcing
  // one generic plan saved a tenth of a short run's database time, but the relay's page of
  // pending events (`limit $3`) then scanned the whole outbox, seconds per page at 30k events.
];

// Statements run prepared (see pglite_statements.ts); scripts as they are.
const executor = (
  db: { exec: PGlite["exec"] },
  prepared: PreparedQuery,
  inTransaction: boolean,
): SqlExecutor => ({
  query: (sql: string, params?: ReadonlyArray<unknown>) =>
    prepared(sql, params ?? [], inTransaction),
  exec: async (sql: string) => {
    await db.exec(sql);
  },
});

/**
 * Opens (creating when missing) a PGlite database. `dir` undefined keeps it in memory; such a
 * database starts from `template` (a tar of a data folder) when given, else from initdb.
 *
 * PGlite is single-connection and serialises queries and transactions internally, so concurrent
 * fibers may share one client.
 */
export const openPglite = async (dir?: string, template?: Blob): Promise<SqlClient> => {
  if (dir) await Deno.mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir, {
    extensions: { vector },
    startParams: [...PGlite.defaultStartParams, ...pgliteSettings],
    ...(dir === undefined && template ? { loadDataDir: template } : {}),
  });
  // Relation sizes by a seek instead of an fstat (pglite_file_sizes.ts), a relation's missing
  // forks and segments without an exception (pglite_missing_files.ts).
  lookUpMissingFilesQuietly(db);
  sizeFilesBySeeking(db);
  await db.exec("create extension if not exists vector");
  const prepared = makePreparedQuery(db);
  const base = executor(db, prepared, false);
  const upkeep = makeEmbeddedUpkeep(base);
  // A failed upkeep is tried again later; the write has committed either way.
  const afterWrite = async <T>(result: T): Promise<T> => {
    await upkeep.wrote().catch(() => undefined);
    return result;
  };
  return {
    dialect: "pglite",
    location: dir ?? "memory",
    hasVector: true,
    // Every statement outside a transaction is one (a lone group-commit write is one), so each
    // counts towards the upkeep as a transaction does.
    query: async (sql, params) => await afterWrite(await base.query(sql, params)),
    exec: async (sql) => await afterWrite(await base.exec(sql)),
    transaction: async (fn) =>
      await afterWrite(await db.transaction((tx) => fn(executor(tx, prepared, true)))),
    listen: async (channel, onNotify) => {
      const stop = await db.listen(channel, onNotify);
      return () => stop();
    },
    close: async () => {
      // Leaves the folder with its WAL recycled and nothing to replay on the next open.
      if (dir && !db.closed) await upkeep.checkpoint().catch(() => undefined);
      await db.close();
    },
  };
};
