/**
 * The kit's Ingest stage: reads a recorded response file, fetches a live URL, or hands on a
 * record given inline, by the request's location. Live fetches are keyed by host for the circuit
 * breaker and rate limiter. Every path holds its input to the same limits (`limits` of the
 * options, see `input_limits.ts`).
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import type { RawPayload } from "../../stages/ir.ts";
import { rawPayloadSchema } from "../../stages/ir_schemas.ts";
import { readRecord } from "./file_ingest.ts";
import {
  fetchRecord,
  httpIngestDependency,
  type HttpIngestOptions,
  HttpIngestSettings,
} from "./http_ingest.ts";

/**
 * An Ingest stage for file, URL and inline locations; it uses `options`, or the command's
 * {@link HttpIngestSettings} when none are given.
 *
 * @example
 * ```ts
 * import { makeIngestStage } from "./ingest_stage.ts";
 *
 * const stage = makeIngestStage({ limits: { maxDepth: 32 } });
 * console.log(stage.implementation); // "ingest"
 * ```
 *
 * @category constructors
 */
export const makeIngestStage = (
  options?: HttpIngestOptions,
): StageDefinition<RawPayload, Record<string, never>, Record<never, never>> =>
  defineStage({
    type: "Ingest",
    implementation: "ingest",
    description: "reads the record a job names: a recorded file, a live URL, or inline",
    output: rawPayloadSchema,
    // Local files call no outside system: no breaker, no rate limit.
    dependency: (_ctx, inputs) =>
      inputs.request.location.kind === "url" ? httpIngestDependency(inputs) : undefined,
    run: (_ctx, { request }) =>
      Effect.flatMap(
        options === undefined ? Effect.service(HttpIngestSettings) : Effect.succeed(options),
        (settings) =>
          request.location.kind === "url"
            ? fetchRecord(request, settings)
            : readRecord(request, settings.limits),
      ),
  });

/**
 * The built-in Ingest stage.
 *
 * @category constructors
 */
export const ingestStage: StageDefinition<
  RawPayload,
  Record<string, never>,
  Record<never, never>
> = makeIngestStage();
