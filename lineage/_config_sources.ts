/**
 * Where the lineage configuration comes from, and where each of its values was written: the YAML
 * file (kept with node positions) and the `OPENLINEAGE__*` variables (double underscores nest,
 * `SNAKE_CASE` segments become `camelCase` keys, JSON objects and lists are parsed), merged with
 * the variables winning.
 *
 * @module
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { ConfigProblem } from "./config_error.ts";

/** A path into the configuration. */
export type ConfigPath = ReadonlyArray<string | number>;

/** A parsed YAML file that can say where its nodes are. */
export interface YamlFile {
  readonly display: string;
  readonly value: unknown;
  /** `file:line:column` of the node at `path`, or undefined when the file has no such node. */
  readonly locate: (path: ConfigPath) => string | undefined;
}

const childOf = (node: unknown, segment: string | number) => {
  if (isMap(node)) {
    const pair = node.items.find((item) =>
      isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment)
    );
    return pair ? { anchor: pair.key as unknown, node: pair.value as unknown } : undefined;
  }
  if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
    return { anchor: node.items[segment] as unknown, node: node.items[segment] as unknown };
  }
  return undefined;
};

/** Parses YAML text; syntax errors come back as problems at their position. */
export const parseYamlFile = (
  display: string,
  text: string,
): YamlFile | ReadonlyArray<ConfigProblem> => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => {
      const at = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
      const message = e.message.split(/ at line \d+, column \d+/)[0].split("\n")[0];
      return { where: `${display}:${at.line}:${at.col}`, message: `YAML syntax error: ${message}` };
    });
  }
  const position = (node: unknown) => {
    const range = (node as Node | null | undefined)?.range;
    if (!range) return undefined;
    const at = lineCounter.linePos(range[0]);
    return `${display}:${at.line}:${at.col}`;
  };
  return {
    display,
    value: doc.toJS() ?? {},
    locate: (path) => {
      let node: unknown = doc.contents;
      let found = position(node) ?? `${display}:1:1`;
      for (const segment of path) {
        const step = childOf(node, segment);
        if (!step) return undefined;
        found = position(step.anchor) ?? found;
        node = step.node;
      }
      return found;
    },
  };
};

/** The `OPENLINEAGE__*` variables as a nested value, and which variable wrote which path. */
export interface EnvOverrides {
  readonly value: Record<string, unknown>;
  /** Path key (see {@link pathKey}) → variable name. */
  readonly origins: Map<string, string>;
  /** Variables whose value a variable for a whole enclosing section replaced. */
  readonly replaced: ReadonlyArray<{ readonly variable: string; readonly by: string }>;
}

/** A stable key for a path. */
export const pathKey = (path: ConfigPath): string => JSON.stringify(path);

const FREE_MAPS = new Set([
  "headers",
  "customHeaders",
  "custom_headers",
  "urlParams",
  "properties",
  "config",
  "storageOptions",
]);

/**
 * The key a variable's name segment stands for under `parent`. The Java client camelCases
 * `SNAKE_CASE` segments and the Python client lowercases them; each is followed where its keys
 * live: `facets`, `tags`, `job.owners`, the names of a composite's transports and the keys of
 * free-form maps (headers, Kafka properties) are lowercased, every other key camelCased (both
 * spellings of the clients' keys are accepted). Digits index lists.
 */
export const keyFor = (parent: ConfigPath, segment: string): string | number => {
  if (/^\d+$/.test(segment)) return Number(segment);
  const last = parent[parent.length - 1];
  const lower = parent[0] === "facets" || parent[0] === "tags" ||
    (parent[0] === "job" && parent[1] === "owners") || last === "transports" ||
    (typeof last === "string" && FREE_MAPS.has(last));
  return lower
    ? segment.toLowerCase()
    : segment.toLowerCase().replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
};

const parseValue = (raw: string): unknown => {
  const text = raw.trim();
  if (!text.startsWith("{") && !text.startsWith("[")) return raw;
  try {
    return JSON.parse(text);
  } catch {
    return raw;
  }
};

const setAt = (root: Record<string, unknown>, path: ConfigPath, value: unknown) => {
  let node: Record<string | number, unknown> = root;
  path.forEach((segment, i) => {
    if (i === path.length - 1) {
      node[segment] = value;
      return;
    }
    const next = node[segment];
    if (next === null || typeof next !== "object") {
      node[segment] = typeof path[i + 1] === "number" ? [] : {};
    }
    node = node[segment] as Record<string | number, unknown>;
  });
};

const isPrefixOf = (prefix: ConfigPath, path: ConfigPath) =>
  prefix.length < path.length && prefix.every((s, i) => s === path[i]);

/**
 * Reads the `OPENLINEAGE__*` variables as the official clients do: in reverse name order, so a
 * variable for a whole section (`OPENLINEAGE__TRANSPORT='{…}'`) wins over the variables for its
 * keys (`OPENLINEAGE__TRANSPORT__TYPE`); those are reported as replaced, not dropped in silence.
 * JSON objects and lists are parsed; other values stay text (the schemas read numbers and booleans
 * from text where a key expects one).
 */
export const envOverrides = (vars: Readonly<Record<string, string>>): EnvOverrides => {
  const value: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  const replaced: Array<{ variable: string; by: string }> = [];
  const all = Object.keys(vars).filter((k) => k.startsWith("OPENLINEAGE__")).sort().flatMap(
    (name) => {
      const segments = name.slice("OPENLINEAGE__".length).split("__").filter((s) => s !== "");
      const path: Array<string | number> = [];
      for (const segment of segments) path.push(keyFor(path, segment));
      return segments.length === 0 ? [] : [{ name, path }];
    },
  );
  // Applied in name order (stable key order); one under another's section is left out.
  for (const { name, path } of all) {
    const by = all.find((o) => isPrefixOf(o.path, path));
    if (by) {
      replaced.push({ variable: name, by: by.name });
      continue;
    }
    setAt(value, path, parseValue(vars[name]));
    origins.set(pathKey(path), name);
  }
  return { value, origins, replaced };
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/** `over` merged into `base`: mappings merge key by key, anything else is replaced. */
export const deepMerge = (base: unknown, over: unknown): unknown => {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
};
