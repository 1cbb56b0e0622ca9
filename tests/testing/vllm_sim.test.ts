import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  approximateTokens,
  capacityModel,
  simulatedEmbedding,
  startSimulatedVllm,
} from "../../testing/vllm_sim.ts";

const model = "BAAI/bge-m3";
const sim = startSimulatedVllm({ models: [model, "intfloat/e5-small"], dimensions: 8 });
afterEach(() => {
  sim.set({ failure: "none", errorShape: "nested", extraLatencyMs: 0, maxInputTokens: 512 });
  sim.reset();
});
afterAll(() => sim.stop());

const post = async (body: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${sim.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
};

const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe("simulatedEmbedding()", () => {
  it("gives each text its own deterministic unit vector, Matryoshka-style when shorter", () => {
    const a = simulatedEmbedding("aspirin reduces fever", 8);
    expect(simulatedEmbedding("aspirin reduces fever", 8)).toEqual(a);
    expect(simulatedEmbedding("gefitinib", 8)).not.toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 12);
    const head = a.slice(0, 3);
    expect(simulatedEmbedding("aspirin reduces fever", 3).map((x) => x * norm(head)))
      .toEqual(head.map((x) => expect.closeTo(x, 12)));
  });
});

describe("capacityModel() and approximateTokens()", () => {
  it("computes batch cost and the ceiling on texts per second", () => {
    const capacity = capacityModel({
      requestCostMs: 8,
      tokenCostMs: 0.01,
      maxConcurrentBatches: 2,
    });
    expect(capacity.batchCostMs(3200)).toBe(40);
    expect(capacity.maxTextsPerSecond(64, 50)).toBe(3200);
    expect(approximateTokens("  one two\tthree\n")).toBe(3);
    expect(approximateTokens("")).toBe(1);
  });
});

describe("startSimulatedVllm()", () => {
  it("answers POST /v1/embeddings as vLLM does, one vector per text in order", async () => {
    const texts = ["aspirin reduces fever", "gefitinib"];
    const { status, body } = await post({ model, input: texts, encoding_format: "float" });
    expect(status).toBe(200);
    expect(body).toEqual({
      id: expect.stringMatching(/^embd-[0-9a-f-]{36}$/),
      object: "list",
      created: expect.any(Number),
      model,
      data: texts.map((text, index) => ({
        index,
        object: "embedding",
        embedding: simulatedEmbedding(text, 8),
      })),
      usage: {
        prompt_tokens: 4,
        total_tokens: 4,
        completion_tokens: 0,
        prompt_tokens_details: null,
      },
    });
    expect(sim.stats()).toEqual({
      received: ["POST /v1/embeddings"],
      embeddingRequests: 1,
      texts: 2,
      batchSizes: [2],
      bodies: [{ model, input: texts, encoding_format: "float" }],
      peakConcurrentRequests: 1,
      busyMs: sim.capacity.batchCostMs(4),
    });
  });

  it("takes a single string, dimensions and base64 encoding", async () => {
    const one = await post({ model, input: "aspirin", dimensions: 3 });
    expect(one.body.data).toEqual([
      { index: 0, object: "embedding", embedding: simulatedEmbedding("aspirin", 3) },
    ]);
    const packed = await post({ model, input: ["aspirin"], encoding_format: "base64" });
    const bytes = Uint8Array.from(atob(packed.body.data[0].embedding), (c) => c.charCodeAt(0));
    expect([...new Float32Array(bytes.buffer)]).toEqual(
      [...new Float32Array(simulatedEmbedding("aspirin", 8))],
    );
    expect(sim.stats().batchSizes).toEqual([1, 1]);
  });

  it("lists its models and reports health", async () => {
    const models = await (await fetch(`${sim.url}/v1/models`)).json();
    expect(models).toEqual({
      object: "list",
      data: [model, "intfloat/e5-small"].map((id) => ({
        id,
        object: "model",
        created: expect.any(Number),
        owned_by: "vllm",
        root: id,
        parent: null,
        max_model_len: 512,
        permission: [],
      })),
    });
    const health = await fetch(`${sim.url}/health`);
    expect([health.status, await health.text()]).toEqual([200, ""]);
    expect(sim.stats().received).toEqual(["GET /v1/models", "GET /health"]);
  });

  it("answers 503 on /health and /v1/embeddings while unavailable", async () => {
    sim.set({ failure: "unavailable" });
    expect((await fetch(`${sim.url}/health`)).status).toBe(503);
    expect(await post({ model, input: ["a"] })).toEqual({
      status: 503,
      body: {
        error: {
          message: "Service Unavailable",
          type: "ServiceUnavailableError",
          param: null,
          code: 503,
        },
      },
    });
  });

  const oom = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. " +
    "GPU 0 has a total capacity of 11.53 GiB of which 187.75 MiB is free.";

  it("answers CUDA out of memory with 500 in the nested and in the flat body", async () => {
    sim.set({ failure: "out-of-memory" });
    const error = { message: oom, type: "InternalServerError", param: null, code: 500 };
    expect(await post({ model, input: ["a"] })).toEqual({ status: 500, body: { error } });
    sim.set({ errorShape: "flat" });
    expect(await post({ model, input: ["a"] })).toEqual({
      status: 500,
      body: { object: "error", ...error },
    });
    expect(sim.stats().busyMs).toBe(0);
  });

  it("rejects an input over maxInputTokens with vLLM's 400", async () => {
    sim.set({ maxInputTokens: 3 });
    expect(await post({ model, input: ["short", "one two three four five"] })).toEqual({
      status: 400,
      body: {
        error: {
          message: "You passed 5 input tokens and requested 0 output tokens. However, the " +
            "model's context length is only 3 tokens, resulting in a maximum input length of 3 " +
            "tokens. Please reduce the length of the input prompt.",
          type: "BadRequestError",
          param: "input_tokens",
          code: 400,
        },
      },
    });
  });

  it("answers 404 for an unknown model and 400 for a malformed body", async () => {
    expect(await post({ model: "nope", input: ["a"] })).toEqual({
      status: 404,
      body: {
        error: {
          message: "The model `nope` does not exist.",
          type: "NotFoundError",
          param: null,
          code: 404,
        },
      },
    });
    sim.set({ errorShape: "flat" });
    expect(await post({ model, input: [] })).toEqual({
      status: 400,
      body: {
        object: "error",
        message: "input: Too small: expected array to have >=1 items",
        type: "BadRequestError",
        param: null,
        code: 400,
      },
    });
  });

  it("answers later by extraLatencyMs: a request sent after a slowed one overtakes it", async () => {
    sim.set({ extraLatencyMs: 300 });
    const order: Array<string> = [];
    const slow = post({ model, input: ["slow"] }).then(() => order.push("slow"));
    // Wait until the slowed request has arrived before switching back.
    while (sim.stats().embeddingRequests === 0) await new Promise((r) => setTimeout(r, 1));
    sim.set({ extraLatencyMs: 0 });
    await post({ model, input: ["fast"] }).then(() => order.push("fast"));
    await slow;
    expect(order).toEqual(["fast", "slow"]);
  });
});

describe("startSimulatedVllm() with an API key", () => {
  it("requires the bearer key on /v1/* but not on /health", async () => {
    const guarded = startSimulatedVllm({ models: [model], apiKey: "sk-sim" });
    try {
      const denied = await fetch(`${guarded.url}/v1/models`);
      expect([denied.status, await denied.json()]).toEqual([401, { error: "Unauthorized" }]);
      const allowed = await fetch(`${guarded.url}/v1/models`, {
        headers: { authorization: "Bearer sk-sim" },
      });
      expect(allowed.status).toBe(200);
      await allowed.body?.cancel();
      expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });
});
