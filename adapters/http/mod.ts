/**
 * Plain HTTP for adapters that call outside systems: {@link fetchJson} makes one request with a
 * timeout and turns every failure into a stage error through {@link classifyHttpOutcome}, the one
 * mapping from statuses, `Retry-After`, network failures and remote error bodies to `Transient`,
 * `RateLimited`, `InvalidInput` and `Permanent`. {@link dependencyOf} names the remote for circuit
 * breakers and rate limiters.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { dependencyOf, fetchJson } from "./mod.ts";
 *
 * const url = "https://api.openalex.org/works/W1982728624";
 * const work = fetchJson(url, { headers: { accept: "application/json" } }).pipe(
 *   Effect.map((response) => response.body),
 *   Effect.catchTag("RateLimited", (error) => Effect.succeed({ retryAfterMs: error.retryAfterMs })),
 * );
 * console.log(dependencyOf(url)); // "api.openalex.org"
 * ```
 *
 * @module
 */
export * from "./fetch_json.ts";
export * from "./http_errors.ts";
