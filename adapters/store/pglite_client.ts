/**
 * The embedded database: PGlite (Postgres in WebAssembly) with pgvector, in a folder on disk.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";

/**
 * Postgres settings of the embedded database. PGlite keeps server defaults sized for a machine
 * of its own: 128 MB of shared buffers, all touched at start inside the WebAssembly heap. One
 * process writing one store at a time does not need them, and 16 MB takes about 130 MB off the
 * resident size of every command that opens the store.
 */
export const pgliteSettings: ReadonlyArray<string> = ["-c", "shared_buffers=16MB"];

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

/**
 * Opens (creating when missing) a PGlite database. `dir` undefined keeps it in memory.
 *
 * PGlite is single-connection and serialises queries and transactions internally, so concurrent
 * fibers may share one client.
 */
export const openPglite = async (dir?: string): Promise<SqlClient> => {
  if (dir) await Deno.mkdir(dir, { recursive: true });
  const db = await PGlite.create(dir, {
    extensions: { vector },
    startParams: [...PGlite.defaultStartParams, ...pgliteSettings],
  });
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
