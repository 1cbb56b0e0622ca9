/**
 * Every value of the resolved lineage configuration with where it was written (`file:line:column`,
 * a variable, `--lineage`, or `default`), secrets masked: what `deno task lineage --print-config`
 * shows.
 *
 * @module
 */
import { labelOf, type Where } from "./_config_issues.ts";
import type { ConfigPath } from "./_config_sources.ts";

/**
 * One configured value and its origin.
 *
 * @category models
 */
export interface ConfigSetting {
  /** The key, as the file writes it: `transport.auth.apiKey`, `facets.disabled[0]`. */
  readonly key: string;
  /** The value as text; secrets read `<redacted>`. */
  readonly value: string;
  /** Where it was written: `openlineage.yml:4:7`, `OPENLINEAGE__TRANSPORT__URL`, `default` … */
  readonly from: string;
  /** Why the value does not take effect, when another setting wins over it. */
  readonly unused?: string;
}

// Keys whose values are credentials. Header and Kafka property names are matched the same way.
const SECRET = /(api_?key|apikey|password|passwd|secret|token|credential|jaas|sasl|auth)/i;

/**
 * Whether the value at `path` is a secret (an `auth.type` names a method, not a secret).
 *
 * @category constructors
 */
export const isSecretPath = (path: ConfigPath): boolean =>
  path[path.length - 1] !== "type" &&
  path.some((segment) => typeof segment === "string" && SECRET.test(segment));

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

const show = (v: unknown): string => typeof v === "string" ? v : JSON.stringify(v);

/**
 * The leaves of `value` (empty mappings and lists included) as settings.
 *
 * @category constructors
 */
export const leafSettings = (
  value: unknown,
  where: Where,
  unused: (path: ConfigPath) => string | undefined,
  path: ConfigPath = [],
): ConfigSetting[] => {
  const children: Array<[string | number, unknown]> = isObject(value)
    ? Object.entries(value)
    : Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : [];
  if (children.length === 0) {
    if (path.length === 0 || value === undefined) return [];
    const why = unused(path);
    return [{
      key: labelOf(path),
      value: isSecretPath(path) ? "<redacted>" : show(value),
      from: where(path),
      ...(why ? { unused: why } : {}),
    }];
  }
  return children.flatMap(([k, v]) => leafSettings(v, where, unused, [...path, k]));
};

/**
 * The settings as aligned lines: `key = value  (from)`.
 *
 * @category constructors
 */
export const formatSettings = (settings: ReadonlyArray<ConfigSetting>): string => {
  const width = Math.min(48, Math.max(0, ...settings.map((s) => s.key.length)));
  return settings.map((s) =>
    `${s.key.padEnd(width)} = ${s.value}  (${s.from})${s.unused ? ` not used: ${s.unused}` : ""}`
  ).join("\n");
};
