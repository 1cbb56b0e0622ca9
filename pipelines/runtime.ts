/**
 * What the runner needs besides the ledger and the compiled pipelines: the lineage settings and
 * the services the pipelines' stages ask for.
 *
 * @module
 */
import { Context } from "effect";
import type { StoreLocation } from "../lineage/datasets.ts";
import type { ParentRun } from "../lineage/parent_run.ts";
import type { SourceCatalog } from "../stages/source_contract.ts";
import type { StageRegistry } from "../stages/stage_registry.ts";

/** The runner's environment. */
export interface PipelineRuntimeShape {
  /** OpenLineage namespace of the kit's jobs. */
  readonly namespace: string;
  /** Where the store's tables live, for lineage datasets. */
  readonly store: StoreLocation;
  /** The outside run that started these pipeline runs, recorded as their parent. */
  readonly parentRun?: ParentRun;
  /**
   * The stage definitions to run, looked up by each stage's type and implementation, in place of
   * those its pipeline was checked against: to wrap or swap implementations that take the same
   * `config:` (instrumented stages in tests, for instance).
   * @default the definitions the pipelines were compiled with
   */
  readonly stages?: StageRegistry;
  /** The sources the run knows, for the upstream API dataset of each job's first stage. */
  readonly sources?: SourceCatalog;
  /**
   * The services stage definitions ask for in their `R` (the store database the embedded index
   * writes to, client settings, a shared embedder), provided to every attempt.
   * @default none: stages that need no service run as they are
   */
  readonly services?: Context.Context<never>;
}

/** The runner's environment as a service. */
export const PipelineRuntimeBase: Context.ServiceClass<
  PipelineRuntime,
  "@medkg/lineage-kit/PipelineRuntime",
  PipelineRuntimeShape
> = Context.Service<
  PipelineRuntime,
  PipelineRuntimeShape
>()("@medkg/lineage-kit/PipelineRuntime");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** The runner's environment as a service: provide a {@link PipelineRuntimeShape}. */
export class PipelineRuntime extends PipelineRuntimeBase {}
