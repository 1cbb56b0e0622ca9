import { Effect, Fiber } from "effect";
import { TestClock } from "effect/testing";
import { delay, http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { dependencyOf, fetchJson } from "../../../adapters/http/fetch_json.ts";
import {
  classifyHttpOutcome,
  describeNetworkError,
  type HttpOutcome,
  parseRemoteError,
  parseRetryAfter,
  redactUrl,
} from "../../../adapters/http/http_errors.ts";
import {
  GpuUnavailable,
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Transient,
} from "../../../stages/errors.ts";
import { compareStageErrorMessages, recordedText, useMockServer } from "../../_fixtures/http.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

const nowMs = Date.parse("2026-11-27T12:00:00Z");
const url = "https://api.example.org/v1/items/42";

const statusOutcome = (
  status: number,
  text = "",
  headers: Record<string, string> = {},
): HttpOutcome => ({
  kind: "status",
  method: "GET",
  url,
  status,
  headers: new Headers(headers),
  text,
});

const failureOf = <A>(effect: Effect.Effect<A, StageError>): Promise<StageError> =>
  Effect.runPromise(Effect.flip(effect));

describe("classifyHttpOutcome()", () => {
  const cases: ReadonlyArray<readonly [string, HttpOutcome, StageError]> = [
    [
      "429 with Retry-After in seconds",
      statusOutcome(429, '{"error":"slow down"}', { "retry-after": "2" }),
      new RateLimited({ message: `GET ${url}: HTTP 429: slow down`, retryAfterMs: 2000 }),
    ],
    [
      "429 with Retry-After as an HTTP-date",
      statusOutcome(429, "", { "retry-after": "Fri, 27 Nov 2026 12:00:05 GMT" }),
      new RateLimited({ message: `GET ${url}: HTTP 429`, retryAfterMs: 5000 }),
    ],
    [
      "429 without Retry-After",
      statusOutcome(429),
      new RateLimited({ message: `GET ${url}: HTTP 429`, retryAfterMs: 1000 }),
    ],
    [
      "429 with an unreadable Retry-After",
      statusOutcome(429, "", { "retry-after": "soon" }),
      new RateLimited({ message: `GET ${url}: HTTP 429`, retryAfterMs: 1000 }),
    ],
    [
      "503 with Retry-After",
      statusOutcome(503, '{"detail":"Task manager is not initialized"}', { "retry-after": "7" }),
      new Transient({
        message: `GET ${url}: HTTP 503: Task manager is not initialized`,
        retryAfterMs: 7000,
      }),
    ],
    [
      "500 without Retry-After",
      statusOutcome(500, '{"message":"boom"}'),
      new Transient({ message: `GET ${url}: HTTP 500: boom` }),
    ],
    ["408", statusOutcome(408), new Transient({ message: `GET ${url}: HTTP 408` })],
    ["425", statusOutcome(425), new Transient({ message: `GET ${url}: HTTP 425` })],
    [
      "502 with an HTML page",
      statusOutcome(
        502,
        "<html><head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
      ),
      new Transient({ message: `GET ${url}: HTTP 502: 502 Bad Gateway nginx` }),
    ],
    ["504", statusOutcome(504), new Transient({ message: `GET ${url}: HTTP 504` })],
    ["522 from a CDN", statusOutcome(522), new Transient({ message: `GET ${url}: HTTP 522` })],
    ["501", statusOutcome(501), new Permanent({ message: `GET ${url}: HTTP 501` })],
    [
      "400 with a nested error",
      statusOutcome(400, '{"error":{"code":"BAD_REQUEST","message":"bad sort"}}'),
      new InvalidInput({ message: `GET ${url}: HTTP 400 (BAD_REQUEST): bad sort`, path: url }),
    ],
    [
      "404 with a string error",
      statusOutcome(404, '{"error":"Not Found"}'),
      new InvalidInput({ message: `GET ${url}: HTTP 404: Not Found`, path: url }),
    ],
    [
      "410 with a detail",
      statusOutcome(410, '{"detail":"gone for good"}'),
      new InvalidInput({ message: `GET ${url}: HTTP 410: gone for good`, path: url }),
    ],
    [
      "422 with FastAPI validation details",
      statusOutcome(
        422,
        '{"detail":[{"loc":["body","files"],"msg":"Field required"},{"loc":["q"],"msg":"bad q"}]}',
      ),
      new InvalidInput({ message: `GET ${url}: HTTP 422: Field required; bad q`, path: url }),
    ],
    [
      "401 with a flat message",
      statusOutcome(401, '{"object":"error","message":"Unauthorized","type":"Unauthorized"}'),
      new Permanent({ message: `GET ${url}: HTTP 401: Unauthorized` }),
    ],
    ["403", statusOutcome(403), new Permanent({ message: `GET ${url}: HTTP 403` })],
    ["405", statusOutcome(405), new Permanent({ message: `GET ${url}: HTTP 405` })],
    ["409", statusOutcome(409), new Permanent({ message: `GET ${url}: HTTP 409` })],
    [
      "a network failure",
      {
        kind: "network",
        method: "POST",
        url,
        cause: new TypeError("fetch failed", {
          cause: new Error(
            `error sending request for url (${url}): client error (Connect): tcp connect error: Connection refused (os error 111)`,
          ),
        }),
      },
      new Transient({
        message:
          `POST ${url}: network error: error sending request for url (${url}): client error (Connect): tcp connect error: Connection refused (os error 111)`,
      }),
    ],
    [
      "a timeout",
      { kind: "timeout", method: "GET", url, timeoutMs: 30_000 },
      new Transient({ message: `GET ${url}: no response within 30000 ms` }),
    ],
  ];

  it.each(cases)("classifies %s", (_name, outcome, expected) => {
    const error = classifyHttpOutcome(outcome, nowMs);
    expect(error).toEqual(expected);
    expect(error._tag).toBe(expected._tag);
    expect("retryAfterMs" in error ? error.retryAfterMs : undefined).toBe(
      "retryAfterMs" in expected ? expected.retryAfterMs : undefined,
    );
  });

  it("masks credentials in the URL of every message and path", () => {
    const secretUrl = "https://user:pw@api.fda.gov/drug/label.json?api_key=SECRET&search=x&token=T";
    const outcome: HttpOutcome = {
      kind: "status",
      method: "GET",
      url: secretUrl,
      status: 400,
      headers: new Headers(),
      text: "",
    };
    const masked = "https://api.fda.gov/drug/label.json?api_key=***&search=x&token=***";
    expect(classifyHttpOutcome(outcome, nowMs)).toEqual(
      new InvalidInput({ message: `GET ${masked}: HTTP 400`, path: masked }),
    );
    const network: HttpOutcome = {
      kind: "network",
      method: "GET",
      url: secretUrl,
      cause: new Error(`error sending request for url (${secretUrl})`),
    };
    expect(classifyHttpOutcome(network, nowMs).message).toBe(
      `GET ${masked}: network error: error sending request for url (${masked})`,
    );
  });
});

describe("parseRetryAfter()", () => {
  it.each(
    [
      ["2", 2000],
      [" 120 ", 120_000],
      ["0", 0],
      ["1.5", 1500],
      ["Fri, 27 Nov 2026 12:01:00 GMT", 60_000],
      ["Fri, 27 Nov 2026 11:00:00 GMT", 0],
      ["-3", undefined],
      ["soon", undefined],
      ["", undefined],
      [null, undefined],
    ] as const,
  )("reads %j as %j ms", (value, expected) => {
    expect(parseRetryAfter(value, nowMs)).toBe(expected);
  });
});

describe("parseRemoteError()", () => {
  it("reads every error body shape", () => {
    expect(parseRemoteError(
      '{"error":{"message":"too long","type":"BadRequestError","param":"input_tokens","code":400}}',
    )).toEqual({ message: "too long", type: "BadRequestError", param: "input_tokens", code: 400 });
    expect(parseRemoteError('{"object":"error","message":"m","type":"NotFoundError","code":404}'))
      .toEqual({ message: "m", type: "NotFoundError", code: 404 });
    expect(parseRemoteError('{"error":"Unsupported file type: .xyz"}')).toEqual({
      message: "Unsupported file type: .xyz",
    });
    expect(parseRemoteError('{"detail":"Task not found"}')).toEqual({ message: "Task not found" });
    expect(parseRemoteError('{"error":{"code":"SERVER_ERROR","message":"m","details":"d"}}'))
      .toEqual({ message: "m", code: "SERVER_ERROR", details: "d" });
    expect(parseRemoteError('{"studies":[]}')).toBeUndefined();
    expect(parseRemoteError("<html></html>")).toBeUndefined();
    expect(parseRemoteError("[1]")).toBeUndefined();
  });
});

describe("describeNetworkError()", () => {
  it("tells an unreachable remote from a broken connection", () => {
    const refusedDeno = new TypeError("fetch failed", {
      cause: new Error(
        "client error (Connect): tcp connect error: Connection refused (os error 111)",
      ),
    });
    const refusedNode = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8000"), {
        code: "ECONNREFUSED",
      }),
    });
    const noHost = new TypeError("fetch failed", {
      cause: new Error(
        "dns error: failed to lookup address information: Name or service not known",
      ),
    });
    const reset = new TypeError("fetch failed", {
      cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
    });
    expect([refusedDeno, refusedNode, noHost, reset].map(describeNetworkError)).toEqual([
      {
        reason: "client error (Connect): tcp connect error: Connection refused (os error 111)",
        unreachable: true,
      },
      { reason: "connect ECONNREFUSED 127.0.0.1:8000", unreachable: true },
      {
        reason: "dns error: failed to lookup address information: Name or service not known",
        unreachable: true,
      },
      { reason: "other side closed", unreachable: false },
    ]);
  });
});

describe("redactUrl()", () => {
  it("masks secrets and keeps the rest of the URL as written", () => {
    expect(redactUrl("https://api.fda.gov/drug/label.json?search=set_id:%22a%22&api_key=k1"))
      .toBe("https://api.fda.gov/drug/label.json?search=set_id:%22a%22&api_key=***");
    expect(redactUrl("https://api.openalex.org/works/W1?mailto=me%40example.org"))
      .toBe("https://api.openalex.org/works/W1?mailto=***");
    expect(redactUrl("https://clinicaltrials.gov/api/v2/studies/NCT00763412"))
      .toBe("https://clinicaltrials.gov/api/v2/studies/NCT00763412");
  });
});

describe("dependencyOf()", () => {
  it.each([
    ["https://api.openalex.org/works/W1?mailto=x", "api.openalex.org"],
    ["https://API.FDA.gov:443/drug/label.json", "api.fda.gov"],
    ["http://gpu-1:8000/v1/embeddings", "gpu-1:8000"],
    ["not a url", "not a url"],
  ])("keys %s as %s", (input, expected) => {
    expect(dependencyOf(input)).toBe(expected);
  });
});

interface CassetteInteraction {
  readonly request: { readonly method: string; readonly uri: string };
  readonly response: {
    readonly status: { readonly status_code: number };
    readonly headers: Readonly<Record<string, string | ReadonlyArray<string>>>;
    readonly body: { readonly string: string };
  };
}

const cassette = parseYaml(recordedText("openfda/test-handle_http_errors.yml")) as {
  readonly http_interactions: ReadonlyArray<CassetteInteraction>;
};

// The recorded bodies are stored decoded, so the encoding and length headers no longer apply.
const replayHeaders = (headers: CassetteInteraction["response"]["headers"]): Headers =>
  new Headers(
    Object.entries(headers)
      .filter(([name]) => name !== "content-encoding" && name !== "content-length")
      .map(([name, value]) => [name, typeof value === "string" ? value : value.join(", ")]),
  );

const expectedFor = (uri: string, status: number): StageError => {
  const where = `GET ${uri}: HTTP ${status}`;
  switch (status) {
    case 400:
      return new InvalidInput({
        message:
          `${where} (BAD_REQUEST): Sorting allowed by non-analyzed fields only: invalid_field`,
        path: uri,
      });
    case 403:
      return new Permanent({
        message:
          `${where} (API_KEY_INVALID): An invalid api_key was supplied. Get one at https://api.fda.gov:443`,
      });
    case 404:
      return new InvalidInput({ message: `${where} (NOT_FOUND): No matches found!`, path: uri });
    default:
      return new Transient({
        message: `${where} (SERVER_ERROR): Check your request and try again ` +
          '([token_mgr_error] token_mgr_error: Lexical error at line 1, column 32.  Encountered: <EOF> after : "")',
      });
  }
};

describe("fetchJson() against the recorded openFDA errors", () => {
  it("holds 15 recorded error interactions", () => {
    expect(cassette.http_interactions.map((i) => i.response.status.status_code)).toEqual([
      400,
      403,
      404,
      404,
      500,
      400,
      403,
      404,
      404,
      500,
      400,
      403,
      404,
      404,
      500,
    ]);
  });

  it.each(cassette.http_interactions.map((i, n) => [n, i.response.status.status_code, i] as const))(
    "replays interaction %i (HTTP %i) into its stage error",
    async (_n, status, interaction) => {
      const { uri } = interaction.request;
      const path = uri.slice(0, uri.indexOf("?"));
      server.use(
        http.get(path, () =>
          new HttpResponse(interaction.response.body.string, {
            status,
            headers: replayHeaders(interaction.response.headers),
          })),
      );
      const error = await failureOf(fetchJson(uri, { headers: { authorization: "Basic x" } }));
      expect(error).toEqual(expectedFor(uri, status));
      expect((await recorder.requests()).map((r) => [r.method, r.url])).toEqual([["GET", uri]]);
    },
  );
});

describe("fetchJson()", () => {
  const api = "https://api.example.org/v1/items";

  it("returns the status, headers and parsed body, and sends the given request", async () => {
    server.use(
      http.post(
        api,
        () =>
          HttpResponse.json({ id: 7, tags: ["a"] }, { status: 201, headers: { "x-trace": "t1" } }),
      ),
    );
    const response = await Effect.runPromise(fetchJson(api, {
      method: "POST",
      headers: { "content-type": "application/json", "x-client": "lineage-kit" },
      body: JSON.stringify({ name: "n" }),
    }));
    expect({ ...response, headers: response.headers.get("x-trace") }).toEqual({
      status: 201,
      headers: "t1",
      body: { id: 7, tags: ["a"] },
    });
    const [sent, ...more] = await recorder.requests();
    expect(more).toEqual([]);
    expect(sent).toMatchObject({ method: "POST", url: api, body: { name: "n" } });
    expect(sent.headers["x-client"]).toBe("lineage-kit");
  });

  it("fails a body cut short with Transient", async () => {
    server.use(http.get(api, () => HttpResponse.text('{"results":[{"id":1},', { status: 200 })));
    expect(await failureOf(fetchJson(api))).toEqual(
      new Transient({ message: `GET ${api}: HTTP 200: truncated JSON body (21 characters)` }),
    );
  });

  it("fails a body that is not JSON with InvalidInput at the URL", async () => {
    server.use(http.get(api, () => HttpResponse.html("<html>Sign in</html>")));
    expect(await failureOf(fetchJson(api))).toEqual(
      new InvalidInput({
        message:
          `GET ${api}: HTTP 200: invalid JSON at character 0: Unexpected token '<', "<html>Sign in</html>" is not valid JSON`,
        path: api,
      }),
    );
  });

  it("fails a network error with Transient", async () => {
    server.use(http.get(api, () => HttpResponse.error()));
    expect(await failureOf(fetchJson(api))).toEqual(
      new Transient({ message: `GET ${api}: network error: Failed to fetch` }),
    );
  });

  it("fails with Transient when no response comes within timeoutMs (TestClock)", async () => {
    server.use(
      http.get(api, async () => {
        await delay("infinite");
        return HttpResponse.json({});
      }),
    );
    const error = await Effect.runPromise(
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(Effect.flip(fetchJson(api, {}, { timeoutMs: 2500 })));
        yield* Effect.yieldNow;
        yield* TestClock.adjust("2499 millis");
        expect(fiber.pollUnsafe()).toBeUndefined();
        yield* TestClock.adjust("1 millis");
        return yield* Fiber.join(fiber);
      }).pipe(Effect.provide(TestClock.layer())),
    );
    expect(error).toEqual(new Transient({ message: `GET ${api}: no response within 2500 ms` }));
  });

  it("reads Retry-After against Effect's clock", async () => {
    server.use(
      http.get(api, () =>
        new HttpResponse(null, {
          status: 429,
          headers: { "retry-after": "Thu, 01 Jan 1970 00:00:30 GMT" },
        })),
    );
    const error = await Effect.runPromise(
      Effect.flip(fetchJson(api)).pipe(Effect.provide(TestClock.layer())),
    );
    expect(error).toEqual(
      new RateLimited({ message: `GET ${api}: HTTP 429`, retryAfterMs: 30_000 }),
    );
  });

  it("lets an adapter classify a failure before the generic mapping", async () => {
    server.use(http.get(api, () => HttpResponse.json({ detail: "engine down" }, { status: 500 })));
    const classify = (outcome: HttpOutcome): StageError | undefined =>
      outcome.kind === "status" && outcome.status === 500
        ? new GpuUnavailable({ message: `custom: ${outcome.text}` })
        : undefined;
    expect(await failureOf(fetchJson(api, {}, { classify }))).toEqual(
      new GpuUnavailable({ message: 'custom: {"detail":"engine down"}' }),
    );
  });

  it("calls an injected fetch instead of the global one", async () => {
    const calls: Array<string> = [];
    const fake = ((input: RequestInfo | URL) => {
      calls.push(String(input));
      return Promise.resolve(Response.json({ ok: true }));
    }) as typeof fetch;
    const response = await Effect.runPromise(fetchJson(api, undefined, { fetch: fake }));
    expect([response.body, calls]).toEqual([{ ok: true }, [api]]);
    expect(await recorder.requests()).toEqual([]);
  });
});
