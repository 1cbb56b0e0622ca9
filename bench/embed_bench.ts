/**
 * Embedding throughput against the simulated vLLM server: documents embedded one request per
 * document (each document's chunks alone) against the same documents through the cross-document
 * batcher of the vLLM Embed stage. Both run `--concurrency` documents at once over real HTTP on
 * loopback, through the `openai` client, against a server whose GPU time per batch is
 * `requestCostMs + tokenCostMs × tokens` with one batch at a time; the ceiling is that model's
 * texts per second at `--max-batch-size`.
 *
 * Prints a table (median of `--runs`); with `--json` the last line is the result as JSON.
 *
 * Usage: deno task bench:embed [--docs N] [--concurrency N] [--chunks-per-doc K]
 *        [--words-per-chunk W] [--max-batch-size B] [--max-concurrent-requests M] [--runs R]
 *        [--json]
 *
 * @module
 */
import { Effect } from "effect";
import { parseArgs } from "node:util";
import { z } from "zod";
import { makeEmbedRequest } from "../adapters/vllm/embeddings_request.ts";
import { makeVllmClient } from "../adapters/vllm/vllm_client.ts";
import { makeVllmEmbeddingBatcher, makeVllmEmbedStage } from "../adapters/vllm/vllm_embedder.ts";
import type { StageContext } from "../stages/context.ts";
import type { ChunkSet } from "../stages/ir.ts";
import { type SimulatedVllm, startSimulatedVllm } from "../testing/vllm_sim.ts";

const count = (name: string) =>
  z.coerce.number({ error: `--${name} must be a number` }).int(`--${name} must be an integer`)
    .min(1, `--${name} must be at least 1`);

const flagsSchema = z.object({
  docs: count("docs").default(256),
  concurrency: count("concurrency").default(32),
  "chunks-per-doc": count("chunks-per-doc").default(8),
  "words-per-chunk": count("words-per-chunk").default(48),
  "max-batch-size": count("max-batch-size").default(64),
  "max-concurrent-requests": count("max-concurrent-requests").default(4),
  runs: count("runs").default(3),
  json: z.boolean().default(false),
});

const { values } = parseArgs({
  args: Deno.args,
  options: {
    docs: { type: "string" },
    concurrency: { type: "string" },
    "chunks-per-doc": { type: "string" },
    "words-per-chunk": { type: "string" },
    "max-batch-size": { type: "string" },
    "max-concurrent-requests": { type: "string" },
    runs: { type: "string" },
    json: { type: "boolean" },
  },
});
const parsed = flagsSchema.safeParse(values);
if (!parsed.success) {
  console.error(parsed.error.issues.map((issue) => issue.message).join("\n"));
  Deno.exit(2);
}
const flags = parsed.data;
const model = "sim/embed";

const documents: ReadonlyArray<ChunkSet> = Array.from({ length: flags.docs }, (_, d) => {
  const docId = `bench:${d}`;
  return {
    docId,
    chunks: Array.from({ length: flags["chunks-per-doc"] }, (_, c) => {
      const words = Array.from({ length: flags["words-per-chunk"] }, (_, w) => `d${d}c${c}w${w}`);
      const text = words.join(" ");
      return {
        chunkId: `${docId}:chunk:${c}`,
        docId,
        tenantId: "bench",
        text,
        sectionId: `${docId}:section:0`,
        start: 0,
        end: text.length,
        metadata: {},
      };
    }),
  };
});
const totalTexts = flags.docs * flags["chunks-per-doc"];

const contextOf = (doc: ChunkSet): StageContext => ({
  tenantId: "bench",
  jobId: doc.docId,
  docId: doc.docId,
  correlationId: doc.docId,
  pipeline: { name: "bench", version: "1" },
  stage: "embed",
  attempt: 1,
  metadata: {},
});

const inputsOf = (doc: ChunkSet) => ({
  request: {
    source: "openalex",
    docKey: doc.docId,
    location: { kind: "url" as const, url: "bench" },
  },
  Chunk: doc,
});

const expectVectors = (doc: ChunkSet, vectors: number): void => {
  if (vectors !== doc.chunks.length) {
    throw new Error(`${doc.docId}: ${vectors} vectors for ${doc.chunks.length} chunks`);
  }
};

/** The behaviour before batching: one request per document with its own chunks. */
const perDocument = (sim: SimulatedVllm) => {
  const send = makeEmbedRequest(makeVllmClient({ baseUrl: sim.url }), {
    baseUrl: sim.url,
    model,
  });
  return Effect.forEach(
    documents,
    (doc) =>
      send(doc.chunks.map((chunk) => ({ id: chunk.chunkId, text: chunk.text }))).pipe(
        Effect.tap((vectors) => Effect.sync(() => expectVectors(doc, vectors.length))),
      ),
    { concurrency: flags.concurrency, discard: true },
  );
};

/** The vLLM Embed stage over one batcher shared by every document. */
const batched = (sim: SimulatedVllm) =>
  Effect.scoped(Effect.gen(function* () {
    const batcher = yield* makeVllmEmbeddingBatcher({
      baseUrl: sim.url,
      model,
      maxBatchSize: flags["max-batch-size"],
      maxConcurrentRequests: flags["max-concurrent-requests"],
    });
    const stage = makeVllmEmbedStage(batcher);
    yield* Effect.forEach(
      documents,
      (doc) =>
        stage.run(contextOf(doc), inputsOf(doc), {}).pipe(
          Effect.tap((batch) => Effect.sync(() => expectVectors(doc, batch.vectors.length))),
        ),
      { concurrency: flags.concurrency, discard: true },
    );
  }));

interface Measurement {
  readonly textsPerSecond: number;
  readonly requests: number;
  readonly meanBatchSize: number;
  readonly gpuBusyPercent: number;
}

const measure = async (
  sim: SimulatedVllm,
  run: (sim: SimulatedVllm) => Effect.Effect<void, unknown>,
): Promise<Measurement> => {
  sim.reset();
  const start = performance.now();
  await Effect.runPromise(run(sim));
  const ms = performance.now() - start;
  const stats = sim.stats();
  return {
    textsPerSecond: (totalTexts * 1000) / ms,
    requests: stats.embeddingRequests,
    meanBatchSize: stats.texts / stats.embeddingRequests,
    gpuBusyPercent: (100 * stats.busyMs) / ms,
  };
};

const median = (runs: ReadonlyArray<Measurement>): Measurement =>
  [...runs].sort((a, b) => a.textsPerSecond - b.textsPerSecond)[Math.floor(runs.length / 2)];

const sim = startSimulatedVllm({
  models: [model],
  dimensions: 64,
  requestCostMs: 8,
  tokenCostMs: 0.01,
  maxConcurrentBatches: 1,
  maxInputTokens: Math.max(512, flags["words-per-chunk"]),
});
const capacity = sim.capacity.maxTextsPerSecond(flags["max-batch-size"], flags["words-per-chunk"]);
const results: Record<"perDocument" | "batched", Array<Measurement>> = {
  perDocument: [],
  batched: [],
};
try {
  // A short warm-up, so that the first measured run does not pay for compiling the code paths.
  await Effect.runPromise(batched(sim));
  for (let r = 0; r < flags.runs; r += 1) {
    results.perDocument.push(await measure(sim, perDocument));
    results.batched.push(await measure(sim, batched));
  }
} finally {
  await sim.stop();
}

const summary = (runs: ReadonlyArray<Measurement>) => {
  const m = median(runs);
  return {
    ...m,
    percentOfCapacity: (100 * m.textsPerSecond) / capacity,
    runs: runs.map((run) => Math.round(run.textsPerSecond)),
  };
};
const perDoc = summary(results.perDocument);
const coalesced = summary(results.batched);

const rows = [
  ["mode", "texts/s (median)", "% of capacity", "requests", "mean batch", "GPU busy %", "runs"],
  ...([["per-document", perDoc], ["batched", coalesced]] as const).map(([name, s]) => [
    name,
    s.textsPerSecond.toFixed(0),
    s.percentOfCapacity.toFixed(1),
    String(s.requests),
    s.meanBatchSize.toFixed(1),
    s.gpuBusyPercent.toFixed(1),
    s.runs.join(" "),
  ]),
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
console.log(
  `embed_bench: ${flags.docs} documents × ${flags["chunks-per-doc"]} chunks of ` +
    `${flags["words-per-chunk"]} words, ${flags.concurrency} at once; simulated GPU: ` +
    `${sim.capacity.requestCostMs} ms + ${sim.capacity.tokenCostMs} ms/token per batch, ` +
    `capacity ${capacity.toFixed(0)} texts/s at batches of ${flags["max-batch-size"]}`,
);
for (const row of rows) console.log(row.map((cell, c) => cell.padEnd(widths[c])).join("  "));
const ratio = coalesced.textsPerSecond / perDoc.textsPerSecond;
console.log(`batched / per-document: ${ratio.toFixed(2)}×`);
if (flags.json) {
  console.log(JSON.stringify({
    bench: "embed",
    docs: flags.docs,
    concurrency: flags.concurrency,
    chunksPerDoc: flags["chunks-per-doc"],
    wordsPerChunk: flags["words-per-chunk"],
    maxBatchSize: flags["max-batch-size"],
    maxConcurrentRequests: flags["max-concurrent-requests"],
    capacityTextsPerSecond: capacity,
    perDocument: perDoc,
    batched: coalesced,
    ratio,
  }));
}
