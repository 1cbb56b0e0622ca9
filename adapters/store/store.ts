/**
 * Opens the kit's store (embedded PGlite by default) and exposes it as the services the runner
 * and the relay use.
 *
 * @module
 */
import { Layer } from "effect";
import { resolve } from "node:path";
import { JobLedger, type JobLedgerShape } from "../../pipelines/ledger.ts";
import {
  daysToMs,
  defaultOutboxRetentionDays,
  OutboxStore,
  type OutboxStoreShape,
} from "../../lineage/outbox.ts";
import { migrate } from "./migrations.ts";
import { openPglite } from "./pglite_client.ts";
import { openPostgres, redactUrl } from "./postgres_client.ts";
import { prepareDataDir, templateCacheDir, templateKey } from "./store_template.ts";
import { SHIPPED_TEMPLATE, shippedTemplateTar } from "./store_template_archive.ts";
import { holdEmbeddedStore, StoreBusy } from "./store_lock.ts";
import { serveStoreStatus, type StatusEndpoint } from "./status_socket.ts";
import type { SqlClient } from "./sql_client.ts";
import { makeSqlJobLedger } from "./sql_job_ledger.ts";
import { makeSqlOutboxStore, pruneOutbox } from "./sql_outbox.ts";
import { dropLeases } from "./sql_leases.ts";
import type { StoreLocation } from "../../lineage/datasets.ts";
import { embeddedStoreLocation, serverStoreLocation } from "../../lineage/dataset_naming.ts";

/** An open store. */
export interface Store {
  /** What was opened: the embedded directory or the `postgres://` URL (memory: `memory`). */
  readonly spec: string;
  /** The database connection. */
  readonly client: SqlClient;
  /** The job ledger, over the same database. */
  readonly ledger: JobLedgerShape;
  /** The lineage outbox, over the same database. */
  readonly outbox: OutboxStoreShape;
  /** Ledger and outbox as layers, for `Effect.provide`. */
  readonly layer: Layer.Layer<JobLedger | OutboxStore>;
  /**
   * Deletes outbox events every sink had, delivered more than `olderThanMs` ago (default: the
   * store's retention); resolves to how many went.
   */
  readonly prune: (olderThanMs?: number) => Promise<number>;
  /** How long delivered outbox events are kept (the relay prunes older ones). */
  readonly outboxRetentionMs: number;
  /** Prunes the outbox (its retention), then closes the database connection. */
  readonly close: () => Promise<void>;
}

export { StoreBusy };

/** Where the embedded database lives inside a store directory. */
export const embeddedDbDir = (storeDir: string): string => resolve(storeDir, "db");

/**
 * Builds a store over an already-open client (runs the migrations); `spec` says what was opened.
 */
export const storeFromClient = async (
  client: SqlClient,
  spec: string = client.location,
  options: Pick<OpenStoreOptions, "outboxRetentionMs"> = {},
): Promise<Store> => {
  await migrate(client);
  const ledger = makeSqlJobLedger(client);
  // The horizon guards against a writer committing a lower sequence number after a higher one
  // is visible: on a server, transactions commit concurrently. PGlite runs one transaction at a
  // time, so numbers become visible in order and settled events fold into the cursor at once.
  const retentionMs = options.outboxRetentionMs ?? daysToMs(defaultOutboxRetentionDays);
  const outbox = makeSqlOutboxStore(client, {
    ...(client.dialect === "pglite" ? { horizonMs: 0 } : {}),
    // Retention 0 would prune each delivered event at the next prune: it goes at once instead.
    deleteDelivered: retentionMs === 0,
  });
  const prune = (olderThanMs = retentionMs) => pruneOutbox(client, olderThanMs);
  return {
    spec,
    client,
    ledger,
    outbox,
    layer: Layer.mergeAll(Layer.succeed(JobLedger, ledger), Layer.succeed(OutboxStore, outbox)),
    prune,
    outboxRetentionMs: retentionMs,
    close: async () => {
      // Only a store opened with the project's retention prunes: a command that opened it with
      // the default (a viewer such as `status`) must not apply 7 days to a store kept longer.
      // Retention is upkeep: a store that cannot prune now still closes, and prunes next time.
      if (options.outboxRetentionMs !== undefined) await prune().catch(() => undefined);
      await client.close();
    },
  };
};

/** Options of {@link openStore} and {@link openEmbeddedStore}. */
export interface OpenStoreOptions {
  /**
   * Leave the leases of an embedded store alone (a command that only reads, e.g. `status`).
   * @default false
   */
  readonly keepLeases?: boolean;
  /**
   * How long delivered outbox events are kept; when given, older ones are pruned when the store
   * closes (without it, closing prunes nothing and the relay keeps 7 days).
   * @default 7 days
   */
  readonly outboxRetentionMs?: number;
}

/**
 * Opens the embedded store in `storeDir` (created when missing); undefined keeps it in memory.
 * The embedded database is for one process at a time, which the store holds while it is open
 * (store_lock.ts: another process is refused with {@link StoreBusy}; its `status` is answered by
 * this one, see status_socket.ts). So every lease found when
 * it opens was left by a process that is gone: they are dropped (unless `keepLeases`), and its
 * jobs can be taken over at once. A store created by this call has none.
 */
export const openEmbeddedStore = async (
  storeDir?: string,
  options: OpenStoreOptions = {},
): Promise<Store> => {
  if (storeDir === undefined) {
    const template = await shippedTemplateTar(
      await templateKey(),
      SHIPPED_TEMPLATE,
      templateCacheDir(),
    );
    return await storeFromClient(await openPglite(undefined, template), "memory", options);
  }
  const hold = await holdEmbeddedStore(storeDir);
  try {
    // A new store starts from a template instead of running initdb and migrations.
    const prepared = await prepareDataDir(embeddedDbDir(storeDir), templateCacheDir());
    const client = await openPglite(embeddedDbDir(storeDir));
    let store: Store;
    let statusEndpoint: StatusEndpoint | undefined;
    try {
      store = await storeFromClient(client, storeDir, options);
      // A store made now holds no lease to drop.
      if (!options.keepLeases && prepared === "existing") await dropLeases(store.client);
      // A `status` started while this process has the store open is answered from here.
      statusEndpoint = await serveStoreStatus(store, storeDir, hold.holder);
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
    return {
      ...store,
      close: async () => {
        try {
          await statusEndpoint?.close();
          await store.close();
        } finally {
          hold.release();
        }
      },
    };
  } catch (e) {
    hold.release();
    throw e;
  }
};

/** Whether a `--store` value names a PostgreSQL server rather than an embedded directory. */
export const isServerStore = (spec: string): boolean => /^postgres(ql)?:\/\//.test(spec);

/** Where a store is, for messages: a server URL without its password, or the directory. */
export const describeStore = (spec: string): string => isServerStore(spec) ? redactUrl(spec) : spec;

/** Opens the store a `--store` value names: a `postgres://` URL or an embedded directory. */
export const openStore = async (spec: string, options: OpenStoreOptions = {}): Promise<Store> =>
  isServerStore(spec)
    ? storeFromClient(await openPostgres(spec), spec, options)
    : openEmbeddedStore(spec, options);

/**
 * Where a store's tables live, as the OpenLineage naming conventions want it: a server's
 * `postgres://host:port` with its database's name, or the `file://` URI of the embedded
 * database's folder with the database name `postgres`.
 */
export const storeDatasetLocation = (spec: string): StoreLocation =>
  isServerStore(spec) ? serverStoreLocation(spec) : embeddedStoreLocation(embeddedDbDir(spec));

/** Whether a store exists at `spec` (a server is assumed to; a directory must hold a database). */
export const storeExists = async (spec: string): Promise<boolean> => {
  if (isServerStore(spec)) return true;
  try {
    await Deno.stat(embeddedDbDir(spec));
    return true;
  } catch {
    return false;
  }
};
