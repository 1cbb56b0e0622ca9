/**
 * Resilience policies: the named policies of `policies/resilience.yaml`, their schema, and what
 * a stage's retries, timeouts, circuit breaker and rate limit are built from.
 *
 * @example
 * ```ts
 * import { parsePolicies } from "./mod.ts";
 *
 * const { policies, problems } = parsePolicies(
 *   "policies/resilience.yaml",
 *   await Deno.readTextFile("policies/resilience.yaml"),
 * );
 * console.log(problems.length === 0 ? [...policies.keys()] : problems);
 * ```
 *
 * @module
 */
export * from "./policy.ts";
export * from "./problem.ts";
export * from "./yaml_document.ts";
export * from "./explain.ts";
export * as CircuitBreaker from "./circuit_breaker.ts";
export * as RateLimiter from "./rate_limiter.ts";
export * as Resilience from "./resilience.ts";
// Types the kit's public options name, also at the top level (namespace members are not).
export type { ResilienceSummary } from "./resilience.ts";
export type { BreakerCounts } from "./circuit_breaker.ts";
export type { RateLimitCounts } from "./rate_limiter.ts";
export * from "./policy_schedule.ts";
