/**
 * Dataset identities for lineage, named as the OpenLineage naming conventions say: source APIs by
 * their https origin and path, PostgreSQL tables as `postgres://host:port` + `db.schema.table`,
 * the embedded store's tables under the `file://` URI of its database folder, local files as
 * `file` + path, and what one stage hands to the next as the part of the store's checkpoint table
 * (`lk_checkpoints`) that holds it. The constructors live in `dataset_naming.ts`.
 *
 * @module
 */
import { checkpointDataset, storeTableDataset } from "./dataset_naming.ts";

/**
 * Another identity of the same dataset (the `symlinks` facet), e.g. the API a file came from.
 *
 * @category models
 */
export interface DatasetSymlink {
  /** The other identity's namespace. */
  readonly namespace: string;
  /** The other identity's name. */
  readonly name: string;
  /** What the other identity is, e.g. `API` or `TABLE`. */
  readonly type: string;
}

/**
 * A dataset as OpenLineage names it.
 *
 * @category models
 */
export interface DatasetId {
  /**
   * The dataset's namespace: a source API's origin, `file` for local files, the database server
   * (`postgres://host:port`) or the embedded database's folder (`file:///…/db`) for store tables.
   */
  readonly namespace: string;
  /** The dataset's name within its namespace: an API path, a file path or `db.schema.table`. */
  readonly name: string;
  /**
   * What the dataset is: a source `api`, a local `file`, a store `table`, a Kafka `topic`, or the
   * `checkpoint` a stage wrote for the next ones (rows of `lk_checkpoints`).
   */
  readonly kind: "api" | "file" | "table" | "topic" | "checkpoint";
  /** Other identities of the same data (`symlinks` facet), so lineage tools can join them. */
  readonly symlinks?: ReadonlyArray<DatasetSymlink>;
  /** How many rows a stage read from it, when known (`inputStatistics`). */
  readonly rowCount?: number;
}

/**
 * Where each source's records come from, as a dataset.
 *
 * @category constructors
 */
export const sourceDatasets: Readonly<Record<string, DatasetId>> = {
  clinicaltrials: { namespace: "https://clinicaltrials.gov", name: "/api/v2/studies", kind: "api" },
  openalex: { namespace: "https://api.openalex.org", name: "/works", kind: "api" },
  "openalex-pdf": { namespace: "https://api.openalex.org", name: "/works", kind: "api" },
  openfda: { namespace: "https://api.fda.gov", name: "/drug/label.json", kind: "api" },
  europepmc: {
    namespace: "https://www.ebi.ac.uk",
    name: "/europepmc/webservices/rest/search",
    kind: "api",
  },
  unpaywall: { namespace: "https://api.unpaywall.org", name: "/v2", kind: "api" },
};

/**
 * What a stage needs to name its datasets.
 *
 * @category models
 */
export interface StageDatasetInput {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The stage's name in the pipeline. */
  readonly stage: string;
  /** Store tables the stage writes (its definition's `writesTables`), named as table datasets. */
  readonly tables?: ReadonlyArray<string>;
  /** Dataset names from the stage's YAML `outputs`, when given. */
  readonly outputs?: ReadonlyArray<string>;
}

/**
 * Where the store lives, for table datasets.
 *
 * @category models
 */
export interface StoreLocation {
  /**
   * `postgres://host:port` for a server; the `file://` URI of the embedded database's folder (or
   * `file`, when that URI cannot be a Marquez namespace) for the embedded store.
   */
  readonly namespace: string;
  /**
   * What prefixes `schema.table` in names: the database's name (`postgres` for the embedded
   * store, whose folder is one PostgreSQL database of that name); with namespace `file`, the
   * folder's path and the database's name.
   */
  readonly prefix: string;
}

/**
 * The datasets a stage writes: the store tables it declares, else its checkpoint (the YAML's
 * `outputs` name the checkpoint's parts instead of the stage).
 *
 * @category constructors
 */
export const stageOutputDatasets = (
  stage: StageDatasetInput,
  store: StoreLocation,
): ReadonlyArray<DatasetId> => {
  if (stage.outputs && stage.outputs.length > 0) {
    return stage.outputs.map((name) => checkpointDataset(store, name));
  }
  const tables = stage.tables;
  if (tables && tables.length > 0) return tables.map((t) => storeTableDataset(store, t));
  return [checkpointDataset(store, `${stage.pipeline}.${stage.stage}`)];
};

/**
 * The fields of the document IR, for the `schema` facet of parse outputs.
 *
 * @category constructors
 */
export const documentSchemaFields: ReadonlyArray<
  { name: string; type: string; description: string }
> = [
  { name: "id", type: "string", description: "{source}:{docKey}" },
  { name: "source", type: "string", description: "the source system" },
  { name: "title", type: "string", description: "document title" },
  { name: "sections", type: "array", description: "sections of typed blocks (text, page, bbox)" },
  { name: "metadata", type: "object", description: "structured fields kept for extraction" },
  { name: "provenance", type: "object", description: "source, location and parser" },
];
