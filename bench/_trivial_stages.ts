/**
 * Stage bodies that do almost nothing, so a benchmark measures orchestration, not work.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { type AnyStageDefinition, defineStage } from "../stages/contracts.ts";
import {
  chunkSetSchema,
  documentSchema,
  extractionSchema,
  graphWriteReceiptSchema,
  indexReceiptSchema,
  rawPayloadSchema,
} from "../stages/ir_schemas.ts";
import type { Document, IngestRequest } from "../stages/ir.ts";

/** One trivial step of the bare chain: a microtask and a small object. */
export const trivialStep = (step: number, input: unknown): Promise<unknown> =>
  Promise.resolve({ step, input: typeof input });

/** The `n`th synthetic document a bench enqueues: a ClinicalTrials.gov key, no record behind it. */
export const syntheticRequest = (n: number): IngestRequest => ({
  source: "clinicaltrials",
  docKey: `SYN${String(n).padStart(7, "0")}`,
  location: { kind: "file", file: "synthetic", pointer: "" },
});

const doc = (docId: string): Document => ({
  id: docId,
  source: "clinicaltrials",
  title: docId,
  sections: [],
  metadata: {},
  provenance: {
    source: "clinicaltrials",
    location: { kind: "file", file: "synthetic", pointer: "" },
    parser: "bench",
  },
});

/** The seven auto-pipeline stage types with trivial bodies (each its type's default). */
export const trivialStages: ReadonlyArray<AnyStageDefinition> = [
  defineStage({
    type: "Ingest",
    implementation: "bench",
    output: rawPayloadSchema,
    run: (ctx, { request }) =>
      Effect.succeed({
        source: request.source,
        docKey: ctx.docId,
        location: request.location,
        record: {},
      }),
  }),
  defineStage({
    type: "Parse",
    implementation: "bench",
    output: documentSchema,
    run: (ctx) => Effect.succeed(doc(ctx.docId)),
  }),
  defineStage({
    type: "Chunk",
    implementation: "bench",
    output: chunkSetSchema,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, chunks: [] }),
    outputCount: () => 0,
  }),
  defineStage({
    type: "Embed",
    implementation: "bench",
    output: z.object({
      docId: z.string(),
      model: z.string(),
      dimensions: z.number(),
      vectors: z.array(z.unknown()),
    }),
    run: (ctx) => Effect.succeed({ docId: ctx.docId, model: "none", dimensions: 0, vectors: [] }),
    outputCount: () => 0,
  }),
  defineStage({
    type: "Index",
    implementation: "bench",
    output: indexReceiptSchema,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, index: "none", upserted: 0 }),
    outputCount: () => 0,
  }),
  defineStage({
    type: "Extract",
    implementation: "bench",
    output: extractionSchema,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, entities: [], claims: [] }),
    outputCount: () => 0,
  }),
  defineStage({
    type: "KG",
    implementation: "bench",
    output: graphWriteReceiptSchema,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, nodes: 0, edges: 0 }),
    outputCount: () => 0,
  }),
];
