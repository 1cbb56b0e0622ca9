/**
 * Dataset identities for lineage, following the OpenLineage naming table: source APIs by their
 * https origin and path, the embedded store's tables as `file` + path, and in-memory hand-offs
 * between stages under `inmemory://`.
 *
 * @module
 */
/** A dataset as OpenLineage names it. */
export interface DatasetId {
  /**
   * The dataset's namespace: a source API's origin, `file` or the database server for store
   * tables, or `inmemory://lineage-kit` for hand-offs between stages.
   */
  readonly namespace: string;
  /** The dataset's name within its namespace: an API path, a table, or a hand-off's name. */
  readonly name: string;
  /** What the dataset is, for the `datasetType` facet. */
  readonly kind: "api" | "table" | "handoff";
}

/** Where each source's records come from, as a dataset. */
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

/** The namespace of in-memory hand-offs between stages. */
export const HANDOFF_NAMESPACE = "inmemory://lineage-kit";

/** What a stage needs to name its datasets. */
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

/** Where the store lives, for table datasets. */
export interface StoreLocation {
  /** `file` for the embedded database, `postgres://host:port` for a server. */
  readonly namespace: string;
  /** Path (embedded) or database name (server) that prefixes table names. */
  readonly prefix: string;
}

/** The datasets a stage writes. */
export const stageOutputDatasets = (
  stage: StageDatasetInput,
  store: StoreLocation,
): ReadonlyArray<DatasetId> => {
  if (stage.outputs && stage.outputs.length > 0) {
    return stage.outputs.map((name) => ({ namespace: HANDOFF_NAMESPACE, name, kind: "handoff" }));
  }
  const tables = stage.tables;
  if (tables && tables.length > 0) {
    return tables.map((t) => ({
      namespace: store.namespace,
      name: `${store.prefix}.public.${t}`,
      kind: "table",
    }));
  }
  return [{
    namespace: HANDOFF_NAMESPACE,
    name: `${stage.pipeline}.${stage.stage}`,
    kind: "handoff",
  }];
};

/** The fields of the document IR, for the `schema` facet of parse outputs. */
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
