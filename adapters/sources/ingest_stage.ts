/**
 * The kit's Ingest stage: reads a recorded response file, fetches a live URL, or hands on a
 * record given inline, by the request's location. Live fetches are keyed by host for the circuit
 * breaker and rate limiter.
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
 * An Ingest stage for file, URL and inline locations; live requests use `options`, or the
 * command's {@link HttpIngestSettings} when none are given.
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
      request.location.kind === "url"
        ? Effect.flatMap(
          options === undefined ? Effect.service(HttpIngestSettings) : Effect.succeed(options),
          (settings) => fetchRecord(request, settings),
        )
        : Effect.suspend(() => readRecord(request)),
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
