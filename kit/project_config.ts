/**
 * The project file, `lineage-kit.yaml` (in the working directory, or named by `--config`): which
 * implementation each stage type uses and how it is configured, the input limits records are read
 * under, and plugin modules that add stage types and sources. Every problem is reported at once,
 * each at its file:line:column, before anything runs.
 *
 * ```yaml
 * plugins: [./my_stages.ts]          # modules exporting `stages` and/or `sources`
 * stages:
 *   embed: { impl: vllm, url: http://gpu-1:8000, model: BAAI/bge-m3, max_batch_size: 64 }
 *   index: { impl: opensearch, url: https://search-1:9200, index: lk-chunks }
 * input_limits: { max_bytes: 67108864, max_depth: 64 }
 * outbox: { retention_days: 7 }      # delivered lineage events are pruned after this many days
 * ```
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { daysToMs, defaultOutboxRetentionDays, maxOutboxRetentionDays } from "../lineage/outbox.ts";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import type { AnyStageDefinition } from "../stages/contracts.ts";
import type { SourceDefinition } from "../stages/source_contract.ts";
import type { StageRegistry } from "../stages/stage_registry.ts";
import type { StageConfigLayer } from "../pipelines/stage_settings.ts";
import { type Problem, sortProblems, strictMapping } from "../policies/problem.ts";
import {
  parseYaml,
  problemAt,
  problemsFromIssues,
  type YamlSource,
} from "../policies/yaml_document.ts";
import {
  inputLimitKeys,
  type InputLimits,
  type InputLimitsOptions,
  validateInputLimits,
} from "../adapters/sources/input_limits.ts";

/** The project file's name, looked for in the working directory. */
export const PROJECT_FILE = "lineage-kit.yaml";

/** The project file, read: its layers and limits, and the plugins it named. */
export interface ProjectConfig {
  /** The file read, when there was one. */
  readonly file?: string;
  /** Each configured stage type's implementation and configuration (below pipeline files). */
  readonly stageLayers: ReadonlyMap<string, StageConfigLayer>;
  /** The limits records are read under. */
  readonly inputLimits: InputLimitsOptions;
  /** Stage definitions the plugins export. */
  readonly stages: ReadonlyArray<AnyStageDefinition>;
  /** Source definitions the plugins export. */
  readonly sources: ReadonlyArray<SourceDefinition>;
  /** `outbox.retention_days`: days delivered lineage events are kept. */
  readonly outboxRetentionDays?: number;
}

/**
 * How long the project keeps delivered lineage events in the outbox, in milliseconds:
 * `outbox.retention_days`, else 7 days.
 *
 * @category constructors
 */
export const outboxRetentionMsOf = (project: ProjectConfig): number =>
  daysToMs(project.outboxRetentionDays ?? defaultOutboxRetentionDays);

/** An empty project: no file. */
export const emptyProject: ProjectConfig = {
  stageLayers: new Map(),
  inputLimits: {},
  stages: [],
  sources: [],
};

const topLevel = strictMapping({
  plugins: z.array(z.string().min(1)).optional(),
  stages: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  input_limits: strictMapping(
    Object.fromEntries(
      Object.values(inputLimitKeys).map((key) => [key, z.number().optional()]),
    ) as Record<string, z.ZodOptional<z.ZodNumber>>,
  ).optional(),
  outbox: strictMapping({
    retention_days: z.number().min(0).max(maxOutboxRetentionDays).optional(),
  }).optional(),
});

type TopLevel = z.infer<typeof topLevel>;

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** What a plugin module may export: `stages` and `sources` arrays, or a default with them. */
interface PluginExports {
  readonly stages?: ReadonlyArray<AnyStageDefinition>;
  readonly sources?: ReadonlyArray<SourceDefinition>;
}

const looksLikeStage = (u: unknown): u is AnyStageDefinition =>
  isRecord(u) && typeof u.type === "string" && typeof u.run === "function" &&
  typeof u.implementation === "string";

const looksLikeSource = (u: unknown): u is SourceDefinition =>
  isRecord(u) && typeof u.name === "string" && typeof u.parse === "function";

/** Imports each plugin; a module that fails to load or exports nothing usable is a problem. */
const importPlugins = async (
  source: YamlSource,
  plugins: ReadonlyArray<string>,
  baseDir: string,
): Promise<{ stages: AnyStageDefinition[]; sources: SourceDefinition[]; problems: Problem[] }> => {
  const stages: AnyStageDefinition[] = [];
  const sources: SourceDefinition[] = [];
  const problems: Problem[] = [];
  for (const [k, plugin] of plugins.entries()) {
    const at = (message: string) => problems.push(problemAt(source, ["plugins", k], message));
    const specifier = /^[a-z]+:/.test(plugin)
      ? plugin
      : pathToFileURL(isAbsolute(plugin) ? plugin : resolve(baseDir, plugin)).href;
    let module: Record<string, unknown>;
    try {
      module = await import(specifier);
    } catch (error) {
      at(`plugin ${JSON.stringify(plugin)} could not be loaded: ${(error as Error).message}`);
      continue;
    }
    const exported: PluginExports = isRecord(module.default) ? module.default : module;
    const own = [...(exported.stages ?? [])];
    const srcs = [...(exported.sources ?? [])];
    if (own.length === 0 && srcs.length === 0) {
      at(`plugin ${JSON.stringify(plugin)} exports no \`stages\` or \`sources\` array`);
      continue;
    }
    const badStage = own.findIndex((s) => !looksLikeStage(s));
    const badSource = srcs.findIndex((s) => !looksLikeSource(s));
    if (badStage >= 0) {
      at(
        `plugin ${
          JSON.stringify(plugin)
        }: stages[${badStage}] is not a stage made with defineStage`,
      );
    } else if (badSource >= 0) {
      at(
        `plugin ${
          JSON.stringify(plugin)
        }: sources[${badSource}] is not a source made with defineSource`,
      );
    } else {
      stages.push(...own);
      sources.push(...srcs);
    }
  }
  return { stages, sources, problems };
};

// `word_count`, `word-count`, `WordCount` and `WordCountStage` name one type.
const folded = (name: string): string => name.replace(/[-_]/g, "").toLowerCase();

/** The registered type a project file key names: `embed`, `Embed` and `EmbedStage` alike. */
const typeNamed = (registry: StageRegistry, key: string): string | undefined =>
  registry.canonicalType(key) ??
    registry.types.find((t) => folded(t) === folded(key)) ??
    registry.types.find((t) => `${folded(t)}stage` === folded(key));

// A missing key may come from the environment or a flag, or a pipeline's own config: only the
// keys written here are judged here; what is still missing is reported where the stage is.
const writtenIssues = (issues: ReadonlyArray<z.core.$ZodIssue>) =>
  issues.filter((i) => !(i.code === "invalid_type" && i.input === undefined));

const stageLayers = (
  source: YamlSource,
  stages: TopLevel["stages"],
  registry: StageRegistry,
): { layers: Map<string, StageConfigLayer>; problems: Problem[] } => {
  const layers = new Map<string, StageConfigLayer>();
  const problems: Problem[] = [];
  for (const [key, block] of Object.entries(stages ?? {})) {
    const at = (path: ReadonlyArray<string | number>, message: string) =>
      problems.push(problemAt(source, ["stages", key, ...path], message));
    const type = typeNamed(registry, key);
    if (type === undefined) {
      at([], `unknown stage type ${JSON.stringify(key)} (known: ${registry.types.join(", ")})`);
      continue;
    }
    const { impl, ...config } = block;
    if (impl !== undefined && typeof impl !== "string") {
      at(["impl"], `"impl" must be a string (got ${JSON.stringify(impl)})`);
      continue;
    }
    const definition = registry.resolve(type, impl);
    if (definition === undefined) {
      at(
        ["impl"],
        `unknown implementation ${JSON.stringify(impl)} of type ${type} (known: ${
          registry.implementations(type).map((d) => d.implementation).join(", ")
        })`,
      );
      continue;
    }
    const decoded = definition.config.safeParse(config);
    const issues = decoded.success ? [] : writtenIssues(decoded.error.issues);
    for (const issue of issues) {
      at(
        issue.path.map((p) => typeof p === "number" ? p : String(p)),
        `stage type ${type} (${definition.implementation}): ${
          issue.path.length === 0 ? "" : `"${issue.path.join(".")}" `
        }${issue.message}`,
      );
    }
    if (issues.length > 0) continue;
    const line = problemAt(source, ["stages", key], "");
    layers.set(type, {
      ...(impl === undefined ? {} : { impl }),
      select: impl !== undefined,
      config,
      origin: `${source.file}:${line.line}:${line.column}`,
    });
  }
  return { layers, problems };
};

const limitsOf = (
  source: YamlSource,
  written: Readonly<Record<string, number | undefined>> | undefined,
): { limits: InputLimitsOptions; problems: Problem[] } => {
  const limits: Record<string, number> = {};
  for (const [name, key] of Object.entries(inputLimitKeys) as Array<[keyof InputLimits, string]>) {
    const value = written?.[key];
    if (value !== undefined) limits[name] = value;
  }
  const problems = validateInputLimits(limits).map((message) => {
    const key = message.split(" ", 1)[0];
    return problemAt(source, ["input_limits", key], `input_limits: ${message}`);
  });
  return { limits, problems };
};

/** Where {@link loadProjectConfig} reads from. */
export interface ProjectConfigOptions {
  /** `--config FILE`: this file must exist. @default `lineage-kit.yaml` in `cwd`, if there */
  readonly path?: string;
  /** The working directory. @default `Deno.cwd()` */
  readonly cwd?: string;
  /** The registry before plugins; plugin stages are added to it to check `stages:`. */
  readonly registry: (plugins: ReadonlyArray<AnyStageDefinition>) => StageRegistry;
}

/**
 * Reads the project file: `--config FILE` (which must exist) or `./lineage-kit.yaml` (used when
 * present). Resolves with every problem found, each at its file:line:column, or the project.
 *
 * @category constructors
 */
export const loadProjectConfig = async (
  options: ProjectConfigOptions,
): Promise<{ readonly project?: ProjectConfig; readonly problems: ReadonlyArray<Problem> }> => {
  const cwd = options.cwd ?? Deno.cwd();
  const file = options.path ?? PROJECT_FILE;
  const full = isAbsolute(file) ? file : resolve(cwd, file);
  let text: string;
  try {
    text = await Deno.readTextFile(full);
  } catch (error) {
    if (options.path === undefined && error instanceof Deno.errors.NotFound) {
      return { project: emptyProject, problems: [] };
    }
    const why = error instanceof Deno.errors.NotFound ? "file not found" : `cannot read: ${error}`;
    return { problems: [{ file, line: 1, column: 1, message: why }] };
  }
  const { source, problems } = parseYaml(file, text);
  if (source === undefined) return { problems };
  const value = source.value ?? {};
  const decoded = topLevel.safeParse(value);
  if (!decoded.success) {
    return {
      problems: problemsFromIssues(source, decoded.error.issues, () => ({ prefix: "", base: 0 })),
    };
  }
  const baseDir = resolve(full, "..");
  const plugins = await importPlugins(source, decoded.data.plugins ?? [], baseDir);
  const registry = options.registry(plugins.stages);
  const layers = stageLayers(source, decoded.data.stages, registry);
  const limits = limitsOf(source, decoded.data.input_limits);
  const all = sortProblems([...plugins.problems, ...layers.problems, ...limits.problems]);
  if (all.length > 0) return { problems: all };
  return {
    project: {
      file,
      stageLayers: layers.layers,
      inputLimits: limits.limits,
      stages: plugins.stages,
      sources: plugins.sources,
      ...(decoded.data.outbox?.retention_days === undefined
        ? {}
        : { outboxRetentionDays: decoded.data.outbox.retention_days }),
    },
    problems: [],
  };
};
