/**
 * Stage bodies that do almost nothing, so a benchmark measures orchestration, not work.
 *
 * @module
 */
import { Effect } from "effect";
import type { AnyStageDefinition, StageType } from "../stages/contracts.ts";
import type { Document } from "../stages/ir.ts";

/** One trivial step of the bare chain: a microtask and a small object. */
export const trivialStep = (step: number, input: unknown): Promise<unknown> =>
  Promise.resolve({ step, input: typeof input });

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

/** The seven auto-pipeline stage types with trivial bodies. */
export const trivialStages: ReadonlyArray<readonly [StageType, AnyStageDefinition]> = [
  ["Ingest", {
    type: "Ingest",
    implementation: "bench",
    outputCount: () => 1,
    run: (ctx, inputs) =>
      Effect.succeed({
        source: inputs.request.source,
        docKey: ctx.docId,
        location: inputs.request.location,
        record: {},
      }),
  }],
  ["Parse", {
    type: "Parse",
    implementation: "bench",
    outputCount: () => 1,
    run: (ctx) => Effect.succeed(doc(ctx.docId)),
  }],
  ["Chunk", {
    type: "Chunk",
    implementation: "bench",
    outputCount: () => 0,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, chunks: [] }),
  }],
  ["Embed", {
    type: "Embed",
    implementation: "bench",
    outputCount: () => 0,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, model: "none", dimensions: 0, vectors: [] }),
  }],
  ["Index", {
    type: "Index",
    implementation: "bench",
    outputCount: () => 0,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, index: "none", upserted: 0 }),
  }],
  ["Extract", {
    type: "Extract",
    implementation: "bench",
    outputCount: () => 0,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, entities: [], claims: [] }),
  }],
  ["KG", {
    type: "KG",
    implementation: "bench",
    outputCount: () => 0,
    run: (ctx) => Effect.succeed({ docId: ctx.docId, nodes: 0, edges: 0 }),
  }],
];
