/**
 * The store backends a store test runs against: embedded PGlite always, and a real PostgreSQL
 * server when `DATABASE_URL` is set (`.ci/run` starts one). Each Postgres test store gets its own
 * throwaway database.
 */
import { openEmbeddedStore, type Store, storeFromClient } from "../adapters/store/store.ts";
import { openPostgres } from "../adapters/store/postgres_client.ts";

/** A backend under test. */
export interface Backend {
  readonly name: string;
  readonly open: () => Promise<Store>;
}

/** The Postgres server URL tests may use, if any. */
export const databaseUrl: string | undefined = Deno.env.get("DATABASE_URL");

const withDatabase = (url: string, db: string): string => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** Creates a fresh database on the server and returns a store over it; dropped on close. */
export const openThrowawayPostgres = async (url: string): Promise<Store> => {
  const admin = await openPostgres(url, { max: 1 });
  const name = `lk_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await admin.exec(`create database ${name}`);
  const store = await storeFromClient(await openPostgres(withDatabase(url, name)));
  return {
    ...store,
    close: async () => {
      await store.close();
      await admin.exec(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
};

/** The backends available in this environment. */
export const backends: ReadonlyArray<Backend> = [
  { name: "PGlite", open: () => openEmbeddedStore() },
  ...(databaseUrl ? [{ name: "PostgreSQL", open: () => openThrowawayPostgres(databaseUrl) }] : []),
];
