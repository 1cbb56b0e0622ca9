/**
 * Plain-language reports of what a policy does to a stage: how many attempts, the waits between
 * them, the jitter bound, the timeout, the breaker and the rate limit. `deno task validate
 * --explain` prints {@link explainConfig} for the whole configuration.
 *
 * @module
 */
import type { Config } from "../pipelines/loader.ts";
import { delaySchedule } from "./backoff.ts";
import type { Policy } from "./policy.ts";

/** One policy, explained; every field but `attempts` is ready to print. */
export interface PolicyExplanation {
  /** Total attempts, the first one included. */
  readonly attempts: number;
  /** The wait before each retry without jitter, e.g. `1s, 2s`; `none` when nothing is retried. */
  readonly delays: string;
  /** The most jitter added to each wait, e.g. `up to 1s`, or `none`. */
  readonly jitter: string;
  /** Per attempt, e.g. `30s`. */
  readonly timeout: string;
  /** e.g. `5 failures, open 60s`, or `none`. */
  readonly breaker: string;
  /** e.g. `5/s`, or `none`. */
  readonly rate: string;
  /** e.g. `4`, or `unbounded`. */
  readonly concurrency: string;
}

// Up to millisecond precision, without trailing zeros: 1000 → "1s", 500 → "0.5s".
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))}s`;

/**
 * Explains a policy in the words a report prints.
 *
 * @example
 * ```ts
 * const explained = explainPolicy({
 *   name: "default",
 *   maxAttempts: 3,
 *   backoffStrategy: "exponential",
 *   backoffInitialSeconds: 1,
 *   backoffMaxSeconds: 30,
 *   backoffJitterSeconds: 1,
 *   timeoutSeconds: 30,
 * });
 * explained.delays; // "1s, 2s"
 * ```
 */
export const explainPolicy = (policy: Policy): PolicyExplanation => ({
  attempts: policy.maxAttempts,
  delays: policy.maxAttempts === 1 ? "none" : delaySchedule(policy).map(seconds).join(", "),
  jitter: policy.backoffJitterSeconds > 0 && policy.maxAttempts > 1
    ? `up to ${seconds(policy.backoffJitterSeconds * 1000)}`
    : "none",
  timeout: seconds(policy.timeoutSeconds * 1000),
  breaker: policy.circuitBreaker === undefined
    ? "none"
    : `${policy.circuitBreaker.failureThreshold} failures, open ${
      seconds(policy.circuitBreaker.resetTimeoutSeconds * 1000)
    }`,
  rate: policy.rateLimitPerSecond === undefined ? "none" : `${policy.rateLimitPerSecond}/s`,
  concurrency: policy.concurrency === undefined ? "unbounded" : String(policy.concurrency),
});

const header = ["stage", "policy", "attempts", "delays", "jitter", "timeout", "breaker", "rate"];

// Left-aligned columns two spaces apart; the last column is not padded.
const table = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) =>
    row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
  );
};

/**
 * The resilience table of a configuration: for each pipeline, one row per stage in declaration
 * order with its policy's attempts, delays, jitter bound, timeout, breaker and rate limit.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { loadPipelines } from "../kit/load_pipelines.ts";
 *
 * console.log(explainConfig(await Effect.runPromise(loadPipelines())));
 * ```
 */
export const explainConfig = (config: Config): string =>
  config.pipelines.map((pipeline) => {
    const rows = pipeline.stages.map((stage) => {
      const e = explainPolicy(pipeline.policyOf(stage.name));
      return [
        stage.name,
        stage.policy,
        String(e.attempts),
        e.delays,
        e.jitter,
        e.timeout,
        e.breaker,
        e.rate,
      ];
    });
    const title = `pipeline ${pipeline.name} (${pipeline.file})`;
    return [title, ...table([header, ...rows]).map((line) => `  ${line}`)].join("\n");
  }).join("\n\n");
