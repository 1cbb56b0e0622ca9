// The vLLM Embed stage and readiness check against the simulated vLLM server: real HTTP on
// loopback through the `openai` client.
import { Effect, Exit, Result } from "effect";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  makeVllmEmbeddingBatcher,
  makeVllmEmbedStage,
  type VllmEmbedderOptions,
} from "../../../adapters/vllm/vllm_embedder.ts";
import { checkVllmHealth } from "../../../adapters/vllm/vllm_health.ts";
import type { StageContext } from "../../../stages/context.ts";
import { GpuOutOfMemory, GpuUnavailable, InvalidInput, Permanent } from "../../../stages/errors.ts";
import type { ChunkSet, EmbeddingBatch } from "../../../stages/ir.ts";
import { simulatedEmbedding, startSimulatedVllm } from "../../../testing/vllm_sim.ts";

const model = "BAAI/bge-m3";
const sim = startSimulatedVllm({ models: [model], dimensions: 16, maxInputTokens: 40 });
afterEach(() => {
  sim.set({ failure: "none", errorShape: "nested", extraLatencyMs: 0, maxInputTokens: 40 });
  sim.reset();
});
afterAll(() => sim.stop());

const ctxOf = (docId: string): StageContext => ({
  tenantId: "t1",
  jobId: `job-${docId}`,
  docId,
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "embed",
  attempt: 1,
  metadata: {},
});

const chunkSet = (docId: string, texts: ReadonlyArray<string>): ChunkSet => ({
  docId,
  chunks: texts.map((text, i) => ({
    chunkId: `${docId}:chunk:${i}`,
    docId,
    tenantId: "t1",
    text,
    sectionId: `${docId}:section:0`,
    start: 0,
    end: text.length,
    metadata: {},
  })),
});

const inputsFor = (chunks: ChunkSet) => ({
  request: {
    source: "openalex",
    docKey: chunks.docId,
    location: { kind: "url" as const, url: "u" },
  },
  Chunk: chunks,
});

const documents = (count: number, chunksEach: number) =>
  Array.from({ length: count }, (_, d) =>
    chunkSet(
      `doc${d}`,
      Array.from({ length: chunksEach }, (_, c) => `document ${d} chunk ${c} about trials`),
    ));

const batchOf = (doc: ChunkSet): EmbeddingBatch => ({
  docId: doc.docId,
  model,
  dimensions: 16,
  vectors: doc.chunks.map((c) => ({ chunkId: c.chunkId, vector: simulatedEmbedding(c.text, 16) })),
});

const options = (more: Partial<VllmEmbedderOptions> = {}): VllmEmbedderOptions => ({
  baseUrl: sim.url,
  model,
  ...more,
});

const embedAll = (docs: ReadonlyArray<ChunkSet>, more: Partial<VllmEmbedderOptions> = {}) => {
  const stage = makeVllmEmbedStage(options(more));
  return Effect.runPromise(Effect.forEach(
    docs,
    (doc) => Effect.result(stage.run(ctxOf(doc.docId), inputsFor(doc), {})),
    { concurrency: "unbounded" },
  ));
};

describe("makeVllmEmbedStage() against the simulated vLLM server", () => {
  it("coalesces 16 concurrent documents into full requests, each getting its own vectors", async () => {
    const docs = documents(16, 5);
    const results = await embedAll(docs, { maxBatchSize: 32 });
    expect(results).toEqual(docs.map((doc) => Result.succeed(batchOf(doc))));
    const stats = sim.stats();
    // 80 texts in requests of 32: three requests instead of sixteen.
    expect(stats.batchSizes).toEqual([32, 32, 16]);
    const sent = stats.bodies as ReadonlyArray<{ input: ReadonlyArray<string> }>;
    expect(sent.flatMap((body) => body.input)).toEqual(
      docs.flatMap((d) => d.chunks.map((c) => c.text)),
    );
    expect(stats.bodies[0]).toEqual({
      model,
      input: docs.flatMap((d) => d.chunks.map((c) => c.text)).slice(0, 32),
      encoding_format: "float",
    });
  });

  it("fails only the document with an over-long chunk, with vLLM's message naming the chunk", async () => {
    const docs = documents(4, 2);
    const long = Array.from({ length: 50 }, (_, i) => `word${i}`).join(" ");
    const withLong = chunkSet("doc-long", ["short chunk", long]);
    const all = [docs[0], docs[1], withLong, docs[2], docs[3]];
    const results = await embedAll(all);
    const remote = "You passed 50 input tokens and requested 0 output tokens. However, the " +
      "model's context length is only 40 tokens, resulting in a maximum input length of 40 " +
      "tokens. Please reduce the length of the input prompt.";
    expect(results).toEqual([
      Result.succeed(batchOf(docs[0])),
      Result.succeed(batchOf(docs[1])),
      Result.fail(
        new InvalidInput({
          message: `chunk doc-long:chunk:1 is too long for model ${model} (the longest of 2 in ` +
            `the request): ${remote}`,
          path: "doc-long:chunk:1",
        }),
      ),
      Result.succeed(batchOf(docs[2])),
      Result.succeed(batchOf(docs[3])),
    ]);
    // All five → [doc0, doc1, doc-long] → [doc0, doc1], [doc-long] → [doc2, doc3].
    const sent = sim.stats().bodies as ReadonlyArray<{ input: ReadonlyArray<string> }>;
    const docsOf = (
      texts: ReadonlyArray<string>,
    ) => [...new Set(texts.map((t) => all.find((d) => d.chunks.some((c) => c.text === t))!.docId))];
    expect(sent.map((body) => docsOf(body.input))).toEqual([
      ["doc0", "doc1", "doc-long", "doc2", "doc3"],
      ["doc0", "doc1", "doc-long"],
      ["doc0", "doc1"],
      ["doc-long"],
      ["doc2", "doc3"],
    ]);
  });

  it.each(["nested", "flat"] as const)(
    "fails every document of a request with GpuOutOfMemory (%s body) and sends it once",
    async (errorShape) => {
      sim.set({ failure: "out-of-memory", errorShape });
      const docs = documents(3, 2);
      const results = await embedAll(docs);
      const oom = new GpuOutOfMemory({
        message: `POST ${sim.url}/v1/embeddings: HTTP 500: torch.OutOfMemoryError: CUDA out of ` +
          "memory. Tried to allocate 224.00 MiB. GPU 0 has a total capacity of 11.53 GiB of " +
          "which 187.75 MiB is free.",
      });
      expect(results).toEqual(docs.map(() => Result.fail(oom)));
      expect(sim.stats().batchSizes).toEqual([6]);
    },
  );

  it("fails every document with GpuUnavailable while the server answers 503", async () => {
    sim.set({ failure: "unavailable" });
    const results = await embedAll(documents(2, 1));
    const down = new GpuUnavailable({
      message: `POST ${sim.url}/v1/embeddings: HTTP 503: Service Unavailable`,
    });
    expect(results).toEqual([Result.fail(down), Result.fail(down)]);
    expect(sim.stats().embeddingRequests).toBe(1);
  });

  it("keeps at most maxConcurrentRequests requests open at the server", async () => {
    sim.set({ extraLatencyMs: 50 });
    const docs = documents(12, 4);
    const results = await embedAll(docs, { maxBatchSize: 4, maxConcurrentRequests: 2 });
    expect(results).toEqual(docs.map((doc) => Result.succeed(batchOf(doc))));
    const stats = sim.stats();
    expect(stats.batchSizes).toEqual(docs.map(() => 4));
    expect(stats.peakConcurrentRequests).toBe(2);
  });

  it("shares one scoped batcher between stage values", async () => {
    const docs = documents(2, 3);
    const exits = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const batcher = yield* makeVllmEmbeddingBatcher(options());
      const [a, b] = [makeVllmEmbedStage(batcher), makeVllmEmbedStage(batcher)];
      return yield* Effect.all([
        Effect.exit(a.run(ctxOf("doc0"), inputsFor(docs[0]), {})),
        Effect.exit(b.run(ctxOf("doc1"), inputsFor(docs[1]), {})),
      ], { concurrency: "unbounded" });
    })));
    expect(exits).toEqual([Exit.succeed(batchOf(docs[0])), Exit.succeed(batchOf(docs[1]))]);
    expect(sim.stats().batchSizes).toEqual([6]);
  });
});

describe("checkVllmHealth() against the simulated vLLM server", () => {
  it("succeeds when the server is healthy and lists the model", async () => {
    await Effect.runPromise(checkVllmHealth(sim.url, { model }));
    expect(sim.stats().received).toEqual(["GET /health", "GET /v1/models"]);
  });

  it("fails with Permanent when the model is not served", async () => {
    expect(await Effect.runPromise(Effect.flip(checkVllmHealth(sim.url, { model: "other/m" }))))
      .toEqual(
        new Permanent({
          message: `vLLM at ${sim.url} is not serving model other/m (serves: ${model})`,
        }),
      );
  });

  it("fails with GpuUnavailable when the engine is down or the server is gone", async () => {
    sim.set({ failure: "unavailable" });
    expect(await Effect.runPromise(Effect.flip(checkVllmHealth(sim.url, { model })))).toEqual(
      new GpuUnavailable({ message: `GET ${sim.url}/health: HTTP 503` }),
    );
    const gone = startSimulatedVllm({ models: [model] });
    await gone.stop();
    const error = await Effect.runPromise(Effect.flip(checkVllmHealth(gone.url, { model })));
    expect(error._tag).toBe("GpuUnavailable");
    expect(error.message).toMatch(
      new RegExp(`^GET ${gone.url}/health: network error: .*Connection refused`),
    );
  });
});
