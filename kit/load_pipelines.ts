/**
 * Loading pipelines with the kit's stages and sources: the built-in ones plus any a user
 * defined, so a pipeline YAML may use a stage type the kit has never seen.
 *
 * @module
 */
import type { Effect } from "effect";
import type { AnyStageDefinition } from "../stages/contracts.ts";
import type { StageRegistry } from "../stages/stage_registry.ts";
import {
  makeSourceCatalog,
  type SourceCatalog,
  type SourceDefinition,
} from "../stages/source_contract.ts";
import { type Config, loadConfig, loadFiles } from "../pipelines/loader.ts";
import type { StageConfigLayers } from "../pipelines/stage_settings.ts";
import type { ConfigError } from "../policies/problem.ts";
import { builtinStageRegistry } from "../adapters/builtin_stages.ts";
import { builtinSources } from "../adapters/sources/builtin_sources.ts";

/** Stages and sources a user adds to the kit's own. */
export interface KitPlugins {
  /** Stage definitions (`defineStage`): new types, or implementations of built-in ones. */
  readonly stages?: ReadonlyArray<AnyStageDefinition>;
  /** Source definitions (`defineSource`). */
  readonly sources?: ReadonlyArray<SourceDefinition>;
  /**
   * Implementations and configuration of stage types from a project file, the environment and
   * flags (see `loadKit`).
   */
  readonly layers?: StageConfigLayers;
}

/**
 * The built-in stages plus `stages` (a user's implementation of a built-in type becomes its
 * default).
 *
 * @category constructors
 */
export const kitRegistry = (stages: ReadonlyArray<AnyStageDefinition> = []): StageRegistry =>
  builtinStageRegistry.with(stages);

/**
 * The built-in sources plus `sources`.
 *
 * @category constructors
 */
export const kitSources = (sources: ReadonlyArray<SourceDefinition> = []): SourceCatalog =>
  makeSourceCatalog(builtinSources).with(sources);

/** Options of {@link loadPipelines}. */
export interface LoadPipelinesOptions extends KitPlugins {
  /**
   * Pipeline files; relative paths are resolved against `baseDir`.
   * @default every `pipelines/*.yaml` under `baseDir`
   */
  readonly pipelineFiles?: ReadonlyArray<string>;
  /**
   * The resilience policy file; a relative path is resolved against `baseDir`.
   * @default `policies/resilience.yaml` under `baseDir`
   */
  readonly policyFile?: string;
  /** The folder relative paths are resolved against. @default the kit's own folder */
  readonly baseDir?: string;
}

/**
 * Loads and validates pipelines against the kit's stages and sources plus the given ones; fails
 * with every problem, each at its file, line and column.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { loadPipelines } from "./load_pipelines.ts";
 *
 * const config = await Effect.runPromise(loadPipelines());
 * console.log(config.routeSource("clinicaltrials")?.name); // "auto"
 * ```
 *
 * @category constructors
 */
export const loadPipelines = (
  options: LoadPipelinesOptions = {},
): Effect.Effect<Config, ConfigError> =>
  loadConfig({
    registry: kitRegistry(options.stages),
    sources: kitSources(options.sources).names,
    ...(options.layers === undefined ? {} : { layers: options.layers }),
    ...(options.pipelineFiles === undefined ? {} : { pipelineFiles: options.pipelineFiles }),
    ...(options.policyFile === undefined ? {} : { policyFile: options.policyFile }),
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
  });

/**
 * Validates any mix of pipeline and policy files (told apart by a top-level `policies:`) against
 * the kit's stages and sources plus the given ones; without a policy file among them, pipelines
 * are checked against the kit's shipped policies.
 *
 * @category constructors
 */
export const loadPipelineFiles = (
  files: ReadonlyArray<string>,
  options: KitPlugins & { readonly baseDir?: string } = {},
): Effect.Effect<Config, ConfigError> =>
  loadFiles(files, {
    registry: kitRegistry(options.stages),
    sources: kitSources(options.sources).names,
    ...(options.layers === undefined ? {} : { layers: options.layers }),
    ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
  });
