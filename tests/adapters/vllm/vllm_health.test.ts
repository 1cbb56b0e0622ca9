import { Effect } from "effect";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { checkVllmHealth } from "../../../adapters/vllm/vllm_health.ts";
import { GpuUnavailable, Permanent, type StageError } from "../../../stages/errors.ts";
import { compareStageErrorMessages, useMockServer } from "../../_fixtures/http.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

const baseUrl = "http://gpu-1:8000";
const health = `${baseUrl}/health`;
const models = `${baseUrl}/v1/models`;
const model = "BAAI/bge-m3";

// `/v1/models` as vLLM answers it.
const modelList = (...ids: ReadonlyArray<string>) => ({
  object: "list",
  data: ids.map((id) => ({
    id,
    object: "model",
    created: 1_760_000_000,
    owned_by: "vllm",
    root: id,
    parent: null,
    max_model_len: 8192,
    permission: [],
  })),
});

const healthy = (...ids: ReadonlyArray<string>) => [
  http.get(health, () => new HttpResponse(null, { status: 200 })),
  http.get(models, () => HttpResponse.json(modelList(...ids))),
];

const failure = (effect: Effect.Effect<void, StageError>): Promise<StageError> =>
  Effect.runPromise(Effect.flip(effect));

const sent = async () =>
  (await recorder.requests()).map((r) => ({
    method: r.method,
    url: r.url,
    authorization: r.headers.authorization,
  }));

describe("checkVllmHealth()", () => {
  it("succeeds when /health answers 200 and /v1/models lists the model", async () => {
    server.use(...healthy("intfloat/e5-small", model));
    await Effect.runPromise(checkVllmHealth(`${baseUrl}/v1`, { model, apiKey: "sk-local" }));
    expect(await sent()).toEqual([
      { method: "GET", url: health, authorization: undefined },
      { method: "GET", url: models, authorization: "Bearer sk-local" },
    ]);
  });

  it("fails with Permanent naming the URL, the model and what is served when it is not listed", async () => {
    server.use(...healthy("intfloat/e5-small", "BAAI/bge-small-en"));
    expect(await failure(checkVllmHealth(baseUrl, { model }))).toEqual(
      new Permanent({
        message: `vLLM at ${baseUrl} is not serving model ${model} ` +
          "(serves: intfloat/e5-small, BAAI/bge-small-en)",
      }),
    );
    server.use(...healthy());
    expect(await failure(checkVllmHealth(baseUrl, { model }))).toEqual(
      new Permanent({ message: `vLLM at ${baseUrl} is not serving model ${model} (serves: none)` }),
    );
  });

  it("fails a 503 from /health with GpuUnavailable and asks nothing more", async () => {
    server.use(http.get(health, () => new HttpResponse(null, { status: 503 })));
    expect(await failure(checkVllmHealth(baseUrl, { model }))).toEqual(
      new GpuUnavailable({ message: `GET ${health}: HTTP 503` }),
    );
    expect((await sent()).map((r) => r.url)).toEqual([health]);
  });

  it("fails an unreachable server with GpuUnavailable and a 404 with Permanent", async () => {
    const refused = (() =>
      Promise.reject(
        new TypeError("fetch failed", { cause: new Error("Connection refused (os error 111)") }),
      )) as typeof fetch;
    expect(await failure(checkVllmHealth(baseUrl, { model, fetch: refused }))).toEqual(
      new GpuUnavailable({
        message: `GET ${health}: network error: Connection refused (os error 111)`,
      }),
    );
    server.use(http.get(health, () => new HttpResponse("Not Found", { status: 404 })));
    expect(await failure(checkVllmHealth(baseUrl, { model }))).toEqual(
      new Permanent({ message: `GET ${health}: HTTP 404: Not Found` }),
    );
  });

  it("fails a wrong API key on /v1/models with Permanent", async () => {
    server.use(
      http.get(health, () => new HttpResponse(null, { status: 200 })),
      // vLLM's `--api-key` middleware answers this body.
      http.get(models, () => HttpResponse.json({ error: "Unauthorized" }, { status: 401 })),
    );
    expect(await failure(checkVllmHealth(baseUrl, { model, apiKey: "wrong" }))).toEqual(
      new Permanent({ message: `GET ${models}: HTTP 401: Unauthorized` }),
    );
  });

  it("fails a model list that is not one with Permanent naming the field", async () => {
    server.use(
      http.get(health, () => new HttpResponse(null, { status: 200 })),
      http.get(models, () => HttpResponse.json({ object: "list", data: [{ object: "model" }] })),
    );
    expect(await failure(checkVllmHealth(baseUrl, { model }))).toEqual(
      new Permanent({
        message: `GET ${models}: malformed model list: data[0].id: ` +
          "Invalid input: expected string, received undefined",
      }),
    );
  });
});
