/**
 * The store one measured kit run writes to: a fresh embedded store in a temporary folder (on disk,
 * as `run-pipeline` keeps it; removed afterwards), PGlite in memory for `--store memory`, or, for
 * `--store postgres://…`, a schema of its own on that server (created for the run, put first on the
 * connection's search_path, dropped afterwards), so each run starts from empty tables and a
 * user's own kit tables in that database are never read or cleaned. Its statements are counted.
 *
 * @module
 */
import {
  isServerStore,
  openEmbeddedStore,
  openStore,
  type Store,
  storeFromClient,
} from "../adapters/store/store.ts";
import { openPostgres } from "../adapters/store/postgres_client.ts";
import { type CountingClient, countStatements } from "./_counting_client.ts";

/** A store for one run, its statement counter, and `close` to end (and drop) it. */
export interface BenchStore {
  readonly store: Store;
  readonly counter: CountingClient;
  readonly close: () => Promise<void>;
}

// postgres.js passes unknown URL parameters on as connection parameters: search_path among them.
const withSearchPath = (url: string, schema: string): string => {
  const u = new URL(url);
  u.searchParams.set("search_path", schema);
  return u.toString();
};

const freshSchema = async (url: string) => {
  const admin = await openPostgres(url, { max: 1 });
  const schema = `lk_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await admin.exec(`create schema ${schema}`);
  return {
    url: withSearchPath(url, schema),
    drop: async () => {
      try {
        await admin.exec(`drop schema if exists ${schema} cascade`);
      } finally {
        await admin.close();
      }
    },
  };
};

// A fresh embedded store in a temporary folder, removed with it.
const freshFolder = async () => {
  const dir = await Deno.makeTempDir({ prefix: "lk-bench-" });
  return { dir, remove: () => Deno.remove(dir, { recursive: true }) };
};

/**
 * Opens the store for one kit run: a fresh embedded store on disk when `spec` is undefined, in
 * memory for `memory`, else in a fresh schema on the server `spec` names. The store is rebuilt
 * over a counting wrapper of its client (the migrations, already applied, are only checked
 * again), and the counter starts at zero.
 */
export const openBenchStore = async (spec?: string): Promise<BenchStore> => {
  if (spec !== undefined && spec !== "memory" && !isServerStore(spec)) {
    throw new Error(`--store: expected memory or a postgres:// URL, got "${spec}"`);
  }
  const schema = spec && spec !== "memory" ? await freshSchema(spec) : undefined;
  const folder = spec === undefined ? await freshFolder() : undefined;
  const cleanUp = async () => {
    await schema?.drop();
    await folder?.remove();
  };
  try {
    const opened = schema ? await openStore(schema.url) : await openEmbeddedStore(folder?.dir);
    const counter = countStatements(opened.client);
    const store = await storeFromClient(counter.client, opened.spec);
    counter.reset();
    return {
      store,
      counter,
      close: async () => {
        try {
          // The store as opened: it closes the client the counted one wraps, and lets go of what
          // else it holds (an embedded store's lock and status socket).
          await opened.close();
        } finally {
          await cleanUp();
        }
      },
    };
  } catch (e) {
    await cleanUp();
    throw e;
  }
};
