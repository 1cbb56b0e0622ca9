/**
 * The kit assembled: `runPipeline` (a whole run in one call), `loadPipelines` (pipelines checked
 * against the kit's stages and sources plus yours), the layer that wires a store into a run, and
 * the lineage sinks a run delivers to.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { loadPipelines } from "./mod.ts";
 *
 * const config = await Effect.runPromise(loadPipelines());
 * console.log(config.pipelines.map((p) => p.name)); // ["auto", "pdf-two-phase"]
 * ```
 *
 * @module
 */
export * from "./run_pipeline.ts";
export * from "./load_pipelines.ts";
export * from "./kit_layer.ts";
export * from "./setup_error.ts";
export * from "./lineage_sinks.ts";
export * from "./events_sink.ts";
export * from "./finish_paused.ts";
// Types that `runPipeline`'s options and plan name.
export type { Kit, LoadKitOptions } from "./load_kit.ts";
export type { ProjectConfig } from "./project_config.ts";
export type { StageShortcuts } from "./stage_overrides.ts";
