/**
 * Pipelines: the YAML topology (`pipelines/*.yaml`), its validation with file:line:column
 * problems, the pure DAG functions, and the loader that compiles a validated configuration.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { loadConfig } from "./mod.ts";
 * import { builtinStageRegistry } from "../adapters/builtin_stages.ts";
 *
 * const config = await Effect.runPromise(loadConfig({ registry: builtinStageRegistry }));
 * console.log(config.routeSource("openalex")?.order);
 * ```
 *
 * @module
 */
export * from "./dag.ts";
export * from "./loader.ts";
export * from "./topology.ts";
export * from "./ledger.ts";
export * from "./runtime.ts";
export * from "./runner.ts";
export { runScope } from "./run_claim.ts";
export * from "./stage_attempts.ts";
export * from "./gate.ts";
export * from "./sensor.ts";
export * from "./pdf_parser.ts";
export * from "./mineru_bridge.ts";
export * from "./mineru_queue_bridge.ts";
export { awaitsParsing, MINERU_POLICY, mineruFailureReason } from "./mineru_parsing.ts";
export * from "./stage_settings.ts";
export * from "./cancel.ts";
export * from "./metrics.ts";
export * as MetricInstruments from "./metric_instruments.ts";
export * from "./run_metrics.ts";
export * from "./metric_collectors.ts";
