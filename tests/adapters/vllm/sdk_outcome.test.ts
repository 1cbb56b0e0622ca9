// What the `openai` client throws for each answer vLLM (or a gateway) gives, and how the kit
// reads it: the error class, the outcome, the stage error, and the request that was sent.
import { Effect, Fiber, Result } from "effect";
import { it as effectIt } from "@effect/vitest";
import { TestClock } from "effect/testing";
import { delay, http, HttpResponse, type JsonBodyType } from "msw";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { makeEmbedRequest } from "../../../adapters/vllm/embeddings_request.ts";
import { sdkOutcome } from "../../../adapters/vllm/sdk_outcome.ts";
import { makeVllmClient } from "../../../adapters/vllm/vllm_client.ts";
import {
  makeVllmEmbeddingBatcher,
  makeVllmEmbedStage,
} from "../../../adapters/vllm/vllm_embedder.ts";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Transient,
} from "../../../stages/errors.ts";
import type { ChunkSet } from "../../../stages/ir.ts";
import { compareStageErrorMessages, useMockServer } from "../../_fixtures/http.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

const baseUrl = "http://gpu-1:8000";
const endpoint = `${baseUrl}/v1/embeddings`;
const model = "BAAI/bge-m3";
const inputs = [{ id: "doc:chunk:0", text: "aspirin" }, { id: "doc:chunk:1", text: "fever" }];

const oom = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB.";
const engine = "EngineCore encountered an issue. See stack trace (above) for the root cause.";
const tooLong = "You passed 9000 input tokens and requested 0 output tokens. However, the " +
  "model's context length is only 8192 tokens, resulting in a maximum input length of 8192 " +
  "tokens. Please reduce the length of the input prompt.";
const noModel = `The model \`${model}\` does not exist.`;

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

const thrownBy = async (status: number, body: JsonBodyType | string, headers = {}) => {
  server.use(
    http.post(
      endpoint,
      () =>
        typeof body === "string"
          ? HttpResponse.text(body, { status, headers })
          : HttpResponse.json(body, { status, headers }),
    ),
  );
  const client = makeVllmClient({ baseUrl });
  try {
    await client.embeddings.create({ model, input: ["aspirin"], encoding_format: "float" });
  } catch (error) {
    return error;
  }
  throw new Error("the request did not fail");
};

const send = makeEmbedRequest(makeVllmClient({ baseUrl, apiKey: "sk-local" }), {
  baseUrl,
  model,
  dimensions: 2,
});

const sentRequests = async () =>
  (await recorder.requests()).map(({ method, url, headers, body }) => ({
    method,
    url,
    authorization: headers.authorization,
    contentType: headers["content-type"],
    body,
  }));

const sentOnce = [{
  method: "POST",
  url: endpoint,
  authorization: "Bearer sk-local",
  contentType: "application/json",
  body: { model, input: ["aspirin", "fever"], encoding_format: "float", dimensions: 2 },
}];

describe("sdkOutcome() over what the openai client throws", () => {
  const shapes = [["nested", nested], ["flat", flat]] as const;

  it.each(shapes)("reads both vLLM bodies (%s) from the SDK's status errors", async (_s, shape) => {
    const cases = [
      [500, shape(oom, "InternalServerError", 500), OpenAI.InternalServerError],
      [400, shape(tooLong, "BadRequestError", 400, "input_tokens"), OpenAI.BadRequestError],
      [404, shape(noModel, "NotFoundError", 404), OpenAI.NotFoundError],
      [
        422,
        shape("input: Field required", "BadRequestError", 422),
        OpenAI.UnprocessableEntityError,
      ],
    ] as const;
    for (const [status, body, errorClass] of cases) {
      const error = await thrownBy(status, body);
      expect(error).toBeInstanceOf(errorClass);
      const outcome = sdkOutcome(error, "POST", endpoint, 1000);
      expect(outcome).toEqual({
        kind: "status",
        method: "POST",
        url: endpoint,
        status,
        headers: expect.any(Headers),
        text: expect.any(String),
      });
      // The body the kit reads again is the flat form of what vLLM said.
      const inner = "error" in body ? body.error : body;
      expect(JSON.parse((outcome as { text: string }).text)).toEqual(inner);
    }
  });

  it("keeps a text body, an empty body and a Retry-After header", async () => {
    const text = await thrownBy(503, "Service Unavailable");
    expect(text).toBeInstanceOf(OpenAI.InternalServerError);
    expect(sdkOutcome(text, "POST", endpoint, 1000)).toMatchObject({
      status: 503,
      text: "Service Unavailable",
    });
    server.use(
      http.post(
        endpoint,
        () => new HttpResponse(null, { status: 429, headers: { "retry-after": "3" } }),
      ),
    );
    const limited = await makeVllmClient({ baseUrl }).embeddings
      .create({ model, input: ["a"], encoding_format: "float" }).catch((e) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const outcome = sdkOutcome(limited, "POST", endpoint, 1000);
    expect(outcome).toMatchObject({ status: 429, text: "" });
    expect((outcome as { headers: Headers }).headers.get("retry-after")).toBe("3");
  });

  it("reads APIConnectionError as a network outcome with the fetch failure as cause", async () => {
    const refusal = new TypeError("fetch failed", {
      cause: new Error("tcp connect error: Connection refused (os error 111)"),
    });
    const client = makeVllmClient({ baseUrl, fetch: () => Promise.reject(refusal) });
    const error = await client.embeddings
      .create({ model, input: ["a"], encoding_format: "float" }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(sdkOutcome(error, "POST", endpoint, 1000)).toEqual({
      kind: "network",
      method: "POST",
      url: endpoint,
      cause: refusal,
    });
  });

  it("reads APIConnectionTimeoutError as a timeout outcome", async () => {
    server.use(http.post(endpoint, async () => {
      await delay("infinite");
      return HttpResponse.json({});
    }));
    const error = await makeVllmClient({ baseUrl, timeoutMs: 20 }).embeddings
      .create({ model, input: ["a"], encoding_format: "float" }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(sdkOutcome(error, "POST", endpoint, 20)).toEqual({
      kind: "timeout",
      method: "POST",
      url: endpoint,
      timeoutMs: 20,
    });
  });
});

describe("makeEmbedRequest() failures, with what was sent", () => {
  const run = (): Promise<StageError> => Effect.runPromise(Effect.flip(send(inputs)));

  it.each(
    [
      ["nested", nested],
      ["flat", flat],
    ] as const,
  )("maps InternalServerError, BadRequestError and NotFoundError (%s body)", async (_s, shape) => {
    server.use(
      http.post(
        endpoint,
        () => HttpResponse.json(shape(oom, "InternalServerError", 500), { status: 500 }),
      ),
    );
    expect(await run()).toEqual(
      new GpuOutOfMemory({ message: `POST ${endpoint}: HTTP 500: ${oom}` }),
    );
    server.use(
      http.post(
        endpoint,
        () => HttpResponse.json(shape(engine, "InternalServerError", 500), { status: 500 }),
      ),
    );
    expect(await run()).toEqual(
      new GpuUnavailable({ message: `POST ${endpoint}: HTTP 500: ${engine}` }),
    );
    server.use(
      http.post(
        endpoint,
        () =>
          HttpResponse.json(shape(tooLong, "BadRequestError", 400, "input_tokens"), {
            status: 400,
          }),
      ),
    );
    expect(await run()).toEqual(
      new InvalidInput({
        message: `chunk doc:chunk:0 is too long for model ${model} (the longest of 2 in the ` +
          `request): ${tooLong}`,
        path: "doc:chunk:0",
      }),
    );
    server.use(
      http.post(
        endpoint,
        () => HttpResponse.json(shape(noModel, "NotFoundError", 404), { status: 404 }),
      ),
    );
    expect(await run()).toEqual(
      new Permanent({ message: `POST ${endpoint}: HTTP 404: ${noModel}` }),
    );
    expect(await sentRequests()).toEqual([...sentOnce, ...sentOnce, ...sentOnce, ...sentOnce]);
  });

  it("maps AuthenticationError to Permanent and RateLimitError to RateLimited", async () => {
    server.use(
      http.post(endpoint, () => HttpResponse.json({ error: "Unauthorized" }, { status: 401 })),
    );
    expect(await run()).toEqual(
      new Permanent({ message: `POST ${endpoint}: HTTP 401: Unauthorized` }),
    );
    server.use(
      http.post(
        endpoint,
        () =>
          HttpResponse.json(nested("Too Many Requests", "RateLimitError", 429), {
            status: 429,
            headers: { "retry-after": "7" },
          }),
      ),
    );
    expect(await run()).toEqual(
      new RateLimited({
        message: `POST ${endpoint}: HTTP 429: Too Many Requests`,
        retryAfterMs: 7000,
      }),
    );
    expect(await sentRequests()).toEqual([...sentOnce, ...sentOnce]);
  });

  effectIt.effect(
    "fails with Transient when no answer comes within timeoutMs (TestClock)",
    () =>
      Effect.gen(function* () {
        server.use(http.post(endpoint, async () => {
          await delay("infinite");
          return HttpResponse.json({});
        }));
        const slow = makeEmbedRequest(makeVllmClient({ baseUrl, timeoutMs: 600_000 }), {
          baseUrl,
          model,
          timeoutMs: 1_000,
        });
        const fiber = yield* Effect.forkChild(Effect.result(slow(inputs)));
        // Lets the request start (and its timeout begin) before the clock moves.
        yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.yieldNow, { discard: true });
        yield* TestClock.adjust("1 second");
        expect(yield* Fiber.join(fiber)).toEqual(
          Result.fail(new Transient({ message: `POST ${endpoint}: no response within 1000 ms` })),
        );
      }),
  );
});

describe("the batcher over a response of the wrong shape", () => {
  const docOf = (docId: string, texts: ReadonlyArray<string>): ChunkSet => ({
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

  it("fails every document of the request with Permanent when the vectors have the wrong dimensions", async () => {
    server.use(
      http.post(endpoint, async ({ request }) => {
        const body = (await request.json()) as { input: ReadonlyArray<string> };
        return HttpResponse.json({
          data: body.input.map((_, index) => ({ index, embedding: [0.1, 0.2, 0.3] })),
        });
      }),
    );
    const docs = [docOf("a", ["a0", "a1"]), docOf("b", ["b0"])];
    const results = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const batcher = yield* makeVllmEmbeddingBatcher({ baseUrl, model, dimensions: 2 });
      const stage = makeVllmEmbedStage(batcher);
      return yield* Effect.forEach(
        docs,
        (doc) =>
          Effect.result(stage.run(
            {
              tenantId: "t1",
              jobId: doc.docId,
              docId: doc.docId,
              correlationId: "c",
              pipeline: { name: "auto", version: "1" },
              stage: "embed",
              attempt: 1,
              metadata: {},
            },
            {
              request: {
                source: "openalex",
                docKey: doc.docId,
                location: { kind: "url", url: "u" },
              },
              Chunk: doc,
            },
            {},
          )),
        { concurrency: "unbounded" },
      );
    })));
    const wrong = new Permanent({
      message: `POST ${endpoint}: malformed embeddings response: embedding 0 has 3 dimensions, ` +
        "expected 2",
    });
    expect(results).toEqual([Result.fail(wrong), Result.fail(wrong)]);
    expect((await recorder.requests()).map((r) => r.body)).toEqual([
      { model, input: ["a0", "a1", "b0"], encoding_format: "float", dimensions: 2 },
    ]);
  });
});
