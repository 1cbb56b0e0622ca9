/**
 * One configuration out of the file and the variables, ranked as the official Python client
 * ranks them: the YAML file wins over `OPENLINEAGE__*` variables key by key, and the legacy
 * `OPENLINEAGE_URL` (with `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_API_KEY`) makes an HTTP transport
 * only when neither configures one, or joins a composite transport as its `default_http` child.
 * Every value keeps where it was written, and every setting that loses to another is noted.
 *
 * @module
 */
import type { EnvSource } from "./_config_meta.ts";
import type { Where } from "./_config_issues.ts";
import { labelOf } from "./_config_issues.ts";
import {
  type ConfigPath,
  deepMerge,
  envOverrides,
  pathKey,
  type YamlFile,
} from "./_config_sources.ts";

/**
 * The merged configuration, before decoding.
 *
 * @category models
 */
export interface Merged {
  /** The file over the variables, the legacy HTTP transport applied. */
  readonly value: Record<string, unknown>;
  /** Where the value at a path was written: `file:line:column`, a variable, or `default`. */
  readonly where: Where;
  /** Where the transport came from, for `LineageConfig.origin`; undefined without one. */
  readonly transportOrigin?: string;
  /** Settings that lost to another one, in words. */
  readonly notices: ReadonlyArray<string>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const DEFAULT_HTTP = "default_http";
const ALIAS_PREFIX = "OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP";

/** The HTTP transport the legacy variables describe, and which variable set which key. */
const legacyTransport = (env: EnvSource) => {
  const url = env.get("OPENLINEAGE_URL")!;
  const endpoint = env.get("OPENLINEAGE_ENDPOINT");
  const apiKey = env.get("OPENLINEAGE_API_KEY");
  return {
    value: {
      type: "http",
      url,
      ...(endpoint ? { endpoint } : {}),
      ...(apiKey ? { auth: { type: "api_key", apiKey } } : {}),
    },
    origins: [
      [["type"], "OPENLINEAGE_URL"],
      [["url"], "OPENLINEAGE_URL"],
      ...(endpoint ? [[["endpoint"], "OPENLINEAGE_ENDPOINT"]] : []),
      ...(apiKey ? [[["auth"], "OPENLINEAGE_API_KEY"]] : []),
    ] as Array<[ConfigPath, string]>,
  };
};

/**
 * Merges the file over the variables and applies the legacy variables.
 *
 * @category constructors
 */
export const mergeSources = (file: YamlFile | undefined, env: EnvSource): Merged => {
  const vars = env.toObject?.() ?? {};
  const fromEnv = envOverrides(vars);
  const fileValue = isObject(file?.value) ? file.value : {};
  const value = fileFirst(deepMerge(fromEnv.value, fileValue), fileValue) as Record<
    string,
    unknown
  >;
  const origins = new Map(fromEnv.origins);
  const notices: string[] = fromEnv.replaced.map((r) =>
    `${r.variable} is not used: ${r.by} sets the whole section (the official clients' rule)`
  );
  const inFile = (path: ConfigPath) => file?.locate(path) !== undefined;
  const where: Where = (path) => {
    if (file) {
      const exact = file.locate(path);
      if (exact) return exact;
    }
    for (let n = path.length; n >= 0; n--) {
      const variable = origins.get(pathKey(path.slice(0, n)));
      if (variable) return variable;
    }
    for (let n = path.length - 1; n >= 0; n--) {
      const prefix = path.slice(0, n);
      const at = file?.locate(prefix);
      if (at) return at;
      // A key missing from a section variables wrote: the first of those variables.
      const under = [...origins].find(([k]) => k.startsWith(pathKey(prefix).slice(0, -1)));
      if (under && n > 0) return under[1];
    }
    return file ? `${file.display}:1:1` : "environment";
  };
  for (const [key, variable] of fromEnv.origins) {
    const path = JSON.parse(key) as ConfigPath;
    const covering = [...Array(path.length).keys()].map((n) => path.slice(0, n + 1))
      .find((p) => inFile(p) && (p.length === path.length || !isObject(valueAt(fileValue, p))));
    if (covering) {
      notices.push(
        `${variable} is not used: ${file!.locate(covering)} sets ${
          labelOf(covering)
        } (the file wins over OPENLINEAGE__ variables, as in the official clients)`,
      );
    }
  }
  const legacy = applyLegacy(value, env, vars, where, origins);
  notices.push(...legacy.notices);
  const transport = value.transport;
  const transportOrigin = transport === undefined ? undefined : legacy.origin ??
    (inFile(["transport"]) ? file!.display : transportVariables(origins).join(", "));
  return { value, where, transportOrigin, notices };
};

// The merged value with the file's keys first, in the file's order, then the variables' keys.
const fileFirst = (merged: unknown, file: unknown): unknown => {
  if (!isObject(merged) || !isObject(file)) return merged;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(file)) if (k in merged) out[k] = fileFirst(merged[k], file[k]);
  for (const [k, v] of Object.entries(merged)) if (!(k in out)) out[k] = v;
  return out;
};

const valueAt = (root: unknown, path: ConfigPath): unknown =>
  path.reduce<unknown>(
    (node, segment) => isObject(node) || Array.isArray(node) ? (node as never)[segment] : undefined,
    root,
  );

const transportVariables = (
  origins: Map<string, string>,
) => [...new Set([...origins].filter(([k]) => k.startsWith('["transport"')).map(([, v]) => v))];

const applyLegacy = (
  value: Record<string, unknown>,
  env: EnvSource,
  vars: Readonly<Record<string, string>>,
  where: Where,
  origins: Map<string, string>,
): { origin?: string; notices: string[] } => {
  if (!env.get("OPENLINEAGE_URL")) {
    const unused = ["OPENLINEAGE_ENDPOINT", "OPENLINEAGE_API_KEY"].filter((v) => env.get(v));
    return { notices: unused.map((v) => `${v} is not used without OPENLINEAGE_URL`) };
  }
  const legacy = legacyTransport(env);
  const used = legacy.origins.map(([, v]) => v).filter((v, i, all) => all.indexOf(v) === i);
  const transport = value.transport;
  if (!isObject(transport) || transport.type === undefined) {
    // Keys set without a type (say OPENLINEAGE__TRANSPORT__COMPRESSION) refine this transport.
    value.transport = deepMerge(legacy.value, isObject(transport) ? transport : {});
    for (const [path, v] of legacy.origins) origins.set(pathKey(["transport", ...path]), v);
    return { origin: used.join(", "), notices: [] };
  }
  if (transport.type === "composite") {
    const children = transport.transports;
    if (Object.keys(vars).some((k) => k.startsWith(ALIAS_PREFIX))) {
      return {
        notices: [
          `${used.join(", ")}: not added to the composite transport: ${ALIAS_PREFIX} is set`,
        ],
      };
    }
    if (children !== undefined && !isObject(children)) {
      return {
        notices: [
          `${used.join(", ")}: not added to the composite transport: its transports at ${
            where(["transport", "transports"])
          } are a list, not a mapping the default_http child can join`,
        ],
      };
    }
    transport.transports = {
      ...children,
      [DEFAULT_HTTP]: deepMerge(legacy.value, (children ?? {})[DEFAULT_HTTP]),
    };
    for (const [path, v] of legacy.origins) {
      const full = ["transport", "transports", DEFAULT_HTTP, ...path];
      if (!origins.has(pathKey(full))) origins.set(pathKey(full), v);
    }
    return { notices: [] };
  }
  return {
    notices: [
      `${used.join(", ")} ${used.length > 1 ? "are" : "is"} not used: ${
        where(["transport", "type"])
      } configures a ${String(transport.type)} transport (the official clients use ` +
      "OPENLINEAGE_URL only when no transport is configured, or add it to a composite one)",
    ],
  };
};
