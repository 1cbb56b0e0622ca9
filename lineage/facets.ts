/**
 * Constructors for the OpenLineage facets the kit emits, each stamped with the `_producer` and the
 * exact `_schemaURL` of its published version.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as Urls from "./facet_urls.ts";
import type { DatasetSymlink } from "./datasets.ts";
import type { GitSource } from "./git_source.ts";

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

/**
 * A pipeline file's absolute path: a relative one is the kit's own (`pipelines/auto.yaml`), so it
 * means the same file whatever the working directory.
 */
export const pipelineFilePath = (path: string): string =>
  isAbsolute(path) ? path : resolve(kitRoot, path);

/**
 * `sourceCodeLocation`: where the pipeline is declared. With git coordinates the facet is of type
 * `git` and names the repository, the file's path in it and the revision; else of type `file`.
 */
export const sourceCodeLocation = (path: string, git?: GitSource): Facet => {
  const absolute = pipelineFilePath(path);
  const inRepo = git !== undefined && (git.repoUrl !== undefined || git.version !== undefined);
  return {
    ...facet(Urls.FacetSchemaUrl.SourceCodeLocationJobFacet),
    type: inRepo ? "git" : "file",
    url: pathToFileURL(absolute).href,
    ...(inRepo && git.repoUrl ? { repoUrl: git.repoUrl } : {}),
    path: inRepo && git.path ? git.path : path,
    ...(inRepo && git.version ? { version: git.version } : {}),
    ...(inRepo && git.tag ? { tag: git.tag } : {}),
    ...(inRepo && git.branch ? { branch: git.branch } : {}),
  };
};

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

/** `datasetType` of a dataset, e.g. `TABLE` with sub-type `CHECKPOINT`. */
export const datasetType = (type: string, subType = ""): Facet => ({
  ...facet(Urls.FacetSchemaUrl.DatasetTypeDatasetFacet),
  datasetType: type,
  subType,
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

/** One input field an output field is derived from (`columnLineage`). */
export interface ColumnLineageInput {
  /** The input dataset's namespace. */
  readonly namespace: string;
  /** The input dataset's name. */
  readonly name: string;
  /** The input field. */
  readonly field: string;
  /** How the value was derived, e.g. `{type: "DIRECT", subtype: "IDENTITY"}`. */
  readonly transformations?: ReadonlyArray<
    { readonly type: string; readonly subtype?: string; readonly description?: string }
  >;
}

/** `columnLineage`: which input fields each output field is derived from. */
export const columnLineage = (
  fields: Readonly<Record<string, ReadonlyArray<ColumnLineageInput>>>,
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.ColumnLineageDatasetFacet),
  fields: Object.fromEntries(
    Object.entries(fields).map(([out, inputs]) => [out, { inputFields: inputs }]),
  ),
});

/** `environmentVariables` of a run: the variables the configuration asks to record. */
export const environmentVariables = (
  variables: ReadonlyArray<{ readonly name: string; readonly value: string }>,
): Facet => ({
  ...facet(Urls.FacetSchemaUrl.EnvironmentVariablesRunFacet),
  environmentVariables: variables.map((v) => ({ name: v.name, value: v.value })),
});

/** `tags` of a run. */
export const runTags = (
  tags: ReadonlyArray<{ key: string; value: string; source?: string }>,
): Facet => ({ ...facet(Urls.FacetSchemaUrl.TagsRunFacet), tags });

/** `symlinks` of a dataset: its other identities (the API a record file was saved from). */
export const symlinks = (identifiers: ReadonlyArray<DatasetSymlink>): Facet => ({
  ...facet(Urls.FacetSchemaUrl.SymlinksDatasetFacet),
  identifiers: identifiers.map((i) => ({ namespace: i.namespace, name: i.name, type: i.type })),
});
