/**
 * Lineage configuration, read the way the official OpenLineage clients read it, and the sinks it
 * names.
 *
 * Where the transport comes from, first match wins:
 * 1. the `--lineage` flag: a directory (JSONL files), an `http(s)://` Marquez URL, or
 *    `kafka://host:port/topic`;
 * 2. `OPENLINEAGE_DISABLED=true`: no sinks (events stay in the outbox);
 * 3. the configuration: the file (`OPENLINEAGE_CONFIG`, else `./openlineage.yml`, else
 *    `~/.openlineage/openlineage.yml`) over the `OPENLINEAGE__*` variables, key by key (the file
 *    wins, as in the official Python client; double underscores nest, JSON objects are parsed);
 * 4. the legacy `OPENLINEAGE_URL` (+ `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_API_KEY`): an HTTP
 *    transport when 3 configures none; added to a composite transport as its `default_http`
 *    child; otherwise not used (and said so);
 * 5. the default: JSONL files in the store's lineage directory.
 *
 * The rest of the configuration: `filters` (job names not to emit), `facets` (facets to drop,
 * variables to record, git coordinates), `tags`, `job` and `run` (tags and owners), `dataset`
 * (namespace resolvers), `circuitBreaker` (when the relay holds events back) and `metrics` (kept
 * for the metrics exposition). The namespace comes from `OPENLINEAGE_NAMESPACE` (else
 * `job.namespace`, else `lineage-kit`), the parent run from `OPENLINEAGE_PARENT_ID` or
 * `OPENLINEAGE_CONTEXT`. Every problem is reported at once, at its `file:line:column` or variable;
 * every setting that loses to another is noted; secrets never appear in a message, in
 * {@link describeLineageConfig} or in the settings.
 *
 * @module
 */
import { Effect } from "effect";
import { isAbsolute, relative, resolve } from "node:path";
import { type ConfigProblem, LineageConfigError } from "./config_error.ts";
import type { JobFilter } from "./job_filter.ts";
import type { ParentRun } from "./parent_run.ts";
import type { TransportConfig } from "./transport_config.ts";
import { parseYamlFile, type YamlFile } from "./_config_sources.ts";
import { decodeAt } from "./_config_issues.ts";
import { decodeTransport, topLevel } from "./_config_schema.ts";
import { decodeFilters } from "./_config_filters.ts";
import { type Merged, mergeSources } from "./_config_merge.ts";
import { decodeFacets, decodeTagsAndOwners, type FacetSettings } from "./_config_facets.ts";
import { decodeDataset } from "./_config_dataset.ts";
import { decodeCircuitBreaker, decodeMetrics, type MetricsConfig } from "./_config_breaker.ts";
import type { LineageBreakerConfig } from "./circuit_breaker.ts";
import type { NamespaceResolver } from "./namespace_resolvers.ts";
import { type ConfigSetting, leafSettings } from "./_config_settings.ts";
import {
  DEFAULT_NAMESPACE,
  type EnvSource,
  readDisabled,
  readNamespace,
  readParent,
  transportFromFlag,
} from "./_config_meta.ts";

export type { EnvSource } from "./_config_meta.ts";
export {
  type ConfigProblem,
  LineageConfigError,
  LineageConfigErrorBase,
  type LineageConfigErrorFields,
} from "./config_error.ts";
export type {
  ConsoleTransportConfig,
  FileTransportConfig,
  HttpTransportConfig,
  JsonlTransportConfig,
  KafkaTransportConfig,
  TransportConfig,
} from "./transport_config.ts";
export type { ConfigTag, FacetSettings, SourceCodeSettings } from "./_config_facets.ts";
export type { MetricsConfig } from "./_config_breaker.ts";
export type {
  LineageBreaker,
  LineageBreakerConfig,
  LineageBreakerState,
} from "./circuit_breaker.ts";
export type { NamespaceResolver } from "./namespace_resolvers.ts";
export type { ConfigSetting } from "./_config_settings.ts";
export { describeLineageConfig, sinksFor, type SinksOptions } from "./_config_sinks.ts";
export { printConfig } from "./_config_print.ts";

/**
 * The resolved lineage configuration.
 *
 * @category models
 */
export interface LineageConfig {
  /** The OpenLineage namespace of the jobs (`OPENLINEAGE_NAMESPACE`). @default "lineage-kit" */
  readonly namespace: string;
  /** Where events go; empty when lineage is disabled. */
  readonly transports: ReadonlyArray<TransportConfig>;
  /** Job names whose OpenLineage events are not emitted. */
  readonly filters: ReadonlyArray<JobFilter>;
  /** The run this process's pipeline runs belong to, when another system started it. */
  readonly parent?: ParentRun;
  /** Where the transports came from: `--lineage`, variables, the file, or `default`. */
  readonly origin: string;
  /** The configuration file read, if any. */
  readonly configFile?: string;
  /** Facets to drop, variables to record, git coordinates, tags and owners. */
  readonly facets: FacetSettings;
  /** Dataset namespace resolvers (`dataset.namespaceResolvers`), in the order written. */
  readonly namespaceResolvers: ReadonlyArray<NamespaceResolver>;
  /** When the relay holds events back (`circuitBreaker`); none when absent or `noop`. */
  readonly circuitBreaker?: LineageBreakerConfig;
  /** The `metrics` section, for the metrics exposition to read. */
  readonly metrics?: MetricsConfig;
  /** Every configured value with where it was written (secrets masked). */
  readonly settings: ReadonlyArray<ConfigSetting>;
  /** Settings that lost to others, or variables that were not set, in words. */
  readonly notices: ReadonlyArray<string>;
}

/**
 * Inputs of {@link resolveLineageConfig}.
 *
 * @category models
 */
export interface ResolveOptions {
  /** The environment variables to read, e.g. `Deno.env`. */
  readonly env: EnvSource;
  /** The directory that relative paths (the configuration file, `--lineage`) resolve against. */
  readonly cwd: string;
  /** The home directory, for `~/.openlineage/openlineage.yml`. @default the `HOME` variable */
  readonly home?: string;
  /** The CLI's `--lineage` value. */
  readonly flag?: string;
}

const displayPath = (cwd: string, path: string): string => {
  const rel = relative(cwd, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
};

const exists = (path: string): Effect.Effect<boolean> =>
  Effect.promise(() => Deno.stat(path).then((s) => s.isFile, () => false));

const findConfigFile = (options: ResolveOptions, problems: ConfigProblem[]) =>
  Effect.gen(function* () {
    const explicit = options.env.get("OPENLINEAGE_CONFIG");
    const home = options.home ?? options.env.get("HOME");
    // As the official clients: OPENLINEAGE_CONFIG first, then the working directory, then home.
    const candidates = [
      ...(explicit ? [resolve(options.cwd, explicit)] : []),
      resolve(options.cwd, "openlineage.yml"),
      ...(home ? [resolve(home, ".openlineage", "openlineage.yml")] : []),
    ];
    if (explicit && !(yield* exists(candidates[0]))) {
      problems.push({ where: "OPENLINEAGE_CONFIG", message: `no file at ${candidates[0]}` });
      return undefined;
    }
    for (const path of candidates) {
      if (!(yield* exists(path))) continue;
      const text = yield* Effect.tryPromise(() => Deno.readTextFile(path)).pipe(
        Effect.catch((e) => {
          problems.push({ where: displayPath(options.cwd, path), message: `cannot read: ${e}` });
          return Effect.succeed(undefined);
        }),
      );
      if (text === undefined) return undefined;
      const parsed = parseYamlFile(displayPath(options.cwd, path), text);
      if ("value" in parsed) return parsed as YamlFile;
      problems.push(...(parsed as ReadonlyArray<ConfigProblem>));
      return undefined;
    }
    return undefined;
  });

const chooseTransports = (
  options: ResolveOptions,
  merged: Merged,
  disabled: boolean,
  problems: ConfigProblem[],
): { transports: ReadonlyArray<TransportConfig>; origin: string } => {
  const configured = merged.value.transport === undefined
    ? undefined
    : decodeTransport(merged.value.transport, ["transport"], merged.where, options.cwd);
  if (options.flag !== undefined) {
    const t = transportFromFlag(
      options.flag,
      options.cwd,
      options.env,
      configured?.transports ?? [],
    );
    if ("where" in t) problems.push(t);
    return { transports: "where" in t ? [] : [t], origin: "--lineage" };
  }
  if (disabled) return { transports: [], origin: "OPENLINEAGE_DISABLED" };
  if (!configured) return { transports: [{ type: "jsonl" }], origin: "default" };
  problems.push(...configured.problems);
  return { transports: configured.transports, origin: merged.transportOrigin ?? "environment" };
};

// Variables and flags first, as found; then the file's problems from top to bottom.
const inFileOrder = (problems: ReadonlyArray<ConfigProblem>): ReadonlyArray<ConfigProblem> => {
  const position = (p: ConfigProblem) => /:(\d+):(\d+)$/.exec(p.where);
  const rank = (p: ConfigProblem) => {
    const m = position(p);
    return m ? Number(m[1]) * 100_000 + Number(m[2]) : -1;
  };
  return problems.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i).map((
    { p },
  ) => p);
};

/** Each optional section decoded, or its default when absent. */
const decodeSections = (merged: Merged, env: EnvSource, problems: ConfigProblem[]) => {
  const { value, where } = merged;
  const filters = value.filters === undefined
    ? { filters: [], problems: [] }
    : decodeFilters(value.filters, ["filters"], where);
  const facets = value.facets === undefined
    ? { value: { disabled: [], environmentVariables: [] }, problems: [] }
    : decodeFacets(value.facets, ["facets"], where, env);
  const owned = decodeTagsAndOwners(value, where);
  const dataset = value.dataset === undefined
    ? { resolvers: [], problems: [] }
    : decodeDataset(value.dataset, ["dataset"], where);
  const breaker = value.circuitBreaker === undefined
    ? { problems: [] }
    : decodeCircuitBreaker(value.circuitBreaker, ["circuitBreaker"], where);
  const metrics = value.metrics === undefined
    ? { problems: [] }
    : decodeMetrics(value.metrics, ["metrics"], where);
  for (const d of [filters, facets, owned, dataset, breaker, metrics]) problems.push(...d.problems);
  return {
    filters: filters.filters,
    facets: { ...facets.value, ...owned.value } satisfies FacetSettings,
    namespaceResolvers: dataset.resolvers,
    ...(breaker.breaker ? { circuitBreaker: breaker.breaker } : {}),
    ...(metrics.metrics ? { metrics: metrics.metrics } : {}),
  };
};

/** The settings of the namespace, the switch, the file, the flag and every configured value. */
const settingsOf = (
  options: ResolveOptions,
  merged: Merged,
  file: YamlFile | undefined,
  namespace: string,
  disabled: boolean,
): ConfigSetting[] => {
  const env = options.env;
  const jobNamespace = merged.value.job !== null && typeof merged.value.job === "object"
    ? (merged.value.job as { namespace?: unknown }).namespace
    : undefined;
  const transportUnused = options.flag !== undefined
    ? "--lineage wins"
    : disabled
    ? "OPENLINEAGE_DISABLED is true"
    : undefined;
  return [
    {
      key: "namespace",
      value: namespace,
      from: env.get("OPENLINEAGE_NAMESPACE")
        ? "OPENLINEAGE_NAMESPACE"
        : jobNamespace !== undefined
        ? merged.where(["job", "namespace"])
        : "default",
    },
    {
      key: "disabled",
      value: String(disabled),
      from: env.get("OPENLINEAGE_DISABLED") ? "OPENLINEAGE_DISABLED" : "default",
    },
    {
      key: "config file",
      value: file?.display ?? "none",
      from: env.get("OPENLINEAGE_CONFIG") ? "OPENLINEAGE_CONFIG" : "default",
    },
    ...(options.flag !== undefined
      ? [{ key: "--lineage", value: options.flag.replace(/\?.*$/, "?…"), from: "--lineage" }]
      : []),
    ...leafSettings(
      merged.value,
      merged.where,
      (path) => path[0] === "transport" ? transportUnused : undefined,
    ),
    ...(merged.value.transport === undefined && options.flag === undefined && !disabled
      ? [{
        key: "transport",
        value: "jsonl files in the store's lineage directory",
        from: "default",
      }]
      : []),
  ];
};

/**
 * Resolves the lineage configuration from the flag, the environment and the file.
 *
 * @category constructors
 */
export const resolveLineageConfig = (
  options: ResolveOptions,
): Effect.Effect<LineageConfig, LineageConfigError> =>
  Effect.gen(function* () {
    const problems: ConfigProblem[] = [];
    const disabled = readDisabled(options.env, problems);
    const parent = readParent(options.env, problems);
    const file = yield* findConfigFile(options, problems);
    if (
      file && (file.value === null || typeof file.value !== "object" || Array.isArray(file.value))
    ) {
      problems.push({ where: `${file.display}:1:1`, message: "the file must hold a mapping" });
    }
    const merged = mergeSources(file, options.env);
    problems.push(...decodeAt(topLevel, merged.value, [], merged.where).problems);
    const sections = decodeSections(merged, options.env, problems);
    const namespace = readNamespace(options.env, problems, {
      value: sections.facets.jobNamespace,
      where: merged.where(["job", "namespace"]),
    });
    const { transports, origin } = chooseTransports(options, merged, disabled, problems);
    if (problems.length > 0) {
      return yield* Effect.fail(new LineageConfigError({ problems: inFileOrder(problems) }));
    }
    const unset = sections.facets.environmentVariables.filter((v) => v.value === undefined)
      .map((v) => `${v.name} is not set: the environmentVariables facet leaves it out`);
    return {
      namespace,
      transports,
      filters: sections.filters,
      ...(parent ? { parent } : {}),
      origin,
      ...(file ? { configFile: file.display } : {}),
      facets: sections.facets,
      namespaceResolvers: sections.namespaceResolvers,
      ...(sections.circuitBreaker ? { circuitBreaker: sections.circuitBreaker } : {}),
      ...(sections.metrics ? { metrics: sections.metrics } : {}),
      settings: settingsOf(options, merged, file, namespace, disabled),
      notices: [
        ...merged.notices,
        ...unset,
        ...(options.env.get("OPENLINEAGE_CLIENT_LOGGING")
          ? ["OPENLINEAGE_CLIENT_LOGGING is not used: the kit logs through Effect's logger"]
          : []),
      ],
    } satisfies LineageConfig;
  });

/**
 * The configuration of a process that reads no file and no variable: the kit's defaults.
 *
 * @category constructors
 */
export const defaultLineageConfig: LineageConfig = {
  namespace: DEFAULT_NAMESPACE,
  transports: [{ type: "jsonl" }],
  filters: [],
  origin: "default",
  facets: {
    disabled: [],
    environmentVariables: [],
    tags: { job: [], run: [] },
    owners: [],
  },
  namespaceResolvers: [],
  settings: [],
  notices: [],
};
