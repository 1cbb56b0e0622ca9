/**
 * Named resilience policies (`policies/resilience.yaml`): the zod schema of the file, the decoded
 * {@link Policy} every stage runs under, and a parser that reports every problem at once.
 *
 * @module
 */
import { z } from "zod";
import { oneOf, type Problem, sortProblems, strictMapping, type ValuePath } from "./problem.ts";
import { type IssueContext, parseYaml, problemsFromIssues } from "./yaml_document.ts";

/** How the wait between attempts grows. */
export type BackoffStrategy = "exponential" | "linear" | "none";

/** Every backoff strategy, in documentation order. */
export const backoffStrategies: ReadonlyArray<BackoffStrategy> = ["exponential", "linear", "none"];

/** Open the breaker after this many consecutive failures, for this long. */
export interface CircuitBreakerSpec {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long the breaker stays open, in seconds. */
  readonly resetTimeoutSeconds: number;
}

/** One named policy, decoded: how a stage is retried, timed out, broken and rate limited. */
export interface Policy {
  /** The policy's name: its key in the file, which stages refer to (`policy:`). */
  readonly name: string;
  /** Total attempts, the first one included. */
  readonly maxAttempts: number;
  /** How the wait between attempts grows. */
  readonly backoffStrategy: BackoffStrategy;
  /** The first retry's delay (linear: the step added per retry), in seconds. */
  readonly backoffInitialSeconds: number;
  /** The largest delay before jitter, in seconds. */
  readonly backoffMaxSeconds: number;
  /** A random delay of 0 to this many seconds added to each retry's wait. */
  readonly backoffJitterSeconds: number;
  /** Per attempt. */
  readonly timeoutSeconds: number;
  /** The breaker of the dependency a stage calls; none when absent. */
  readonly circuitBreaker?: CircuitBreakerSpec;
  /** Calls per second to the dependency (a token bucket per dependency); unlimited when absent. */
  readonly rateLimitPerSecond?: number;
  /** At most this many attempts of a stage run at once in the process; unlimited when absent. */
  readonly concurrency?: number;
}

/** One policy as written in YAML (snake_case keys). */
export interface PolicyYaml {
  /** Total attempts, the first one included (1–10). */
  readonly max_attempts: number;
  /** `exponential`, `linear` or `none`. */
  readonly backoff_strategy: BackoffStrategy;
  /** The first retry's delay (linear: the step), in seconds (0–3600). */
  readonly backoff_initial_seconds: number;
  /** The largest delay before jitter, in seconds; at least `backoff_initial_seconds` (0–3600). */
  readonly backoff_max_seconds: number;
  /** Up to this many random seconds added to each delay (0–3600). */
  readonly backoff_jitter_seconds: number;
  /** Per attempt; the attempt is interrupted when it runs past it (1–600). */
  readonly timeout_seconds: number;
  /** Consecutive failures before the breaker opens (1–100), and how long it stays open in seconds (1–3600). */
  readonly circuit_breaker?: {
    readonly failure_threshold: number;
    readonly reset_timeout_seconds: number;
  };
  /** Calls per second to the dependency, a token bucket per dependency (0.1–1000). */
  readonly rate_limit_per_second?: number;
  /** At most this many attempts of a stage at once (≥ 1). */
  readonly concurrency?: number;
}

/** `policies/resilience.yaml` as written. */
export interface ResilienceFileYaml {
  /** The policies, by name. */
  readonly policies: Readonly<Record<string, PolicyYaml>>;
}

const seconds = z.number().min(0).max(3600);

/**
 * The backoff a policy gets for the keys it omits: exponential from 1 s, capped at 30 s, no
 * jitter.
 */
export const defaultBackoff = {
  backoff_strategy: "exponential",
  backoff_initial_seconds: 1,
  backoff_max_seconds: 30,
  backoff_jitter_seconds: 0,
} as const;

/** The schema of one policy as written in YAML; omitted backoff keys take {@link defaultBackoff}. */
export const policySchema: z.ZodType<PolicyYaml> = strictMapping({
  max_attempts: z.number().int().min(1).max(10),
  backoff_strategy: oneOf("backoff_strategy", ["exponential", "linear", "none"]).default(
    defaultBackoff.backoff_strategy,
  ),
  backoff_initial_seconds: seconds.default(defaultBackoff.backoff_initial_seconds),
  backoff_max_seconds: seconds.default(defaultBackoff.backoff_max_seconds),
  backoff_jitter_seconds: seconds.default(defaultBackoff.backoff_jitter_seconds),
  timeout_seconds: z.number().min(1).max(600),
  circuit_breaker: strictMapping({
    failure_threshold: z.number().int().min(1).max(100),
    reset_timeout_seconds: z.number().min(1).max(3600),
  }).optional(),
  rate_limit_per_second: z.number().min(0.1).max(1000).optional(),
  concurrency: z.number().int().min(1).optional(),
}).superRefine((policy, ctx) => {
  const { backoff_initial_seconds: initial, backoff_max_seconds: max } = policy;
  // A cap below the first delay would silently replace the configured initial delay.
  if (typeof initial === "number" && typeof max === "number" && max < initial) {
    ctx.addIssue({
      code: "custom",
      path: ["backoff_max_seconds"],
      message: `must be >= backoff_initial_seconds (${initial}) (got ${max})`,
      params: { field: true },
    });
  }
}, {
  // Compared even when other keys of the policy are wrong, so every problem shows at once.
  when: (payload) => typeof payload.value === "object" && payload.value !== null,
});

/** The schema of `policies/resilience.yaml`: `policies: {name: policy}`. */
export const resilienceFileSchema: z.ZodType<ResilienceFileYaml> = strictMapping({
  policies: z.record(z.string(), policySchema),
});

/** Turns a decoded YAML policy into a {@link Policy}. */
export const policyFromSpec = (name: string, spec: PolicyYaml): Policy => ({
  name,
  maxAttempts: spec.max_attempts,
  backoffStrategy: spec.backoff_strategy,
  backoffInitialSeconds: spec.backoff_initial_seconds,
  backoffMaxSeconds: spec.backoff_max_seconds,
  backoffJitterSeconds: spec.backoff_jitter_seconds,
  timeoutSeconds: spec.timeout_seconds,
  ...(spec.circuit_breaker === undefined ? {} : {
    circuitBreaker: {
      failureThreshold: spec.circuit_breaker.failure_threshold,
      resetTimeoutSeconds: spec.circuit_breaker.reset_timeout_seconds,
    },
  }),
  ...(spec.rate_limit_per_second === undefined
    ? {}
    : { rateLimitPerSecond: spec.rate_limit_per_second }),
  ...(spec.concurrency === undefined ? {} : { concurrency: spec.concurrency }),
});

const policyContext = (path: ValuePath): IssueContext =>
  path[0] === "policies" && path.length >= 2
    ? { prefix: `policy ${JSON.stringify(String(path[1]))}`, base: 2 }
    : { prefix: "", base: 0 };

/**
 * Parses and validates a resilience file. Policies come back only when the file has no problem;
 * the problems name every finding with its line and column.
 *
 * @example
 * ```ts
 * const { policies, problems } = parsePolicies("policies/resilience.yaml", "policies: {}\n");
 * // policies.size === 0, problems.length === 0
 * ```
 */
export const parsePolicies = (
  file: string,
  text: string,
): {
  readonly policies: ReadonlyMap<string, Policy>;
  readonly problems: ReadonlyArray<Problem>;
} => {
  const { source, problems } = parseYaml(file, text);
  if (source === undefined) return { policies: new Map(), problems };
  const decoded = resilienceFileSchema.safeParse(source.value, { reportInput: true });
  if (!decoded.success) {
    return {
      policies: new Map(),
      problems: sortProblems(problemsFromIssues(source, decoded.error.issues, policyContext)),
    };
  }
  const entries = Object.entries(decoded.data.policies);
  return {
    policies: new Map(entries.map(([name, spec]) => [name, policyFromSpec(name, spec)])),
    problems: [],
  };
};
