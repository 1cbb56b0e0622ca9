// The process-wide batcher registry against the simulated vLLM server: real HTTP on loopback
// through the `openai` client.
import { Effect, Exit, Fiber } from "effect";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  closeSharedVllmBatchers,
  sharedVllmBatcher,
  vllmBatcherKey,
} from "../../../adapters/vllm/shared_batcher.ts";
import {
  makeVllmEmbedStage,
  type VllmEmbedderOptions,
} from "../../../adapters/vllm/vllm_embedder.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, Permanent, Transient } from "../../../stages/errors.ts";
import type { ChunkSet, EmbeddingBatch } from "../../../stages/ir.ts";
import { simulatedEmbedding, startSimulatedVllm } from "../../../testing/vllm_sim.ts";

const model = "BAAI/bge-m3";
const sim = startSimulatedVllm({ models: [model], dimensions: 16 });
afterEach(async () => {
  await Effect.runPromise(closeSharedVllmBatchers);
  sim.reset();
});
afterAll(() => sim.stop());

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

const inputsFor = (chunks: ChunkSet) => ({
  request: {
    source: "openalex",
    docKey: chunks.docId,
    location: { kind: "url" as const, url: "u" },
  },
  Chunk: chunks,
});

const trials = chunkSet("trials:NCT00763412", ["aspirin reduces fever", "gefitinib arm"]);
const papers = chunkSet("openalex:W1982728624", ["a cohort study", "of adverse events", "in 2007"]);

const batchOf = (doc: ChunkSet, dimensions: number): EmbeddingBatch => ({
  docId: doc.docId,
  model,
  dimensions,
  vectors: doc.chunks.map((c) => ({
    chunkId: c.chunkId,
    vector: simulatedEmbedding(c.text, dimensions),
  })),
});

// Each document through its own stage value, both at once: the way two jobs embed.
const runBoth = (first: VllmEmbedderOptions, second: VllmEmbedderOptions) =>
  Effect.runPromise(Effect.all([
    Effect.exit(
      makeVllmEmbedStage(sharedVllmBatcher(first)).run(ctxOf("a"), inputsFor(trials), {}),
    ),
    Effect.exit(
      makeVllmEmbedStage(sharedVllmBatcher(second)).run(ctxOf("b"), inputsFor(papers), {}),
    ),
  ], { concurrency: "unbounded" }));

const inputsSent = () =>
  (sim.stats().bodies as ReadonlyArray<{ input: ReadonlyArray<string> }>).map((b) => b.input);

describe("sharedVllmBatcher()", () => {
  it("gives stages of the same server, model and dimensions one batcher: one request for both", async () => {
    const exits = await runBoth(
      { baseUrl: sim.url, model },
      { baseUrl: `${sim.url}/v1/`, model, maxInputChars: 100 },
    );
    expect(exits).toEqual([Exit.succeed(batchOf(trials, 16)), Exit.succeed(batchOf(papers, 16))]);
    expect(sim.stats().bodies).toEqual([{
      model,
      input: [...trials.chunks, ...papers.chunks].map((c) => c.text),
      encoding_format: "float",
    }]);
  });

  it("keeps one batcher per requested dimensions", async () => {
    const exits = await runBoth(
      { baseUrl: sim.url, model, dimensions: 8 },
      { baseUrl: sim.url, model },
    );
    expect(exits).toEqual([Exit.succeed(batchOf(trials, 8)), Exit.succeed(batchOf(papers, 16))]);
    expect(sim.stats().bodies).toEqual([
      { model, input: trials.chunks.map((c) => c.text), encoding_format: "float", dimensions: 8 },
      { model, input: papers.chunks.map((c) => c.text), encoding_format: "float" },
    ]);
  });

  it("applies each stage's own maxInputChars to a shared batcher", async () => {
    const exits = await runBoth(
      { baseUrl: sim.url, model, maxInputChars: 10 },
      { baseUrl: sim.url, model },
    );
    expect(exits).toEqual([
      Exit.fail(
        new InvalidInput({
          message: "chunk trials:NCT00763412:chunk:0 has 21 characters, more than maxInputChars 10",
          path: "trials:NCT00763412:chunk:0",
        }),
      ),
      Exit.succeed(batchOf(papers, 16)),
    ]);
    expect(inputsSent()).toEqual([papers.chunks.map((c) => c.text)]);
  });

  it("fails a configuration of the same key with other batching or connection options with Permanent, before any request", async () => {
    const exits = await runBoth(
      { baseUrl: sim.url, model, maxBatchSize: 32 },
      { baseUrl: sim.url, model, maxBatchSize: 8, apiKey: "sk-other", lingerMs: 5 },
    );
    expect(exits).toEqual([
      Exit.succeed(batchOf(trials, 16)),
      Exit.fail(
        new Permanent({
          message: `vLLM batcher for ${sim.url} model ${model} is shared and configured ` +
            "otherwise: this configuration asks maxBatchSize 8 (the shared batcher has 32); " +
            "a different apiKey",
        }),
      ),
    ]);
    expect(inputsSent()).toEqual([trials.chunks.map((c) => c.text)]);
  });

  it("does not register invalid options", async () => {
    const invalid = await runBoth(
      { baseUrl: sim.url, model, maxBatchSize: 0 },
      { baseUrl: sim.url, model, maxBatchSize: 2 },
    );
    expect(invalid).toEqual([
      Exit.fail(
        new Permanent({
          message: "invalid vLLM embedder options: maxBatchSize must be a positive integer (got 0)",
        }),
      ),
      Exit.succeed(batchOf(papers, 16)),
    ]);
    expect(sim.stats().batchSizes).toEqual([2, 1]);
  });
});

describe("closeSharedVllmBatchers()", () => {
  it("fails waiting callers with Transient, aborts their request, and lets a new batcher be made", async () => {
    const aborted: Array<string> = [];
    let called!: () => void;
    const requestSent = new Promise<void>((resolve) => (called = resolve));
    // A server that never answers: the request stays in flight until it is aborted.
    const hanging =
      ((input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_, reject) => {
          called();
          init?.signal?.addEventListener("abort", () => {
            aborted.push(String(input));
            reject(init.signal?.reason);
          });
        })) as typeof fetch;
    const stage = makeVllmEmbedStage(
      sharedVllmBatcher({ baseUrl: sim.url, model, fetch: hanging }),
    );
    const fiber = Effect.runFork(stage.run(ctxOf("a"), inputsFor(trials), {}));
    await requestSent;
    await Effect.runPromise(closeSharedVllmBatchers);
    expect(await Effect.runPromise(Fiber.await(fiber))).toEqual(
      Exit.fail(new Transient({ message: "the embedding batcher closed before answering" })),
    );
    expect(aborted).toEqual([`${sim.url}/v1/embeddings`]);
    // The same key with other options is a new batcher now, not a conflict.
    const exits = await runBoth(
      { baseUrl: sim.url, model, maxBatchSize: 3 },
      { baseUrl: sim.url, model, maxBatchSize: 3 },
    );
    expect(exits).toEqual([Exit.succeed(batchOf(trials, 16)), Exit.succeed(batchOf(papers, 16))]);
    expect(sim.stats().batchSizes).toEqual([3, 2]);
  });
});

describe("vllmBatcherKey()", () => {
  it.each([
    ["http://gpu-1:8000", "http://GPU-1:8000/v1/", true],
    ["http://gpu-1:80", "http://gpu-1", true],
    ["http://gpu-1:8000", "http://gpu-2:8000", false],
    ["https://gw.example.org/vllm/v1", "https://gw.example.org/vllm", true],
  ])("%s and %s are the same server: %s", (a, b, same) => {
    expect(vllmBatcherKey({ baseUrl: a, model }) === vllmBatcherKey({ baseUrl: b, model }))
      .toBe(same);
  });

  it("tells models and dimensions apart", () => {
    const baseUrl = "http://gpu-1:8000";
    expect(vllmBatcherKey({ baseUrl, model, dimensions: 768 })).toBe(
      JSON.stringify(["http://gpu-1:8000", model, 768]),
    );
    expect(vllmBatcherKey({ baseUrl, model })).toBe(
      JSON.stringify(["http://gpu-1:8000", model, null]),
    );
    expect(vllmBatcherKey({ baseUrl, model: "other" })).not.toBe(
      vllmBatcherKey({ baseUrl, model }),
    );
  });
});
