/**
 * The `circuitBreaker` and `metrics` sections of `openlineage.yml` (Java client keys). Breaker
 * types that measure what only a JVM has are refused with the reason; `metrics` is recorded for
 * the kit's metrics exposition.
 *
 * @module
 */
import { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { ConfigPath } from "./_config_sources.ts";
import { decodeAt, quotedWord, type Where } from "./_config_issues.ts";
import { count, percent, strict, text } from "./_config_values.ts";
import type { LineageBreakerConfig } from "./circuit_breaker.ts";

const interval = { circuitCheckIntervalInMillis: count.optional() };

const simpleMemory = strict({
  type: z.literal("simpleMemory"),
  memoryThreshold: percent.optional(),
  timeoutInSeconds: count.optional(),
  ...interval,
});
const timeout = strict({ type: z.literal("timeout"), timeoutInSeconds: count, ...interval });
const staticBreaker = strict({
  type: z.literal("static"),
  valuesReturned: z.string().regex(
    /^\s*(true|false)\s*(,\s*(true|false)\s*)*$/,
    "must be true and false values separated by commas",
  ),
  ...interval,
});

const REFUSED: Readonly<Record<string, string>> = {
  javaRuntime: "it measures JVM garbage collection, which this runtime does not expose; " +
    "use simpleMemory (the same memoryThreshold) or timeout",
  asyncTaskQueue: "the relay already delivers from the outbox in the background; no event " +
    "waits in memory",
};

/**
 * Decodes `circuitBreaker`; `noop` (and absence) means no breaker.
 *
 * @category constructors
 */
export const decodeCircuitBreaker = (
  value: unknown,
  path: ConfigPath,
  where: Where,
): { breaker?: LineageBreakerConfig; problems: ConfigProblem[] } => {
  const type = (value as { type?: unknown } | null)?.type;
  const at = (message: string) => ({ problems: [{ where: where([...path, "type"]), message }] });
  if (type === "noop") return { problems: [] };
  if (typeof type === "string" && REFUSED[type]) {
    return at(`circuit breaker type "${type}" is not supported: ${REFUSED[type]}`);
  }
  const ms = (s: number | undefined) => s === undefined ? undefined : s * 1000;
  const every = (c: { circuitCheckIntervalInMillis?: number }) =>
    c.circuitCheckIntervalInMillis ?? 1000;
  switch (type) {
    case "simpleMemory": {
      const r = decodeAt(simpleMemory, value, path, where);
      return {
        problems: [...r.problems],
        ...(r.value && {
          breaker: {
            type: "simpleMemory",
            memoryThreshold: r.value.memoryThreshold ?? 20,
            checkIntervalMs: every(r.value),
            ...(r.value.timeoutInSeconds ? { timeoutMs: ms(r.value.timeoutInSeconds) } : {}),
          },
        }),
      };
    }
    case "timeout": {
      const r = decodeAt(timeout, value, path, where);
      return {
        problems: [...r.problems],
        ...(r.value && {
          breaker: {
            type: "timeout",
            timeoutMs: ms(r.value.timeoutInSeconds)!,
            checkIntervalMs: every(r.value),
          },
        }),
      };
    }
    case "static": {
      const r = decodeAt(staticBreaker, value, path, where);
      return {
        problems: [...r.problems],
        ...(r.value && {
          breaker: {
            type: "static",
            values: r.value.valuesReturned.split(",").map((v) => v.trim() === "true"),
            checkIntervalMs: every(r.value),
          },
        }),
      };
    }
  }
  const check = decodeAt(z.record(z.string(), z.unknown()), value, path, where);
  if (check.problems.length > 0) return { problems: [...check.problems] };
  return at(
    type === undefined
      ? `missing required key "type" in circuitBreaker`
      : `unknown circuit breaker type${quotedWord(type)} (allowed: simpleMemory, timeout, ` +
        "static, noop)",
  );
};

/**
 * The `metrics` section, kept for the metrics exposition: its `type` and other settings.
 *
 * @category models
 */
export interface MetricsConfig {
  /** The Java client's registry type (`simple`, `statsd`, `composite`) or `prometheus`. */
  readonly type: string;
  /** The other keys, as written. */
  readonly options: Readonly<Record<string, unknown>>;
}

const METRICS_TYPES = ["prometheus", "simple", "statsd", "composite"];

/**
 * Decodes `metrics`: a mapping with a known `type`.
 *
 * @category constructors
 */
export const decodeMetrics = (
  value: unknown,
  path: ConfigPath,
  where: Where,
): { metrics?: MetricsConfig; problems: ConfigProblem[] } => {
  const r = decodeAt(z.looseObject({ type: text }), value, path, where);
  if (r.value === undefined) return { problems: [...r.problems] };
  const { type, ...options } = r.value;
  if (!METRICS_TYPES.includes(type)) {
    return {
      problems: [{
        where: where([...path, "type"]),
        message: `unknown metrics type${quotedWord(type)} (allowed: ${METRICS_TYPES.join(", ")})`,
      }],
    };
  }
  return { metrics: { type, options }, problems: [] };
};
