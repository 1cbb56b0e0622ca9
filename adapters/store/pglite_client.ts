/**
 * The embedded database: PGlite (Postgres in WebAssembly) with pgvector, in a folder on disk.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";

const executor = (db: {
  query: PGlite["query"];
  exec: PGlite["exec"];
}): SqlExecutor => ({
  query: async <T>(sql: string, params?: ReadonlyArray<unknown>) =>
    (await db.query<T>(sql, params ? [...params] : undefined)).rows,
  exec: async (sql: string) => {
    await db.exec(sql);
  },
});

// PGlite runs with fsync off (its default `-F`), so a full page image in the WAL protects
// against nothing a process crash can do (a page the database wrote is in the operating system's
// hands either way), and nothing replicates the WAL: both only multiply the bytes every commit
// writes. In memory, every file that grows is copied again, so a new WAL segment is not
// zero-filled page by page, and a small WAL is recycled (after a checkpoint) rather than kept
// growing: that also bounds the memory an in-memory store holds.
const walSettings = [
  ...PGlite.defaultStartParams,
  "-c",
  "full_page_writes=off",
  "-c",
  "wal_level=minimal",
  "-c",
  "max_wal_senders=0",
  "-c",
  "wal_init_zero=off",
  "-c",
  "max_wal_size=64MB",
  "-c",
  "min_wal_size=48MB",
];

/**
 * Opens (creating when missing) a PGlite database. `dir` undefined keeps it in memory.
 *
 * PGlite is single-connection and serialises queries and transactions internally, so concurrent
 * fibers may share one client.
 */
export const openPglite = async (dir?: string): Promise<SqlClient> => {
  if (dir) await Deno.mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir, { extensions: { vector }, startParams: walSettings });
  await db.exec("create extension if not exists vector");
  const base = executor(db);
  return {
    dialect: "pglite",
    location: dir ?? "memory",
    hasVector: true,
    ...base,
    transaction: (fn) => db.transaction((tx) => fn(executor(tx))),
    listen: async (channel, onNotify) => {
      const stop = await db.listen(channel, onNotify);
      return () => stop();
    },
    close: () => db.close(),
  };
};
