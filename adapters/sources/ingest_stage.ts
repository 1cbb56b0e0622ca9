/**
 * The kit's Ingest stage: reads a recorded response file or fetches a live URL, by the request's
 * location. Live fetches are keyed by host for the circuit breaker and rate limiter. Both paths
 * hold their input to the same limits (`options.limits`, see `input_limits.ts`).
 *
 * @module
 */
import { Effect } from "effect";
import type { IngestStage } from "../../stages/contracts.ts";
import { makeFileIngestStage } from "./file_ingest.ts";
import { type HttpIngestOptions, makeHttpIngestStage } from "./http_ingest.ts";

/**
 * An Ingest stage for both file and URL locations.
 *
 * @example
 * ```ts
 * import { makeIngestStage } from "./ingest_stage.ts";
 *
 * const stage = makeIngestStage({ limits: { maxDepth: 32 } });
 * console.log(stage.implementation); // "ingest"
 * ```
 *
 * @throws {RangeError} when a limit in `options.limits` is not a positive integer.
 * @category constructors
 */
export const makeIngestStage = (options: HttpIngestOptions = {}): IngestStage => {
  const http = makeHttpIngestStage(options);
  const file = makeFileIngestStage(options.limits);
  return {
    type: "Ingest",
    implementation: "ingest",
    outputCount: () => 1,
    // Local files call no outside system: no breaker, no rate limit.
    dependency: (ctx, inputs) =>
      inputs.request.location.kind === "url" ? http.dependency?.(ctx, inputs) : undefined,
    run: (ctx, inputs) =>
      inputs.request.location.kind === "url"
        ? http.run(ctx, inputs)
        : Effect.suspend(() => file.run(ctx, inputs)),
  };
};
