/**
 * Lineage configuration, read the way the official OpenLineage clients read it, and the sinks it
 * names.
 *
 * Where the transport comes from, first match wins:
 * 1. the `--lineage` flag: a directory (JSONL files), an `http(s)://` Marquez URL, or
 *    `kafka://host:port/topic`;
 * 2. `OPENLINEAGE_DISABLED=true`: no sinks (events stay in the outbox);
 * 3. the environment: `OPENLINEAGE__*` variables (`OPENLINEAGE__TRANSPORT__TYPE=http`,
 *    `OPENLINEAGE__TRANSPORT__AUTH__API_KEY=…`: double underscores nest, `SNAKE_CASE` becomes
 *    `camelCase`, JSON objects are parsed), then the legacy `OPENLINEAGE_URL`,
 *    `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_API_KEY`; variables override the file key by key;
 * 4. the file: `OPENLINEAGE_CONFIG`, else `./openlineage.yml`, else
 *    `~/.openlineage/openlineage.yml`;
 * 5. the default: JSONL files in the store's lineage directory.
 *
 * `filters` (job names not to emit) come from the file and the variables, the namespace from
 * `OPENLINEAGE_NAMESPACE` (default `lineage-kit`), the parent run from `OPENLINEAGE_PARENT_ID`
 * or `OPENLINEAGE_CONTEXT`. Every problem is reported at once, at its `file:line:column` or
 * variable; secrets never appear in a message or in {@link describeLineageConfig}.
 *
 * @module
 */
import { Effect } from "effect";
import { isAbsolute, relative, resolve } from "node:path";
import { type ConfigProblem, LineageConfigError } from "./config_error.ts";
import type { JobFilter } from "./job_filter.ts";
import type { ParentRun } from "./parent_run.ts";
import type { TransportConfig } from "./transport_config.ts";
import {
  type ConfigPath,
  deepMerge,
  envOverrides,
  parseYamlFile,
  pathKey,
  type YamlFile,
} from "./_config_sources.ts";
import { decodeAt, type Where } from "./_config_issues.ts";
import { decodeTransport, topLevel } from "./_config_schema.ts";
import { decodeFilters } from "./_config_filters.ts";
import {
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
export { describeLineageConfig, sinksFor, type SinksOptions } from "./_config_sinks.ts";

/** The resolved lineage configuration. */
export interface LineageConfig {
  /** The OpenLineage namespace of the jobs (`OPENLINEAGE_NAMESPACE`). @default "lineage-kit" */
  readonly namespace: string;
  /** Where events go; empty when lineage is disabled. */
  readonly transports: ReadonlyArray<TransportConfig>;
  /** Job names whose OpenLineage events are not emitted. */
  readonly filters: ReadonlyArray<JobFilter>;
  /** The run this process's pipeline runs belong to, when another system started it. */
  readonly parent?: ParentRun;
  /** Where the transports came from: `--lineage`, a variable, the file, or `default`. */
  readonly origin: string;
  /** The configuration file read, if any. */
  readonly configFile?: string;
}

/** Inputs of {@link resolveLineageConfig}. */
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
    const candidates = explicit ? [resolve(options.cwd, explicit)] : [
      resolve(options.cwd, "openlineage.yml"),
      ...(home ? [resolve(home, ".openlineage", "openlineage.yml")] : []),
    ];
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
    if (explicit) {
      problems.push({ where: "OPENLINEAGE_CONFIG", message: `no file at ${candidates[0]}` });
    }
    return undefined;
  });

interface Merged {
  readonly value: Record<string, unknown>;
  readonly where: Where;
  /** The variables that set the transport, if any did. */
  readonly transportVars: ReadonlyArray<string>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const legacyHttp = (env: EnvSource, base: unknown, origins: Map<string, string>) => {
  const url = env.get("OPENLINEAGE_URL");
  const endpoint = env.get("OPENLINEAGE_ENDPOINT");
  const apiKey = env.get("OPENLINEAGE_API_KEY");
  const transport: Record<string, unknown> = url
    ? { type: "http", url }
    : isObject(base) && base.type === "http"
    ? { ...base }
    : {};
  if (transport.type !== "http") return { transport: base, replaced: [] as ConfigPath[] };
  const replaced: ConfigPath[] = url ? [["transport"]] : [];
  if (url) origins.set(pathKey(["transport"]), "OPENLINEAGE_URL");
  if (endpoint) {
    transport.endpoint = endpoint;
    origins.set(pathKey(["transport", "endpoint"]), "OPENLINEAGE_ENDPOINT");
    replaced.push(["transport", "endpoint"]);
  }
  if (apiKey) {
    transport.auth = { type: "api_key", apiKey };
    origins.set(pathKey(["transport", "auth"]), "OPENLINEAGE_API_KEY");
    replaced.push(["transport", "auth"]);
  }
  return { transport, replaced };
};

const isPrefix = (prefix: ConfigPath, path: ConfigPath) =>
  prefix.length <= path.length && prefix.every((s, i) => s === path[i]);

const mergeSources = (file: YamlFile | undefined, env: EnvSource): Merged => {
  const { value: fromEnv, origins } = envOverrides(env.toObject?.() ?? {});
  const fileValue = isObject(file?.value) ? file.value : {};
  const replaced: ConfigPath[] = [];
  const envTransport = fromEnv.transport;
  const fileTransport = fileValue.transport;
  // A transport of another type than the file's starts afresh: the file's keys are for the other.
  const retyped = isObject(envTransport) && envTransport.type !== undefined &&
    (!isObject(fileTransport) || fileTransport.type !== envTransport.type);
  if (retyped) {
    replaced.push(["transport"]);
    origins.set(pathKey(["transport"]), origins.get(pathKey(["transport", "type"])) ?? "");
  }
  const value = deepMerge(
    retyped ? { ...fileValue, transport: undefined } : fileValue,
    fromEnv,
  ) as Record<string, unknown>;
  const transportVars = [...origins.entries()]
    .filter(([k]) => k.startsWith(pathKey(["transport"]).slice(0, -1)))
    .map(([, v]) => v);
  if (envTransport === undefined) {
    const legacy = legacyHttp(env, value.transport, origins);
    value.transport = legacy.transport;
    replaced.push(...legacy.replaced);
    transportVars.push(...legacy.replaced.map((p) => origins.get(pathKey(p))!));
  }
  const where: Where = (path) => {
    for (let n = path.length; n >= 0; n--) {
      const prefix = path.slice(0, n);
      const variable = origins.get(pathKey(prefix));
      if (variable) return variable;
      if (file && !replaced.some((r) => isPrefix(r, prefix))) {
        const at = file.locate(prefix);
        if (at) return at;
      }
    }
    return file ? `${file.display}:1:1` : "environment";
  };
  return { value, where, transportVars: [...new Set(transportVars)] };
};

const chooseTransports = (
  options: ResolveOptions,
  merged: Merged,
  file: YamlFile | undefined,
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
  const origin = merged.transportVars.length > 0
    ? merged.transportVars.join(", ")
    : file?.display ?? "environment";
  return { transports: configured.transports, origin };
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

/** Resolves the lineage configuration from the flag, the environment and the file. */
export const resolveLineageConfig = (
  options: ResolveOptions,
): Effect.Effect<LineageConfig, LineageConfigError> =>
  Effect.gen(function* () {
    const problems: ConfigProblem[] = [];
    const namespace = readNamespace(options.env, problems);
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
    const filters = merged.value.filters === undefined
      ? { filters: [], problems: [] }
      : decodeFilters(merged.value.filters, ["filters"], merged.where);
    problems.push(...filters.problems);
    const { transports, origin } = chooseTransports(options, merged, file, disabled, problems);
    if (problems.length > 0) {
      return yield* Effect.fail(new LineageConfigError({ problems: inFileOrder(problems) }));
    }
    return {
      namespace,
      transports,
      filters: filters.filters,
      ...(parent ? { parent } : {}),
      origin,
      ...(file ? { configFile: file.display } : {}),
    } satisfies LineageConfig;
  });
