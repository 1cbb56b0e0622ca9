/**
 * Pipelines: the YAML topology (`pipelines/*.yaml`), its validation with file:line:column
 * problems, the pure DAG functions, and the loader that compiles a validated configuration.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { loadConfig } from "./mod.ts";
 *
 * const config = await Effect.runPromise(loadConfig());
 * console.log(config.routeSource("openalex")?.order);
 * ```
 *
 * @module
 */
export * from "./dag.ts";
export * from "./loader.ts";
export * from "./problem.ts";
export * from "./topology.ts";
export * from "./yaml_document.ts";
