/**
 * Loads and validates the configuration: every pipeline file and the resilience policies. All
 * problems are reported at once, each at the file, line and column of the offending node; a
 * pipeline is compiled (topological order, lookups) only when its configuration has none.
 * This is the only module of the configuration that reads files.
 *
 * @module
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Effect, Result } from "effect";
import { parsePolicies, type Policy } from "../policies/policy.ts";
import type { AnyStageDefinition } from "../stages/contracts.ts";
import type { StageRegistry } from "../stages/stage_registry.ts";
import { ancestors, descendants, topologicalOrder } from "./dag.ts";
import { ConfigError, type PathMessage, type Problem, sortProblems } from "../policies/problem.ts";
import {
  GATE_POLICY,
  pipelineFromSpec,
  pipelineSchemaFor,
  type PipelineSpec,
  type StageSpec,
} from "./topology.ts";
import { effectiveStageConfig, type StageConfigLayers } from "./stage_settings.ts";
import {
  graphProblems,
  isRecord,
  outlineOf,
  quote,
  rawStages,
  stageContext,
} from "./topology_rules.ts";
import {
  parseYaml,
  problemAt,
  problemsFromIssues,
  type YamlSource,
} from "../policies/yaml_document.ts";

/** A pipeline ready to run: its spec plus the order and lookups the runner needs. */
export interface CompiledPipeline extends PipelineSpec {
  /** Every stage, dependencies first; ties keep declaration order. */
  readonly order: ReadonlyArray<string>;
  /** The stage of that name; throws on a name that is not a stage (a programming error). */
  readonly stage: (name: string) => StageSpec;
  /** The policy the stage runs under; throws on a name that is not a stage. */
  readonly policyOf: (stageName: string) => Policy;
  /** The definition that implements the stage; throws on a name that is not a stage. */
  readonly definitionOf: (stageName: string) => AnyStageDefinition;
  /** The stage's decoded `config:` (what its definition's schema made of it, `impl` removed). */
  readonly configOf: (stageName: string) => unknown;
  /** Every stage the named one depends on, directly or not. */
  readonly ancestorsOf: (name: string) => ReadonlySet<string>;
  /** The stages that list the named one in `depends_on`, in declaration order. */
  readonly dependentsOf: (name: string) => ReadonlyArray<string>;
  /** Every stage that depends on the named one, directly or not. */
  readonly descendantsOf: (name: string) => ReadonlySet<string>;
}

/** The whole validated configuration. */
export interface Config {
  /** The stage types and implementations the pipelines were checked against. */
  readonly registry: StageRegistry;
  /** Findings that do not stop the configuration from loading (e.g. an unknown source name). */
  readonly warnings: ReadonlyArray<Problem>;
  /** Every pipeline, compiled, in the order its file was given. */
  readonly pipelines: ReadonlyArray<CompiledPipeline>;
  /** The resilience policies by name; where two policy files define a name, the first wins. */
  readonly policies: ReadonlyMap<string, Policy>;
  /** The pipeline of that name. */
  readonly pipeline: (name: string) => CompiledPipeline | undefined;
  /** The pipeline whose `applicable_sources` lists the source. */
  readonly routeSource: (source: string) => CompiledPipeline | undefined;
}

/** A configuration file's name (as problems show it) and text. */
export interface SourceText {
  /** The file's name as problems show it, e.g. `pipelines/auto.yaml`. */
  readonly file: string;
  /** The file's YAML text. */
  readonly text: string;
  /** Where the file was read from, absolute; its pipeline's lineage names it. */
  readonly path?: string;
}

/** What parsing one pipeline file found. */
export interface ParsedPipeline {
  /** The compiled pipeline; present only when there are no problems. */
  readonly pipeline?: CompiledPipeline;
  /** Every problem found, in line and column order; empty when the file is valid. */
  readonly problems: ReadonlyArray<Problem>;
  /** Findings that do not stop the file from loading. */
  readonly warnings: ReadonlyArray<Problem>;
}

/**
 * The policy of a gate written without one: it makes one attempt and waits as long as its own
 * `timeout_seconds` says.
 */
const gatePolicy = (stage: StageSpec): Policy => ({
  name: GATE_POLICY,
  maxAttempts: 1,
  backoffStrategy: "none",
  backoffInitialSeconds: 0,
  backoffMaxSeconds: 0,
  backoffJitterSeconds: 0,
  timeoutSeconds: Math.min(600, stage.gate?.timeoutSeconds ?? 600),
});

const compile = (
  spec: PipelineSpec,
  policies: ReadonlyMap<string, Policy>,
  registry: StageRegistry,
  configs: ReadonlyMap<string, unknown>,
): CompiledPipeline | undefined => {
  const byName = new Map(spec.stages.map((s) => [s.name, s]));
  const edges = spec.stages.flatMap((s) => s.dependsOn.map((from) => ({ from, to: s.name })));
  const sorted = topologicalOrder(spec.stages.map((s) => s.name), edges);
  if (sorted._tag === "Cycle") return undefined;
  const stage = (name: string): StageSpec => {
    const found = byName.get(name);
    if (found === undefined) {
      throw new Error(`pipeline ${quote(spec.name)} has no stage ${quote(name)}`);
    }
    return found;
  };
  const up = new Map(spec.stages.map((s) => [s.name, ancestors(s.name, edges)]));
  const down = new Map(spec.stages.map((s) => [s.name, descendants(s.name, edges)]));
  return {
    ...spec,
    order: sorted.order,
    stage,
    policyOf: (name) => {
      const s = stage(name);
      return policies.get(s.policy) ?? gatePolicy(s);
    },
    definitionOf: (name) => {
      const s = stage(name);
      return registry.resolve(s.type, s.impl)!;
    },
    configOf: (name) => configs.get(stage(name).name),
    ancestorsOf: (name) => up.get(stage(name).name)!,
    dependentsOf: (name) =>
      spec.stages.filter((s) => s.dependsOn.includes(stage(name).name)).map((s) => s.name),
    descendantsOf: (name) => down.get(stage(name).name)!,
  };
};

interface Analysis extends ParsedPipeline {
  readonly source?: YamlSource;
}

/** The checks of a pipeline file beyond its own text: what the run knows. */
export interface KnownNames {
  /** The stage types and implementations pipelines may use. */
  readonly registry: StageRegistry;
  /** Source names the run knows; `applicable_sources` naming another is a warning. */
  readonly sources?: ReadonlyArray<string>;
  /** Implementations and configuration from the project file, the environment and flags. */
  readonly layers?: StageConfigLayers;
}

// Each stage's `config:` decoded by its definition's schema, issues placed under the stage's
// `config` key; a stage whose type or implementation is unknown is reported elsewhere.
const decodeConfigs = (
  source: YamlSource,
  stages: ReadonlyArray<StageSpec>,
  registry: StageRegistry,
  layers: StageConfigLayers,
  outlines: ReturnType<typeof stageContext>,
) => {
  const configs = new Map<string, unknown>();
  const problems: Array<Problem> = [];
  stages.forEach((stage, index) => {
    const definition = registry.resolve(stage.type, stage.impl);
    if (definition === undefined) return;
    const { config, origins } = effectiveStageConfig(
      stage.type,
      stage.config,
      layers,
      definition.implementation,
    );
    const decoded = definition.config.safeParse(config, { reportInput: true });
    if (decoded.success) {
      configs.set(stage.name, decoded.data);
      return;
    }
    // Keys the pipeline does not write come from the project file, the environment or flags:
    // the message names them, since the position can only be the stage's.
    const from = origins.length === 0 ? [] : [
      `${definition.type}/${definition.implementation} configured also by ${origins.join(", ")}`,
    ];
    // A key no layer set: what could set it without editing the file (`--vllm-model`).
    const settersOf = (issue: typeof decoded.error.issues[number]) => {
      const missing = issue.code === "invalid_type" && issue.input === undefined &&
        issue.path.length === 1;
      const setter = missing
        ? layers.setters?.get(stage.type)?.find((s) =>
          s.impl === definition.implementation && s.key === issue.path[0]
        )
        : undefined;
      return setter === undefined ? [] : [`${setter.by.join(" or ")} sets it`];
    };
    for (const issue of decoded.error.issues) {
      const notes = [...from, ...settersOf(issue)];
      const suffix = notes.length === 0 ? "" : ` (${notes.join("; ")})`;
      const at = { ...issue, path: ["stages", index, "config", ...issue.path] } as typeof issue;
      problems.push(
        ...problemsFromIssues(source, [at], outlines).map((p) => ({
          ...p,
          message: `${p.message}${suffix}`,
        })),
      );
    }
  });
  return { configs, problems };
};

const unknownSources = (source: YamlSource, sources: ReadonlyArray<string> | undefined) =>
  sources === undefined
    ? []
    : sourcesOf(source.value).flatMap((s, k) =>
      typeof s === "string" && !sources.includes(s)
        ? [
          problemAt(
            source,
            ["applicable_sources", k],
            `applicable_sources: unknown source ${quote(s)} (known: ${
              sources.join(", ")
            }); no document is routed to it`,
          ),
        ]
        : []
    );

const analysePipeline = (
  file: string,
  text: string,
  policies: ReadonlyMap<string, Policy> | undefined,
  known: KnownNames,
  path?: string,
): Analysis => {
  const { source, problems } = parseYaml(file, text);
  if (source === undefined) return { problems, warnings: [] };
  const { registry } = known;
  const layers = known.layers ?? {};
  const stages = rawStages(source.value).map(outlineOf(registry, layers));
  const context = stageContext(stages);
  const decoded = pipelineSchemaFor((t) => registry.canonicalType(t) !== undefined)
    .safeParse(source.value, { reportInput: true });
  // Types written with the seed's `Stage` suffix are read as the registered type.
  const specs = decoded.success
    ? decoded.data.stages.map((s, i): StageSpec => {
      const { impl: _impl, ...rest } = s;
      const impl = stages[i]?.impl;
      return {
        ...rest,
        type: registry.canonicalType(s.type) ?? s.type,
        ...(impl === undefined ? {} : { impl }),
      };
    })
    : [];
  const configs = decodeConfigs(source, specs, registry, layers, context);
  const found = sortProblems([
    ...(decoded.success ? [] : problemsFromIssues(source, decoded.error.issues, context)),
    ...configs.problems,
    ...[...repeatedSources(source.value), ...graphProblems(registry, stages, policies)]
      .map((p) => problemAt(source, p.path, p.message)),
  ]);
  const warnings = unknownSources(source, known.sources);
  const pipeline = found.length === 0 && decoded.success && policies !== undefined
    ? compile(
      pipelineFromSpec(file, { ...decoded.data, stages: specs }, path),
      policies,
      registry,
      configs.configs,
    )
    : undefined;
  return { source, problems: found, warnings, ...(pipeline === undefined ? {} : { pipeline }) };
};

/**
 * Parses, validates and compiles one pipeline file against the known policies.
 *
 * @example
 * ```ts
 * import { builtinStageRegistry } from "../adapters/builtin_stages.ts";
 * import { parsePipeline } from "./loader.ts";
 *
 * const { pipeline, problems } = parsePipeline("pipelines/x.yaml", "name: x\n", new Map(), {
 *   registry: builtinStageRegistry,
 * });
 * console.log(pipeline === undefined, problems.length > 0); // true true: the missing keys
 * ```
 */
export const parsePipeline = (
  file: string,
  text: string,
  policies: ReadonlyMap<string, Policy>,
  known: KnownNames,
): ParsedPipeline => {
  const { pipeline, problems, warnings } = analysePipeline(file, text, policies, known);
  return pipeline === undefined ? { problems, warnings } : { pipeline, problems, warnings };
};

const sourcesOf = (value: unknown): ReadonlyArray<unknown> =>
  isRecord(value) && Array.isArray(value.applicable_sources) ? value.applicable_sources : [];

const repeatedSources = (value: unknown): ReadonlyArray<PathMessage> =>
  sourcesOf(value).flatMap((s, k, all) =>
    typeof s === "string" && all.indexOf(s) < k
      ? [{ path: ["applicable_sources", k], message: `applicable_sources lists ${quote(s)} twice` }]
      : []
  );

// A source listed by two pipelines would route ambiguously; two pipelines of one name could not
// be told apart. Both are reported where they are written second.
const crossFileProblems = (analyses: ReadonlyArray<Analysis>): ReadonlyArray<Problem> => {
  const names = new Map<string, string>();
  const routes = new Map<string, { readonly pipeline: string; readonly at: Problem }>();
  const problems: Array<Problem> = [];
  for (const { source } of analyses) {
    if (source === undefined || !isRecord(source.value)) continue;
    const name = typeof source.value.name === "string" ? source.value.name : undefined;
    const other = name === undefined ? undefined : names.get(name);
    if (other !== undefined) {
      problems.push(
        problemAt(source, ["name"], `pipeline name ${quote(name!)} is already used by ${other}`),
      );
    } else if (name !== undefined) names.set(name, source.file);
    sourcesOf(source.value).forEach((s, k) => {
      if (typeof s !== "string") return;
      const here = problemAt(source, ["applicable_sources", k], "");
      const route = routes.get(s);
      if (route === undefined) routes.set(s, { pipeline: name ?? source.file, at: here });
      else if (route.at.file !== source.file) {
        const where = `${route.at.file}:${route.at.line}:${route.at.column}`;
        const message = `source ${quote(s)} is already routed to pipeline ${
          quote(route.pipeline)
        } (${where})`;
        problems.push({ ...here, message });
      }
    });
  }
  return problems;
};

const makeConfig = (
  pipelines: ReadonlyArray<CompiledPipeline>,
  policies: ReadonlyMap<string, Policy>,
  registry: StageRegistry,
  warnings: ReadonlyArray<Problem>,
): Config => ({
  registry,
  warnings,
  pipelines,
  policies,
  pipeline: (name) => pipelines.find((p) => p.name === name),
  routeSource: (source) =>
    pipelines.find((p) => (p.applicableSources as ReadonlyArray<string>).includes(source)),
});

const mergePolicies = (files: ReadonlyArray<SourceText>) => {
  const parsed = files.map((f) => parsePolicies(f.file, f.text));
  const merged = new Map<string, Policy>();
  // The first file that defines a name wins, as in a search path.
  for (const { policies } of parsed) {
    for (const [name, policy] of policies) if (!merged.has(name)) merged.set(name, policy);
  }
  return { policies: merged, problems: parsed.flatMap((p) => p.problems) };
};

/** Options of {@link buildConfig}. */
export interface BuildOptions extends KnownNames {
  /** Problems found before parsing (unreadable files), reported with the rest. */
  readonly unread?: ReadonlyArray<Problem>;
  /** Check stage policy names; off when a policy file could not be read. @default true */
  readonly checkPolicyNames?: boolean;
}

/**
 * Validates policy files and pipeline files together and builds the configuration when nothing
 * is wrong. Pipelines are checked against the policies of all the policy files (the first file
 * defining a name wins); when a policy file itself has problems, policy names are not checked.
 */
export const buildConfig = (
  policyFiles: ReadonlyArray<SourceText>,
  pipelineFiles: ReadonlyArray<SourceText>,
  options: BuildOptions,
): {
  readonly config?: Config;
  readonly problems: ReadonlyArray<Problem>;
  readonly warnings: ReadonlyArray<Problem>;
} => {
  const policies = mergePolicies(policyFiles);
  const check = policies.problems.length === 0 && options.checkPolicyNames !== false;
  const known = knownOf(options);
  const analyses = pipelineFiles.map((f) =>
    analysePipeline(f.file, f.text, check ? policies.policies : undefined, known, f.path)
  );
  const warnings = sortProblems(
    analyses.flatMap((a) => a.warnings),
    pipelineFiles.map((f) => f.file),
  );
  const problems = sortProblems(
    [
      ...(options.unread ?? []),
      ...policies.problems,
      ...analyses.flatMap((a) => a.problems),
      ...crossFileProblems(analyses),
    ],
    [...policyFiles, ...pipelineFiles].map((f) => f.file),
  );
  const pipelines = analyses.flatMap((a) => a.pipeline === undefined ? [] : [a.pipeline]);
  return problems.length > 0 || pipelines.length < analyses.length ? { problems, warnings } : {
    config: makeConfig(pipelines, policies.policies, options.registry, warnings),
    problems,
    warnings,
  };
};

/** Whether a configuration text is a policy file: its top level has `policies:`. */
export const isPolicyDocument = (text: string): boolean => /^policies\s*:/m.test(text);

// The kit's own folder, so the shipped configuration is found from any working directory.
const kitRoot = (): string => {
  const url = new URL("../", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url) : Deno.cwd();
};

const problemAtStart = (file: string, message: string): Problem => ({
  file,
  line: 1,
  column: 1,
  message,
});

const readSource = (baseDir: string, file: string): Effect.Effect<SourceText, Problem> => {
  const path = resolve(baseDir, file);
  return Effect.tryPromise({
    try: () => Deno.readTextFile(path),
    catch: (error) =>
      problemAtStart(
        file,
        error instanceof Deno.errors.NotFound ? "file not found" : `cannot read file: ${error}`,
      ),
  }).pipe(Effect.map((text) => ({ file, text, path })));
};

interface Read {
  readonly sources: ReadonlyArray<SourceText>;
  readonly unread: ReadonlyArray<Problem>;
}

const readAll = (baseDir: string, files: ReadonlyArray<string>): Effect.Effect<Read> =>
  Effect.forEach(files, (file) => Effect.result(readSource(baseDir, file))).pipe(
    Effect.map((results) => ({
      sources: results.flatMap((r) => Result.isSuccess(r) ? [r.success] : []),
      unread: results.flatMap((r) => Result.isFailure(r) ? [r.failure] : []),
    })),
  );

const listPipelineFiles = (baseDir: string): Effect.Effect<ReadonlyArray<string>, ConfigError> =>
  Effect.tryPromise({
    try: () => Array.fromAsync(Deno.readDir(join(baseDir, "pipelines"))),
    catch: (error) =>
      new ConfigError({
        problems: [problemAtStart("pipelines/", `cannot list pipeline files: ${error}`)],
      }),
  }).pipe(Effect.map((entries) =>
    entries.filter((e) => e.isFile && e.name.endsWith(".yaml"))
      .map((e) => `pipelines/${e.name}`)
      .sort()
  ));

const validate = (
  policies: Read,
  pipelines: Read,
  known: KnownNames,
): Effect.Effect<Config, ConfigError> => {
  const { config, problems } = buildConfig(policies.sources, pipelines.sources, {
    ...known,
    unread: [...policies.unread, ...pipelines.unread],
    checkPolicyNames: policies.unread.length === 0,
  });
  return config === undefined ? Effect.fail(new ConfigError({ problems })) : Effect.succeed(config);
};

/** Where {@link loadConfig} looks, and what it checks pipelines against. */
export interface LoadConfigOptions extends KnownNames {
  /**
   * The pipeline files to load; relative paths are resolved against `baseDir`.
   * @default every `pipelines/*.yaml` under `baseDir`
   */
  readonly pipelineFiles?: ReadonlyArray<string>;
  /**
   * The policy file; a relative path is resolved against `baseDir`.
   * @default `policies/resilience.yaml` under `baseDir`
   */
  readonly policyFile?: string;
  /** The folder relative paths are resolved against. @default the kit's own folder */
  readonly baseDir?: string;
}

/**
 * Reads and validates the configuration; fails with every problem found, in file order. A file
 * that cannot be read is a problem at 1:1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { builtinStageRegistry } from "../adapters/builtin_stages.ts";
 * import { loadConfig } from "./loader.ts";
 *
 * const config = await Effect.runPromise(loadConfig({ registry: builtinStageRegistry }));
 * console.log(config.routeSource("openalex")?.name); // "auto"
 * ```
 */
export const loadConfig = (options: LoadConfigOptions): Effect.Effect<Config, ConfigError> => {
  const baseDir = options.baseDir ?? kitRoot();
  return Effect.gen(function* () {
    const files = options.pipelineFiles ?? (yield* listPipelineFiles(baseDir));
    const policies = yield* readAll(baseDir, [options.policyFile ?? "policies/resilience.yaml"]);
    return yield* validate(policies, yield* readAll(baseDir, files), knownOf(options));
  });
};

const knownOf = (options: KnownNames): KnownNames => ({
  registry: options.registry,
  ...(options.sources === undefined ? {} : { sources: options.sources }),
  ...(options.layers === undefined ? {} : { layers: options.layers }),
});

// The shipped policy file, named relative to `baseDir` when it lies below it.
const shippedPolicyFile = (baseDir: string): string => {
  const path = join(kitRoot(), "policies", "resilience.yaml");
  const rel = relative(baseDir, path);
  return rel.startsWith("..") || isAbsolute(rel) ? path : rel;
};

/**
 * Validates any mix of pipeline and policy files (told apart by a top-level `policies:`), named
 * relative to `baseDir` (@default the working directory). Without a policy file among them,
 * pipelines are checked against the kit's shipped policies.
 */
export const loadFiles = (
  files: ReadonlyArray<string>,
  options: KnownNames & { readonly baseDir?: string },
): Effect.Effect<Config, ConfigError> => {
  const baseDir = options.baseDir ?? Deno.cwd();
  return Effect.gen(function* () {
    const given = yield* readAll(baseDir, files);
    const policyFiles = given.sources.filter((s) => isPolicyDocument(s.text));
    const pipelines = {
      sources: given.sources.filter((s) => !isPolicyDocument(s.text)),
      unread: given.unread,
    };
    const policies = policyFiles.length > 0
      ? { sources: policyFiles, unread: [] }
      : yield* readAll(baseDir, [shippedPolicyFile(baseDir)]);
    return yield* validate(policies, pipelines, knownOf(options));
  });
};
