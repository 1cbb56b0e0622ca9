/**
 * Names datasets the way the OpenLineage naming conventions (`spec/Naming.md`) and Marquez want
 * them, for the kit's stages and for users' own: a stage that reads a table or writes a file names
 * it with these, and lineage tools join it with what other producers report about the same data.
 *
 * | data                      | namespace                          | name                          |
 * | ------------------------- | ---------------------------------- | ----------------------------- |
 * | PostgreSQL table          | `postgres://{host}:{port}`         | `{database}.{schema}.{table}` |
 * | embedded store table      | `file://{database folder}`         | `postgres.{schema}.{table}`   |
 * | stage checkpoint          | the store's                        | `….public.lk_checkpoints.{pipeline}.{stage}` |
 * | local file                | `file`                             | `{absolute path}`             |
 * | HTTP API                  | `https://{host}`                   | `{path}`                      |
 * | Kafka topic               | `kafka://{broker}:{port}`          | `{topic}`                     |
 *
 * Marquez refuses namespaces outside `[a-zA-Z:;=/0-9_\-.@+]` and names holding `:` or `#`; names
 * built here have those two characters percent-encoded, and a database folder whose URI has other
 * characters falls back to namespace `file` with the folder in the name.
 *
 * @example
 * ```ts
 * import { apiDataset, fileDataset, postgresTableDataset } from "./dataset_naming.ts";
 *
 * const api = apiDataset("https://clinicaltrials.gov/api/v2/studies");
 * const file = fileDataset("/data/records/NCT06171568.json", { sameAs: api });
 * const table = postgresTableDataset({ host: "db", database: "kg", table: "trials" });
 * console.log(file.symlinks, table.namespace); // [{…, type: "API"}] "postgres://db:5432"
 * ```
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { DatasetId, StoreLocation } from "./datasets.ts";

/**
 * The characters Marquez accepts in a namespace, and how long one may be.
 *
 * @category models
 */
export const MARQUEZ_NAMESPACE: RegExp = /^[a-zA-Z:;=/0-9_\-.@+]{1,1024}$/;

/**
 * The checkpoint table of the store: what each stage handed to the next ones.
 *
 * @category models
 */
export const CHECKPOINT_TABLE = "lk_checkpoints";

/**
 * The database name of the embedded store (PGlite's default database).
 *
 * @category models
 */
export const EMBEDDED_DATABASE = "postgres";

/**
 * A name with the characters Marquez refuses in names (`:` and `#`) percent-encoded.
 *
 * @category constructors
 */
export const safeDatasetName = (name: string): string =>
  name.replaceAll("%", "%25").replaceAll(":", "%3A").replaceAll("#", "%23");

/**
 * `postgres://host:port`, the namespace of a PostgreSQL server's tables.
 *
 * @category constructors
 */
export const postgresNamespace = (host: string, port: number | string = 5432): string =>
  `postgres://${host.toLowerCase()}:${port}`;

/**
 * A table of a PostgreSQL server: `postgres://host:port` + `database.schema.table`.
 *
 * @category constructors
 */
export const postgresTableDataset = (table: {
  readonly host: string;
  /** @default 5432 */
  readonly port?: number | string;
  readonly database: string;
  /** @default "public" */
  readonly schema?: string;
  readonly table: string;
}): DatasetId => ({
  namespace: postgresNamespace(table.host, table.port),
  name: safeDatasetName(`${table.database}.${table.schema ?? "public"}.${table.table}`),
  kind: "table",
});

/**
 * Where the embedded store's tables live: namespace the `file://` URI of its database folder, the
 * folder being one PostgreSQL database named `postgres`. A folder whose URI Marquez would refuse
 * as a namespace (it has spaces or other characters that need escapes) falls back to namespace
 * `file` and the folder's path in front of every name, the local-file form of the conventions.
 *
 * @category constructors
 */
export const embeddedStoreLocation = (databaseDir: string): StoreLocation => {
  const dir = resolve(databaseDir);
  const uri = pathToFileURL(dir).href.replace(/\/$/, "");
  return MARQUEZ_NAMESPACE.test(uri)
    ? { namespace: uri, prefix: EMBEDDED_DATABASE }
    : { namespace: "file", prefix: `${dir}/${EMBEDDED_DATABASE}` };
};

/**
 * Where a PostgreSQL server's tables live, from its URL (credentials are dropped).
 *
 * @category constructors
 */
export const serverStoreLocation = (url: string): StoreLocation => {
  const u = new URL(url);
  return {
    namespace: postgresNamespace(u.hostname, u.port || 5432),
    prefix: decodeURIComponent(u.pathname.slice(1)) || "postgres",
  };
};

/**
 * A table of the store: the store's namespace + `{database}.{schema}.{table}`.
 *
 * @category constructors
 */
export const storeTableDataset = (
  store: StoreLocation,
  table: string,
  schema = "public",
): DatasetId => ({
  namespace: store.namespace,
  name: safeDatasetName(`${store.prefix}.${schema}.${table}`),
  kind: "table",
});

/**
 * What a stage handed to the next ones: its rows of the store's checkpoint table, named
 * `….public.lk_checkpoints.{part}` (the kit's stages use `{pipeline}.{stage}` as the part).
 *
 * @category constructors
 */
export const checkpointDataset = (store: StoreLocation, part: string): DatasetId => ({
  ...storeTableDataset(store, `${CHECKPOINT_TABLE}.${part}`),
  kind: "checkpoint",
});

/**
 * A local file: `file` + its absolute path. `sameAs` names the identity the file's content has
 * elsewhere (a record file saved from an API), recorded as a symlink so lineage tools join them.
 *
 * @category constructors
 */
export const fileDataset = (
  path: string,
  options: { readonly sameAs?: DatasetId; readonly cwd?: string } = {},
): DatasetId => ({
  namespace: "file",
  name: safeDatasetName(isAbsolute(path) ? path : resolve(options.cwd ?? Deno.cwd(), path)),
  kind: "file",
  ...(options.sameAs === undefined ? {} : {
    symlinks: [{
      namespace: options.sameAs.namespace,
      name: options.sameAs.name,
      type: options.sameAs.kind === "api" ? "API" : "TABLE",
    }],
  }),
});

/**
 * An HTTP API endpoint: its origin + its path (`https://clinicaltrials.gov` + `/api/v2/studies`).
 *
 * @category constructors
 */
export const apiDataset = (url: string | URL): DatasetId => {
  const u = new URL(url);
  return { namespace: u.origin, name: safeDatasetName(u.pathname), kind: "api" };
};

/**
 * A Kafka topic: `kafka://{broker}:{port}` (one broker, as Marquez wants) + the topic.
 *
 * @category constructors
 */
export const kafkaTopicDataset = (broker: string, topic: string): DatasetId => ({
  namespace: `kafka://${broker.includes(":") ? broker : `${broker}:9092`}`,
  name: safeDatasetName(topic),
  kind: "topic",
});

/**
 * What would make Marquez refuse a dataset identity; empty when it is fine.
 *
 * @category constructors
 */
export const datasetNamingProblems = (d: Pick<DatasetId, "namespace" | "name">): string[] => [
  ...(MARQUEZ_NAMESPACE.test(d.namespace)
    ? []
    : [`namespace ${JSON.stringify(d.namespace)} must match ${MARQUEZ_NAMESPACE.source}`]),
  ...(d.name !== "" && !/[:#]/.test(d.name)
    ? []
    : [`name ${JSON.stringify(d.name)} must be non-empty, without ':' or '#'`]),
];

/**
 * What a job's first stage reads: the record file it was found in (`file` + path, with the source
 * API as its symlink), or the source API itself for live and inline records. One record per job,
 * so one row read.
 *
 * @category constructors
 */
export const recordInputDatasets = (
  location: { readonly kind: string; readonly file?: string },
  api: Pick<DatasetId, "namespace" | "name"> | undefined,
): ReadonlyArray<DatasetId> => {
  const source: DatasetId | undefined = api === undefined
    ? undefined
    : { namespace: api.namespace, name: api.name, kind: "api" };
  if (location.kind === "file" && location.file !== undefined) {
    return [{ ...fileDataset(location.file, source ? { sameAs: source } : {}), rowCount: 1 }];
  }
  return source ? [{ ...source, rowCount: 1 }] : [];
};
