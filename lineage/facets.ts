/**
 * Constructors for the OpenLineage facets the kit emits, each stamped with the `_producer` and the
 * exact `_schemaURL` of its published version.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as Urls from "./facet_urls.ts";

// Shipped pipeline files are named relative to the kit's folder.
const kitRoot: string = fileURLToPath(new URL("..", import.meta.url));

/** The kit's `producer` / `_producer` URI. */
export const PRODUCER: string = Urls.PRODUCER;

/** The core schema URL of run events (OpenLineage 2-0-2). */
export const RUN_EVENT_SCHEMA_URL: string = Urls.RUN_EVENT_SCHEMA_URL;

/** A facet as the kit writes it: stamped with producer and schema URL, then its own fields. */
export type Facet = {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly [field: string]: unknown;
};

const facet = (schemaURL: string) => ({ _producer: Urls.PRODUCER, _schemaURL: schemaURL });

/** `jobType`: a pipeline is a DAG, a stage a TASK, both batch. */
export const jobType = (kind: "DAG" | "TASK"): Facet => ({
  ...facet(Urls.FacetSchemaUrl.JobTypeJobFacet),
  processingType: "BATCH",
  integration: "LINEAGE_KIT",
  jobType: kind,
});

/** `documentation` of a job. */
export const jobDocumentation = (description: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.DocumentationJobFacet),
  description,
});

/** `sourceCodeLocation`: where the pipeline is declared. */
export const sourceCodeLocation = (path: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.SourceCodeLocationJobFacet),
  type: "file",
  url: pathToFileURL(isAbsolute(path) ? path : resolve(kitRoot, path)).href,
  path,
});

/** `processing_engine`: this kit. */
export const processingEngine = (version: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.ProcessingEngineRunFacet),
  version,
  name: "lineage-kit",
  openlineageAdapterVersion: version,
});

/** `errorMessage` for FAIL events. */
export const errorMessage = (message: string, stackTrace?: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.ErrorMessageRunFacet),
  message,
  programmingLanguage: "TypeScript",
  ...(stackTrace ? { stackTrace } : {}),
});

/** `parent` with `root`: the pipeline run is both parent and root of each stage run. */
export const parent = (p: {
  namespace: string;
  job: string;
  runId: string;
  /** The top of the hierarchy when the parent has a parent itself. @default the parent */
  root?: { namespace: string; job: string; runId: string };
}): Facet => ({
  ...facet(Urls.FacetSchemaUrl.ParentRunFacet),
  run: { runId: p.runId },
  job: { namespace: p.namespace, name: p.job },
  root: {
    run: { runId: (p.root ?? p).runId },
    job: { namespace: (p.root ?? p).namespace, name: (p.root ?? p).job },
  },
});

/** `datasetType` for hand-off datasets. */
export const datasetType = (type: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.DatasetTypeDatasetFacet),
  datasetType: type,
  subType: "",
});

/** `dataSource` naming the system a dataset lives in. */
export const dataSource = (namespace: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.DatasourceDatasetFacet),
  name: namespace,
  ...(namespace.includes("://") ? { uri: namespace } : {}),
});

/** `outputStatistics` of a written dataset. */
export const outputStatistics = (rowCount: number): Facet => ({
  ...facet(Urls.FacetSchemaUrl.OutputStatisticsOutputDatasetFacet),
  rowCount,
});

/** `schema` of a dataset. */
export const schema = (
  fields: ReadonlyArray<{ name: string; type: string; description?: string }>,
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.SchemaDatasetFacet),
  fields,
});

/** The kit's `lineageKit_attempt` run facet: which attempt, under which policy. */
export const attempt = (a: {
  attempt: number;
  maxAttempts: number;
  policy: string;
  retryOf?: string;
  backoffMs?: number;
  errorType?: string;
}): Facet => ({ ...facet(Urls.FacetSchemaUrl.LineageKitAttemptRunFacet), ...a });

/** The kit's `lineageKit_gpu` run facet: whether and which GPU service served the run. */
export const gpu = (
  g: { gpuUsed: boolean; service?: string; model?: string; device?: string },
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.LineageKitGpuRunFacet),
  ...g,
});

/** `nominalTime`: when the run was scheduled to cover. */
export const nominalTime = (start: Date, end?: Date): Facet => ({
  ...facet(Urls.FacetSchemaUrl.NominalTimeRunFacet),
  nominalStartTime: start.toISOString(),
  ...(end ? { nominalEndTime: end.toISOString() } : {}),
});

/** `ownership` of a job: `owners` as URNs such as `team:kg-ingest`. */
export const ownership = (owners: ReadonlyArray<{ name: string; type?: string }>): Facet => ({
  ...facet(Urls.FacetSchemaUrl.OwnershipJobFacet),
  owners,
});

/** `tags` of a job. */
export const jobTags = (
  tags: ReadonlyArray<{ key: string; value: string; source?: string }>,
): Facet => ({ ...facet(Urls.FacetSchemaUrl.TagsJobFacet), tags });

/** `jobDependencies` of a run: the runs it waited for (e.g. a stage's upstream stages). */
export const jobDependencies = (
  upstream: ReadonlyArray<{ namespace: string; job: string; runId?: string }>,
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.JobDependenciesRunFacet),
  upstream: upstream.map((u) => ({
    job: { namespace: u.namespace, name: u.job },
    ...(u.runId ? { run: { runId: u.runId } } : {}),
    dependency_type: "DIRECT_INVOCATION",
    sequence_trigger_rule: "FINISH_TO_START",
  })),
});

/** `inputStatistics` of a dataset read. */
export const inputStatistics = (rowCount: number, size?: number): Facet => ({
  ...facet(Urls.FacetSchemaUrl.InputStatisticsInputDatasetFacet),
  rowCount,
  ...(size !== undefined ? { size } : {}),
});

/** `lifecycleStateChange` of a dataset written (e.g. `OVERWRITE` on a forced re-run). */
export const lifecycleStateChange = (
  change: "ALTER" | "CREATE" | "DROP" | "OVERWRITE" | "RENAME" | "TRUNCATE",
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.LifecycleStateChangeDatasetFacet),
  lifecycleStateChange: change,
});

/** `documentation` of a dataset. */
export const datasetDocumentation = (description: string): Facet => ({
  ...facet(Urls.FacetSchemaUrl.DocumentationDatasetFacet),
  description,
});

/** `columnLineage`: which input fields each output field is derived from. */
export const columnLineage = (
  fields: Readonly<
    Record<string, ReadonlyArray<{ namespace: string; name: string; field: string }>>
  >,
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.ColumnLineageDatasetFacet),
  fields: Object.fromEntries(
    Object.entries(fields).map(([out, inputs]) => [out, { inputFields: inputs }]),
  ),
});
