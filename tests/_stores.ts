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
  /**
   * Two stores over one database, as two processes would have them (PGlite is single-process:
   * both are the same store); `close` closes both.
   */
  readonly openPair: () => Promise<{ stores: [Store, Store]; close: () => Promise<void> }>;
}

/** The Postgres server URL tests may use, if any. */
export const databaseUrl: string | undefined = Deno.env.get("DATABASE_URL");

const withDatabase = (url: string, db: string): string => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

/** A fresh, empty database on the server at `url`: its URL, and `drop` to remove it. */
export const throwawayDatabase = async (url: string) => {
  const admin = await openPostgres(url, { max: 1 });
  const name = `lk_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await admin.exec(`create database ${name}`);
  return {
    url: withDatabase(url, name),
    drop: async () => {
      await admin.exec(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
};

/** Creates a fresh database on the server and returns a store over it; dropped on close. */
export const openThrowawayPostgres = async (url: string): Promise<Store> => {
  const db = await throwawayDatabase(url);
  const store = await storeFromClient(await openPostgres(db.url));
  return {
    ...store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
};

const openPostgresPair = async (url: string) => {
  const db = await throwawayDatabase(url);
  const first = await storeFromClient(await openPostgres(db.url));
  const second = await storeFromClient(await openPostgres(db.url));
  return {
    stores: [first, second] as [Store, Store],
    close: async () => {
      await first.close();
      await second.close();
      await db.drop();
    },
  };
};

/** The backends available in this environment. */
export const backends: ReadonlyArray<Backend> = [
  {
    name: "PGlite",
    open: () => openEmbeddedStore(),
    openPair: async () => {
      const store = await openEmbeddedStore();
      return { stores: [store, store], close: () => store.close() };
    },
  },
  ...(databaseUrl
    ? [{
      name: "PostgreSQL",
      open: () => openThrowawayPostgres(databaseUrl),
      openPair: () => openPostgresPair(databaseUrl),
    }]
    : []),
];
