/**
 * The configuration that lives outside `openlineage.yml`: `OPENLINEAGE_NAMESPACE`,
 * `OPENLINEAGE_DISABLED`, the parent-run variables, and the `--lineage` flag.
 *
 * @module
 */
import { Redacted } from "effect";
import { resolve } from "node:path";
import type { ConfigProblem } from "./config_error.ts";
import type { HttpTransportConfig } from "./http_transport.ts";
import { type ParentRun, parseContext, parseParentId } from "./parent_run.ts";
import type { TransportConfig } from "./transport_config.ts";

/** The variables the configuration reads; `toObject` lists the `OPENLINEAGE__*` ones. */
export interface EnvSource {
  /** The value of a variable, or undefined when it is not set. */
  get(key: string): string | undefined;
  /** Every variable by name, as `Deno.env.toObject()`; without it `OPENLINEAGE__*` go unread. */
  toObject?(): Record<string, string>;
}

/** The default OpenLineage namespace. */
export const DEFAULT_NAMESPACE = "lineage-kit";

const NAMESPACE = /^[A-Za-z0-9_\-.:/@+=;]{1,1024}$/;

/**
 * `OPENLINEAGE_NAMESPACE`, else the configuration's `job.namespace` (`fallback`), else the
 * default; checked against Marquez's namespace rule.
 */
export const readNamespace = (
  env: EnvSource,
  problems: ConfigProblem[],
  fallback?: { readonly value?: string; readonly where: string },
): string => {
  const variable = env.get("OPENLINEAGE_NAMESPACE");
  const [value, where] = variable !== undefined && variable !== ""
    ? [variable, "OPENLINEAGE_NAMESPACE"]
    : [fallback?.value, fallback?.where ?? ""];
  if (value === undefined || value === "") return DEFAULT_NAMESPACE;
  if (NAMESPACE.test(value)) return value;
  problems.push({
    where,
    message: `${
      JSON.stringify(value)
    } is not a valid namespace (1 to 1024 letters, digits and _-.:/@+=; only)`,
  });
  return DEFAULT_NAMESPACE;
};

/**
 * `OPENLINEAGE_DISABLED`: `true` (any case, spaces around) disables lineage, `false` or empty
 * does not. The official clients treat every other value as false; here it is a problem, since a
 * `1` or `yes` meant to disable would otherwise be ignored.
 */
export const readDisabled = (env: EnvSource, problems: ConfigProblem[]): boolean => {
  const value = env.get("OPENLINEAGE_DISABLED")?.trim().toLowerCase();
  if (value === undefined || value === "") return false;
  if (value === "true") return true;
  if (value === "false") return false;
  problems.push({
    where: "OPENLINEAGE_DISABLED",
    message: `expected true or false (got ${JSON.stringify(env.get("OPENLINEAGE_DISABLED"))})`,
  });
  return false;
};

/** The parent run from `OPENLINEAGE_PARENT_ID` (+ `_ROOT_PARENT_ID`) or `OPENLINEAGE_CONTEXT`. */
export const readParent = (env: EnvSource, problems: ConfigProblem[]): ParentRun | undefined => {
  const parentId = env.get("OPENLINEAGE_PARENT_ID");
  const rootId = env.get("OPENLINEAGE_ROOT_PARENT_ID");
  const context = env.get("OPENLINEAGE_CONTEXT");
  if (context && parentId) {
    problems.push({
      where: "OPENLINEAGE_CONTEXT",
      message: "and OPENLINEAGE_PARENT_ID are both set: set one of them",
    });
    return undefined;
  }
  if (context) {
    const parsed = parseContext(context);
    if (typeof parsed !== "string") return parsed;
    problems.push({ where: "OPENLINEAGE_CONTEXT", message: parsed });
    return undefined;
  }
  if (!parentId) return undefined;
  const parent = parseParentId(parentId);
  if (typeof parent === "string") {
    problems.push({ where: "OPENLINEAGE_PARENT_ID", message: parent });
    return undefined;
  }
  if (!rootId) return parent;
  const root = parseParentId(rootId);
  if (typeof root !== "string") return { ...parent, root };
  problems.push({ where: "OPENLINEAGE_ROOT_PARENT_ID", message: root });
  return undefined;
};

const FLAG_HELP = "expected a directory, an http(s):// URL (Marquez) or kafka://host:port/topic";

const httpFromFlag = (
  flag: string,
  env: EnvSource,
  configured: ReadonlyArray<TransportConfig>,
): HttpTransportConfig | string => {
  let u: URL;
  try {
    u = new URL(flag);
  } catch {
    return `not a valid URL; ${FLAG_HELP}`;
  }
  if (u.username || u.password) {
    return "the URL must not carry credentials (use OPENLINEAGE_API_KEY)";
  }
  const envKey = env.get("OPENLINEAGE_API_KEY");
  // A key configured for a server is only sent to that same server.
  const sameServer = configured.find((t): t is HttpTransportConfig =>
    t.type === "http" && new URL(t.url).origin === u.origin
  );
  const apiKey = envKey ? Redacted.make(envKey) : sameServer?.apiKey;
  const urlParams = Object.fromEntries(u.searchParams);
  return {
    type: "http",
    url: u.origin,
    ...(u.pathname !== "/" ? { endpoint: u.pathname } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(Object.keys(urlParams).length > 0 ? { urlParams } : {}),
  };
};

/** The transport the `--lineage` flag names: a directory, a Marquez URL, or a Kafka topic. */
export const transportFromFlag = (
  flag: string,
  cwd: string,
  env: EnvSource,
  configured: ReadonlyArray<TransportConfig>,
): TransportConfig | ConfigProblem => {
  const problem = (message: string): ConfigProblem => ({ where: "--lineage", message });
  if (flag.trim() === "") return problem(FLAG_HELP);
  if (/^https?:\/\//i.test(flag)) {
    const http = httpFromFlag(flag, env, configured);
    return typeof http === "string" ? problem(http) : http;
  }
  if (/^kafka:\/\//i.test(flag)) {
    const m = /^kafka:\/\/([^/]+)\/([^/?#]+)$/i.exec(flag);
    if (!m) return problem(`expected kafka://host:port/topic (got ${JSON.stringify(flag)})`);
    const brokers = m[1].split(",").filter((b) => b !== "");
    return {
      type: "kafka",
      topic: decodeURIComponent(m[2]),
      brokers,
      properties: { "bootstrap.servers": brokers.join(",") },
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(flag)) {
    return problem(`unsupported scheme "${flag.split("://")[0]}://"; ${FLAG_HELP}`);
  }
  return { type: "jsonl", dir: resolve(cwd, flag) };
};
