/**
 * What the runner needs besides the ledger: the stage implementations and the lineage settings.
 *
 * @module
 */
import { Context } from "effect";
import type { AnyStageDefinition, StageType } from "../stages/contracts.ts";
import type { StoreLocation } from "../lineage/datasets.ts";
import type { ParentRun } from "../lineage/parent_run.ts";

/** Stage implementations by stage type. */
export type StageRegistry = ReadonlyMap<StageType, AnyStageDefinition>;

/** The runner's environment. */
export interface PipelineRuntimeShape {
  /** The implementation of each stage type the pipelines use. */
  readonly stages: StageRegistry;
  /** OpenLineage namespace of the kit's jobs. */
  readonly namespace: string;
  /** Where the store's tables live, for lineage datasets. */
  readonly store: StoreLocation;
  /** The outside run that started these pipeline runs, recorded as their parent. */
  readonly parentRun?: ParentRun;
}

/** The runner's environment as a service. */
const PipelineRuntimeBase: Context.ServiceClass<
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
