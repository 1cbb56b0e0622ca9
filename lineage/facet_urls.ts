/**
 * The `_schemaURL`s lineage-kit writes into facets, the `schemaURL`s of the core events, and the
 * kit's `_producer`. Standard facets are pinned to their current published version (the highest
 * under `https://openlineage.io/spec/facets/`); the core events to spec 2-0-2. The kit's own facets
 * have schemas in `lineage/schemas/`.
 *
 * @example
 * ```ts
 * import { FacetSchemaUrl, PRODUCER } from "./facet_urls.ts";
 *
 * const nominalTime = {
 *   _producer: PRODUCER,
 *   _schemaURL: FacetSchemaUrl.NominalTimeRunFacet,
 *   nominalStartTime: "2026-01-01T00:00:00Z",
 * };
 * console.assert(nominalTime._schemaURL.endsWith("#/$defs/NominalTimeRunFacet"));
 * ```
 *
 * @module
 */
import { KIT_VERSION } from "./kit_version.ts";

/**
 * The `_producer` (and event `producer`) of everything lineage-kit emits: the package's page on
 * JSR at this version, so a consumer can tell which release wrote an event.
 *
 * @category models
 */
export const PRODUCER: string = `https://jsr.io/@medkg/lineage-kit/${KIT_VERSION}`;

/**
 * The core OpenLineage schema the kit's events follow.
 *
 * @category schemas
 */
export const OPENLINEAGE_CORE_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json";

/**
 * `schemaURL` of a run event (Marquez requires it to end in `/RunEvent`).
 *
 * @category schemas
 */
export const RUN_EVENT_SCHEMA_URL: string = `${OPENLINEAGE_CORE_SCHEMA}#/$defs/RunEvent`;

/**
 * `schemaURL` of a job (static metadata) event.
 *
 * @category schemas
 */
export const JOB_EVENT_SCHEMA_URL: string = `${OPENLINEAGE_CORE_SCHEMA}#/$defs/JobEvent`;

/**
 * `schemaURL` of a dataset (static metadata) event.
 *
 * @category schemas
 */
export const DATASET_EVENT_SCHEMA_URL: string = `${OPENLINEAGE_CORE_SCHEMA}#/$defs/DatasetEvent`;

/**
 * Run facet key of the kit's attempt facet (attempt number, policy, previous attempt's run id).
 *
 * @category models
 */
export const LINEAGE_KIT_ATTEMPT_FACET_KEY = "lineageKit_attempt";

/**
 * Run facet key of the kit's GPU facet (whether and which GPU service served the run).
 *
 * @category models
 */
export const LINEAGE_KIT_GPU_FACET_KEY = "lineageKit_gpu";

/**
 * Base of the `$id`s of the kit's own facet schemas: the `lineage/schemas/` folder of the package
 * as JSR serves it at this version, so every `_schemaURL` the kit writes resolves to the file.
 *
 * @category schemas
 */
export const LINEAGE_KIT_SCHEMA_BASE: string =
  `https://jsr.io/@medkg/lineage-kit/${KIT_VERSION}/lineage/schemas`;

/**
 * Names of the facet schemas the kit writes, standard (by their `$defs` name) and its own.
 *
 * @category schemas
 */
export type FacetSchemaName =
  | "ParentRunFacet"
  | "ErrorMessageRunFacet"
  | "ProcessingEngineRunFacet"
  | "NominalTimeRunFacet"
  | "JobTypeJobFacet"
  | "DocumentationJobFacet"
  | "DocumentationDatasetFacet"
  | "SourceCodeLocationJobFacet"
  | "OwnershipJobFacet"
  | "TagsJobFacet"
  | "TagsRunFacet"
  | "TagsDatasetFacet"
  | "JobDependenciesRunFacet"
  | "SchemaDatasetFacet"
  | "DatasourceDatasetFacet"
  | "DatasetTypeDatasetFacet"
  | "OutputStatisticsOutputDatasetFacet"
  | "InputStatisticsInputDatasetFacet"
  | "LifecycleStateChangeDatasetFacet"
  | "ColumnLineageDatasetFacet"
  | "SymlinksDatasetFacet"
  | "StorageDatasetFacet"
  | "EnvironmentVariablesRunFacet"
  | "LineageKitAttemptRunFacet"
  | "LineageKitGpuRunFacet";

const standard = (version: string, name: string): string =>
  `https://openlineage.io/spec/facets/${version}/${name}.json#/$defs/${name}`;

const own = (name: string): string => `${LINEAGE_KIT_SCHEMA_BASE}/${name}.json#/$defs/${name}`;

/**
 * The `_schemaURL` of each facet the kit writes, keyed by the facet's schema name.
 *
 * @category schemas
 */
export const FacetSchemaUrl: Readonly<Record<FacetSchemaName, string>> = {
  ParentRunFacet: standard("1-2-0", "ParentRunFacet"),
  ErrorMessageRunFacet: standard("1-0-1", "ErrorMessageRunFacet"),
  ProcessingEngineRunFacet: standard("1-1-1", "ProcessingEngineRunFacet"),
  NominalTimeRunFacet: standard("1-0-1", "NominalTimeRunFacet"),
  JobTypeJobFacet: standard("2-0-4", "JobTypeJobFacet"),
  DocumentationJobFacet: standard("1-1-0", "DocumentationJobFacet"),
  DocumentationDatasetFacet: standard("1-1-0", "DocumentationDatasetFacet"),
  SourceCodeLocationJobFacet: standard("1-1-0", "SourceCodeLocationJobFacet"),
  OwnershipJobFacet: standard("1-0-1", "OwnershipJobFacet"),
  TagsJobFacet: standard("1-0-0", "TagsJobFacet"),
  TagsRunFacet: standard("1-0-0", "TagsRunFacet"),
  TagsDatasetFacet: standard("1-0-0", "TagsDatasetFacet"),
  JobDependenciesRunFacet: standard("1-0-1", "JobDependenciesRunFacet"),
  SchemaDatasetFacet: standard("1-2-0", "SchemaDatasetFacet"),
  DatasourceDatasetFacet: standard("1-0-1", "DatasourceDatasetFacet"),
  DatasetTypeDatasetFacet: standard("1-0-1", "DatasetTypeDatasetFacet"),
  OutputStatisticsOutputDatasetFacet: standard("1-0-2", "OutputStatisticsOutputDatasetFacet"),
  InputStatisticsInputDatasetFacet: standard("1-0-0", "InputStatisticsInputDatasetFacet"),
  LifecycleStateChangeDatasetFacet: standard("1-0-1", "LifecycleStateChangeDatasetFacet"),
  ColumnLineageDatasetFacet: standard("1-2-0", "ColumnLineageDatasetFacet"),
  SymlinksDatasetFacet: standard("1-0-1", "SymlinksDatasetFacet"),
  StorageDatasetFacet: standard("1-0-1", "StorageDatasetFacet"),
  EnvironmentVariablesRunFacet: standard("1-0-0", "EnvironmentVariablesRunFacet"),
  LineageKitAttemptRunFacet: own("LineageKitAttemptRunFacet"),
  LineageKitGpuRunFacet: own("LineageKitGpuRunFacet"),
};
