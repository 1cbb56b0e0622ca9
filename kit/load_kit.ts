/**
 * Everything a command or `runPipeline` runs with, loaded in one place: the project file
 * (`lineage-kit.yaml` or `--config`) and its plugins, the environment's and flags' choices of
 * implementations, and the pipelines checked against all of it. Then, before any job starts, the
 * outside services the chosen implementations call are checked (a GPU server that is down, a model
 * it does not serve, a red search cluster stop the run with one line).
 *
 * @module
 */
import { Effect } from "effect";
import type { AnyStageDefinition } from "../stages/contracts.ts";
import type { SourceCatalog, SourceDefinition } from "../stages/source_contract.ts";
import type { StageRegistry } from "../stages/stage_registry.ts";
import type { CompiledPipeline, Config } from "../pipelines/loader.ts";
import type { StageConfigLayers } from "../pipelines/stage_settings.ts";
import { formatProblem } from "../policies/problem.ts";
import type { InputLimitsOptions } from "../adapters/sources/input_limits.ts";
import { kitRegistry, kitSources, loadPipelineFiles, loadPipelines } from "./load_pipelines.ts";
import { loadProjectConfig, type ProjectConfig } from "./project_config.ts";
import { overrideLayers, overrideSetters, type StageShortcuts } from "./stage_overrides.ts";
import { SetupError } from "./setup_error.ts";

/** What {@link loadKit} loads. */
export interface LoadKitOptions {
  /** Stage definitions besides the kit's and the plugins'. */
  readonly stages?: ReadonlyArray<AnyStageDefinition>;
  /** Source definitions besides the kit's and the plugins'. */
  readonly sources?: ReadonlyArray<SourceDefinition>;
  /** The project file (`--config`). @default `./lineage-kit.yaml` when present */
  readonly config?: string;
  /** The working directory the project file is looked for in. @default `Deno.cwd()` */
  readonly cwd?: string;
  /** The environment (`VLLM_URL`, `VLLM_MODEL`, `OPENSEARCH_URL`). @default `Deno.env` */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line shortcuts choosing implementations. */
  readonly shortcuts?: StageShortcuts;
  /**
   * Pipeline and policy files to load instead of the kit's own (told apart by `policies:`);
   * without a policy file among them, the kit's policies apply.
   */
  readonly files?: ReadonlyArray<string>;
}

/** The loaded kit. */
export interface Kit {
  /** The validated pipelines and policies. */
  readonly config: Config;
  /** The project file as read (empty when there is none). */
  readonly project: ProjectConfig;
  /** The stage types and implementations the run knows. */
  readonly registry: StageRegistry;
  /** The sources the run knows. */
  readonly sources: SourceCatalog;
  /** Where stage implementations and configuration came from besides pipeline files. */
  readonly layers: StageConfigLayers;
  /** The limits records are read under. */
  readonly inputLimits: InputLimitsOptions;
}

/**
 * Loads the project file, its plugins and the pipelines; rejects with a {@link SetupError} of
 * kind `config` listing every problem as `file:line:column: message`.
 *
 * @category constructors
 */
export const loadKit = async (options: LoadKitOptions = {}): Promise<Kit> => {
  const own = options.stages ?? [];
  const read = await loadProjectConfig({
    ...(options.config === undefined ? {} : { path: options.config }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    registry: (plugins) => kitRegistry([...plugins, ...own]),
  });
  if (read.project === undefined) {
    throw new SetupError(read.problems.map(formatProblem).join("\n"), "config", read.problems);
  }
  const project = read.project;
  const stages = [...project.stages, ...own];
  const sourceDefs = [...project.sources, ...(options.sources ?? [])];
  const layers: StageConfigLayers = {
    base: project.stageLayers,
    overrides: overrideLayers(options.env ?? Deno.env.toObject(), options.shortcuts),
    setters: overrideSetters,
  };
  const plugins = { stages, sources: sourceDefs, layers };
  const loaded = await Effect.runPromise(Effect.result(
    options.files === undefined
      ? loadPipelines(plugins)
      : loadPipelineFiles(options.files, plugins),
  ));
  if (loaded._tag === "Failure") {
    const { problems } = loaded.failure;
    throw new SetupError(problems.map(formatProblem).join("\n"), "config", problems);
  }
  return {
    config: loaded.success,
    project,
    registry: kitRegistry(stages),
    sources: kitSources(sourceDefs),
    layers,
    inputLimits: project.inputLimits,
  };
};

/**
 * Runs the readiness check of every stage implementation the pipelines use, once per distinct
 * configuration, before any job starts; rejects with a {@link SetupError} of kind `service` whose
 * message is the first failure's one line (naming the service's URL).
 *
 * @category constructors
 */
export const checkServices = async (pipelines: ReadonlyArray<CompiledPipeline>): Promise<void> => {
  const seen = new Set<string>();
  for (const pipeline of pipelines) {
    for (const stage of pipeline.stages) {
      const definition = pipeline.definitionOf(stage.name);
      if (definition.check === undefined) continue;
      const config = pipeline.configOf(stage.name);
      const key = `${definition.type}/${definition.implementation}/${JSON.stringify(config)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const checked = await Effect.runPromise(Effect.result(definition.check(config)));
      if (checked._tag === "Failure") {
        throw new SetupError(
          `${pipeline.name}.${stage.name} (${definition.type}/${definition.implementation}): ${
            checked.failure.message.split("\n")[0]
          }`,
          "service",
        );
      }
    }
  }
};
