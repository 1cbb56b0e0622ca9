import { fc, test } from "@fast-check/vitest";
import { Effect } from "effect";
import { http, HttpResponse, type JsonBodyType } from "msw";
import { describe, expect, it } from "vitest";
import { embeddingsUrl } from "../../../adapters/vllm/vllm_client.ts";
import {
  makeVllmEmbedStage,
  type VllmEmbedderOptions,
} from "../../../adapters/vllm/vllm_embedder.ts";
import { classifyVllmOutcome } from "../../../adapters/vllm/vllm_errors.ts";
import type { StageContext } from "../../../stages/context.ts";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Transient,
} from "../../../stages/errors.ts";
import type { Chunk, ChunkSet, EmbeddingBatch } from "../../../stages/ir.ts";
import { compareStageErrorMessages, useMockServer } from "../../_fixtures/http.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

const baseUrl = "http://gpu-1:8000";
const endpoint = `${baseUrl}/v1/embeddings`;
const model = "BAAI/bge-m3";
const docId = "openalex:W1982728624";

const ctx: StageContext = {
  tenantId: "t1",
  jobId: "job-1",
  docId,
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "embed",
  attempt: 1,
  metadata: {},
};

const chunkOf = (text: string, i: number): Chunk => ({
  chunkId: `${docId}:chunk:${i}`,
  docId,
  tenantId: "t1",
  text,
  sectionId: `${docId}:section:0`,
  start: 0,
  end: text.length,
  metadata: {},
});

const chunkSet = (texts: ReadonlyArray<string>): ChunkSet => ({
  docId,
  chunks: texts.map(chunkOf),
});

const inputsFor = (chunks: ChunkSet) => ({
  request: {
    source: "openalex",
    docKey: "W1982728624",
    location: { kind: "url" as const, url: "u" },
  },
  Chunk: chunks,
});

const embed = (texts: ReadonlyArray<string>, options: Partial<VllmEmbedderOptions> = {}) =>
  makeVllmEmbedStage({ baseUrl, model, ...options }).run(ctx, inputsFor(chunkSet(texts)), {});

const embedOk = (texts: ReadonlyArray<string>, options: Partial<VllmEmbedderOptions> = {}) =>
  Effect.runPromise(embed(texts, options));

const embedFailure = (
  texts: ReadonlyArray<string>,
  options: Partial<VllmEmbedderOptions> = {},
): Promise<StageError> => Effect.runPromise(Effect.flip(embed(texts, options)));

// A deterministic stand-in for the model: [characters, words, 1].
const vectorOf = (text: string): ReadonlyArray<number> => [text.length, text.split(" ").length, 1];

interface EmbeddingsRequest {
  readonly model: string;
  readonly input: ReadonlyArray<string>;
}

const embeddingsServer = (order: "in" | "reversed" = "in") =>
  http.post(endpoint, async ({ request }) => {
    const body = (await request.json()) as EmbeddingsRequest;
    const data = body.input.map((text, index) => ({
      index,
      object: "embedding",
      embedding: vectorOf(text),
    }));
    return HttpResponse.json({
      id: "embd-1",
      object: "list",
      created: 1_760_000_000,
      model: body.model,
      data: order === "in" ? data : [...data].reverse(),
      usage: { prompt_tokens: 3, total_tokens: 3, completion_tokens: 0 },
    });
  });

const answerWith = (status: number, body: JsonBodyType) =>
  http.post(endpoint, () => HttpResponse.json(body, { status }));

const sentBodies = async (): Promise<ReadonlyArray<unknown>> =>
  (await recorder.requests()).map((r) => r.body);

const threeTexts = ["aspirin reduces fever", "gefitinib", "a much longer chunk of trial text"];

describe("makeVllmEmbedStage()", () => {
  it("posts model, inputs in order and float encoding, and returns the batch", async () => {
    server.use(embeddingsServer());
    const batch = await embedOk(threeTexts, { apiKey: "sk-local" });
    expect(batch).toEqual<EmbeddingBatch>({
      docId,
      model,
      dimensions: 3,
      vectors: threeTexts.map((text, i) => ({
        chunkId: `${docId}:chunk:${i}`,
        vector: vectorOf(text),
      })),
    });
    const sent = await recorder.requests();
    expect(sent.map(({ method, url, body }) => ({ method, url, body }))).toEqual([{
      method: "POST",
      url: endpoint,
      body: { model, input: threeTexts, encoding_format: "float" },
    }]);
    expect(sent[0].headers).toMatchObject({
      "content-type": "application/json",
      authorization: "Bearer sk-local",
    });
  });

  it("sends dimensions when set, never normalize, and no Authorization without a key", async () => {
    server.use(
      http.post(endpoint, async ({ request }) => {
        const body = (await request.json()) as EmbeddingsRequest;
        return HttpResponse.json({
          data: body.input.map((_, index) => ({ index, embedding: [0.1, 0.2] })),
        });
      }),
    );
    const batch = await embedOk(["x"], { dimensions: 2, baseUrl: `${baseUrl}/v1/` });
    expect(batch.dimensions).toBe(2);
    const sent = await recorder.requests();
    expect(sent.map((r) => [r.url, r.body])).toEqual([[
      endpoint,
      { model, input: ["x"], encoding_format: "float", dimensions: 2 },
    ]]);
    expect(Object.keys(sent[0].headers)).not.toContain("authorization");
  });

  it("sends ceil(n / maxBatchSize) requests in chunk order and reorders data by index", async () => {
    server.use(embeddingsServer("reversed"));
    const texts = ["t0", "t1 a", "t2 a b", "t3", "t4 z"];
    // One request at a time, so arrival order is send order.
    const batch = await embedOk(texts, { maxBatchSize: 2, maxConcurrentRequests: 1 });
    expect(await sentBodies()).toEqual([
      { model, input: ["t0", "t1 a"], encoding_format: "float" },
      { model, input: ["t2 a b", "t3"], encoding_format: "float" },
      { model, input: ["t4 z"], encoding_format: "float" },
    ]);
    expect(batch.vectors.map((v) => [v.chunkId, v.vector])).toEqual(
      texts.map((text, i) => [`${docId}:chunk:${i}`, vectorOf(text)]),
    );
  });

  test.prop(
    [
      fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 24 }),
      fc.integer({ min: 1, max: 8 }),
    ],
    { numRuns: 30 },
  )("batches any chunk list into ceil(n / maxBatchSize) ordered requests", async (texts, size) => {
    recorder.clear();
    server.use(embeddingsServer());
    const batch = await embedOk(texts, { maxBatchSize: size, maxConcurrentRequests: 1 });
    const bodies = (await sentBodies()) as ReadonlyArray<EmbeddingsRequest>;
    expect(bodies).toHaveLength(Math.ceil(texts.length / size));
    expect(bodies.every((b) => b.input.length <= size)).toBe(true);
    expect(bodies.flatMap((b) => b.input)).toEqual(texts);
    expect(batch.vectors.map((v) => v.vector)).toEqual(texts.map(vectorOf));
  });

  it("sends nothing for a document without chunks", async () => {
    expect(await embedOk([])).toEqual({ docId, model, dimensions: 0, vectors: [] });
    expect(await recorder.requests()).toEqual([]);
  });

  it("fails invalid options with Permanent before any request", async () => {
    expect(await embedFailure(["x"], { baseUrl: "gpu-1:8000", maxBatchSize: 0 })).toEqual(
      new Permanent({
        message:
          'invalid vLLM embedder options: baseUrl must be an http(s) URL (got "gpu-1:8000"); ' +
          "maxBatchSize must be a positive integer (got 0)",
      }),
    );
    expect(await recorder.requests()).toEqual([]);
  });
});

const oomMessage =
  "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. GPU 0 has a total " +
  "capacity of 11.53 GiB of which 187.75 MiB is free.";
const engineMessage =
  "EngineCore encountered an issue. See stack trace (above) for the root cause.";
const tooLongMessage =
  "You passed 9000 input tokens and requested 0 output tokens. However, the model's context " +
  "length is only 8192 tokens, resulting in a maximum input length of 8192 tokens. Please " +
  "reduce the length of the input prompt.";
const oldTooLongMessage =
  "This model's maximum context length is 512 tokens. However, you requested 1451 tokens in " +
  "the input for embedding generation. Please reduce the length of the input.";

const nested = (message: string, type: string, code: number, param: string | null = null) => ({
  error: { message, type, param, code },
});
const flat = (message: string, type: string, code: number, param: string | null = null) => ({
  object: "error",
  message,
  type,
  param,
  code,
});

describe("makeVllmEmbedStage() error classification", () => {
  const shapes = [["nested", nested], ["flat", flat]] as const;

  it.each(shapes)(
    "fails CUDA OOM (%s body) with GpuOutOfMemory after one request",
    async (_s, shape) => {
      server.use(answerWith(500, shape(oomMessage, "InternalServerError", 500)));
      // The failed document's chunks still queued are dropped, not sent.
      expect(await embedFailure(threeTexts, { maxBatchSize: 1, maxConcurrentRequests: 1 }))
        .toEqual(new GpuOutOfMemory({ message: `POST ${endpoint}: HTTP 500: ${oomMessage}` }));
      expect(await sentBodies()).toEqual([
        { model, input: [threeTexts[0]], encoding_format: "float" },
      ]);
    },
  );

  it.each(shapes)("fails a dead engine (%s body) with GpuUnavailable", async (_s, shape) => {
    server.use(answerWith(500, shape(engineMessage, "InternalServerError", 500)));
    expect(await embedFailure(threeTexts)).toEqual(
      new GpuUnavailable({ message: `POST ${endpoint}: HTTP 500: ${engineMessage}` }),
    );
    expect(await recorder.requests()).toHaveLength(1);
  });

  it("fails a 503 with GpuUnavailable", async () => {
    server.use(
      http.post(endpoint, () => HttpResponse.text("Service Unavailable", { status: 503 })),
    );
    expect(await embedFailure(threeTexts)).toEqual(
      new GpuUnavailable({ message: `POST ${endpoint}: HTTP 503: Service Unavailable` }),
    );
  });

  it("fails a refused connection with GpuUnavailable", async () => {
    const calls: Array<string> = [];
    const refused = ((input: RequestInfo | URL) => {
      calls.push(String(input));
      return Promise.reject(
        new TypeError("fetch failed", {
          cause: new Error("tcp connect error: Connection refused (os error 111)"),
        }),
      );
    }) as typeof fetch;
    expect(await embedFailure(threeTexts, { fetch: refused })).toEqual(
      new GpuUnavailable({
        message:
          `POST ${endpoint}: network error: tcp connect error: Connection refused (os error 111)`,
      }),
    );
    expect(calls).toEqual([endpoint]);
  });

  it("fails a too-long input (current body, param input_tokens) with InvalidInput naming the chunk", async () => {
    server.use(answerWith(400, nested(tooLongMessage, "BadRequestError", 400, "input_tokens")));
    expect(await embedFailure(["x".repeat(40_000)])).toEqual(
      new InvalidInput({
        message: `chunk ${docId}:chunk:0 is too long for model ${model}: ${tooLongMessage}`,
        path: `${docId}:chunk:0`,
      }),
    );
  });

  it("names the longest chunk of a batch for the older flat too-long body", async () => {
    server.use(answerWith(400, flat(oldTooLongMessage, "BadRequestError", 400)));
    expect(await embedFailure(threeTexts)).toEqual(
      new InvalidInput({
        message: `chunk ${docId}:chunk:2 is too long for model ${model} (the longest of 3 in the ` +
          `request): ${oldTooLongMessage}`,
        path: `${docId}:chunk:2`,
      }),
    );
  });

  it("fails a chunk over maxInputChars with InvalidInput before any request", async () => {
    expect(await embedFailure(["short", "ééééé"], { maxInputChars: 4 })).toEqual(
      new InvalidInput({
        message: `chunk ${docId}:chunk:0 has 5 characters, more than maxInputChars 4`,
        path: `${docId}:chunk:0`,
      }),
    );
    expect(await recorder.requests()).toEqual([]);
  });

  it.each(shapes)("fails an unknown model (%s body) with Permanent", async (_s, shape) => {
    const message = `The model \`${model}\` does not exist.`;
    server.use(answerWith(404, shape(message, "NotFoundError", 404)));
    expect(await embedFailure(threeTexts)).toEqual(
      new Permanent({ message: `POST ${endpoint}: HTTP 404: ${message}` }),
    );
  });

  it("fails another 400 (a rejected request parameter) with Permanent", async () => {
    const message = "Parameter `normalize` was removed; use `use_activation` instead.";
    server.use(answerWith(400, nested(message, "BadRequestError", 400)));
    expect(await embedFailure(threeTexts)).toEqual(
      new Permanent({ message: `POST ${endpoint}: HTTP 400: ${message}` }),
    );
  });

  it("leaves gateway answers to the generic mapping (429 RateLimited, 502 Transient)", async () => {
    server.use(
      http.post(
        endpoint,
        () => new HttpResponse(null, { status: 429, headers: { "retry-after": "3" } }),
      ),
    );
    expect(await embedFailure(threeTexts)).toEqual(
      new RateLimited({ message: `POST ${endpoint}: HTTP 429`, retryAfterMs: 3000 }),
    );
    server.use(http.post(endpoint, () => new HttpResponse(null, { status: 502 })));
    expect(await embedFailure(threeTexts)).toEqual(
      new Transient({ message: `POST ${endpoint}: HTTP 502` }),
    );
  });
});

describe("classifyVllmOutcome()", () => {
  const outcome = (status: number, message: string) => ({
    kind: "status" as const,
    method: "POST",
    url: endpoint,
    status,
    headers: new Headers(),
    text: JSON.stringify(nested(message, "InternalServerError", status)),
  });

  it.each(
    [
      [500, "CUDA error: an illegal memory access was encountered", "GpuUnavailable"],
      [500, "CUBLAS_STATUS_EXECUTION_FAILED when calling cublasGemmEx", "GpuUnavailable"],
      [500, "NCCL error: unhandled cuda error", "GpuUnavailable"],
      [
        500,
        "Free memory on device (0.75/14.57 GiB) on startup is less than desired",
        "GpuUnavailable",
      ],
      [500, "MQLLMEngine is already dead, terminating server process", "GpuUnavailable"],
      [503, "anything", "GpuUnavailable"],
      [500, "torch.cuda.OutOfMemoryError: CUDA out of memory.", "GpuOutOfMemory"],
      [400, "CUDA out of memory. Tried to allocate 2.00 GiB", "GpuOutOfMemory"],
      [500, "Internal Server Error", undefined],
      [
        400,
        "truncate_prompt_tokens=9000 cannot be greater than max_model_len - 0 = 8192. Please request a smaller truncation size.",
        "Permanent",
      ],
    ] as const,
  )("reads HTTP %i %j as %s", (status, message, tag) => {
    expect(classifyVllmOutcome(outcome(status, message), model, [{ id: "c0", text: "a" }])?._tag)
      .toBe(tag);
  });
});

describe("makeVllmEmbedStage() response validation", () => {
  const malformed = `POST ${endpoint}: malformed embeddings response`;

  it.each([
    [
      "base64 embeddings",
      { data: [{ index: 0, embedding: "AAAA" }] },
      `${malformed}: data[0].embedding: Invalid input: expected array, received string`,
    ],
    [
      "a missing data list",
      { object: "list" },
      `${malformed}: data: Invalid input: expected array, received undefined`,
    ],
    [
      "fewer embeddings than inputs",
      { data: [{ index: 0, embedding: [1, 2] }] },
      `${malformed}: 1 embeddings for 2 inputs`,
    ],
    [
      "duplicate indexes",
      { data: [{ index: 0, embedding: [1, 2] }, { index: 0, embedding: [3, 4] }] },
      `${malformed}: indexes are not 0…1 (index 0)`,
    ],
    [
      "vectors of different lengths",
      { data: [{ index: 0, embedding: [1, 2] }, { index: 1, embedding: [3] }] },
      `${malformed}: embedding 1 has 1 dimensions, expected 2`,
    ],
  ])("fails %s with Permanent", async (_name, body, message) => {
    server.use(answerWith(200, body));
    expect(await embedFailure(["a", "b"])).toEqual(new Permanent({ message }));
  });

  it("fails vectors not of the requested dimensions with Permanent", async () => {
    server.use(answerWith(200, { data: [{ index: 0, embedding: [1, 2, 3] }] }));
    expect(await embedFailure(["a"], { dimensions: 2 })).toEqual(
      new Permanent({ message: `${malformed}: embedding 0 has 3 dimensions, expected 2` }),
    );
  });

  it("fails a truncated response body with Transient", async () => {
    server.use(
      http.post(endpoint, () => HttpResponse.text('{"data":[{"index":0,"embedding":[0.1,')),
    );
    expect(await embedFailure(["a"])).toEqual(
      new Transient({ message: `POST ${endpoint}: HTTP 200: truncated JSON body (37 characters)` }),
    );
  });
});

describe("embeddingsUrl()", () => {
  it.each([
    ["http://gpu-1:8000", endpoint],
    ["http://gpu-1:8000/", endpoint],
    ["http://gpu-1:8000/v1", endpoint],
    ["https://gw.example.org/vllm/v1/", "https://gw.example.org/vllm/v1/embeddings"],
  ])("maps %s to %s", (input, expected) => {
    expect(embeddingsUrl(input)).toBe(expected);
  });
});
