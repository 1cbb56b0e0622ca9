import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Effect, Fiber, Redacted } from "effect";
import { TestClock } from "effect/testing";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import {
  type HttpTransportConfig,
  makeHttpSink,
  type RetryNotice,
} from "../../lineage/http_transport.ts";
import type { OutboxRow } from "../../lineage/outbox.ts";
import type { Settlement } from "../../lineage/settlement.ts";
import { makeFakeMarquez, MARQUEZ } from "../_fakes/marquez.ts";
import { eventually, runTest, settleIo } from "../_fakes/test_clock.ts";

const KEY = "sk-lk-7f3a9c1e";
const RUN = "0190d1a2-0000-7000-8000-000000000001";

const event = (seq: number, eventType: string, runId = RUN): OutboxRow => ({
  seq,
  channel: "openlineage",
  runId,
  jobId: "job-1",
  payload: {
    eventType,
    eventTime: "2026-01-01T00:00:00.000Z",
    producer: "https://github.com/medkg/lineage-kit",
    schemaURL: "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    run: { runId, facets: {} },
    job: { namespace: "lineage-kit", name: "auto", facets: {} },
    inputs: [],
    outputs: [],
  },
});

const base: HttpTransportConfig = { type: "http", url: MARQUEZ, apiKey: Redacted.make(KEY) };
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const withFake = () => {
  const fake = makeFakeMarquez();
  server.use(fake.handler);
  return fake;
};

const settleAll = (config: HttpTransportConfig, rows: ReadonlyArray<OutboxRow>) =>
  runTest(makeHttpSink(config).settle(rows));

describe("makeHttpSink() requests", () => {
  it("POSTs each event in order to {url}{endpoint} as JSON with the Bearer key and custom headers", async () => {
    const fake = withFake();
    const rows = [event(1, "START"), event(2, "COMPLETE")];
    const result = await settleAll({ ...base, headers: { "X-Team": "kg" } }, rows);
    expect(result).toEqual({
      settled: [
        { seq: 1, outcome: { _tag: "Delivered" } },
        { seq: 2, outcome: { _tag: "Delivered" } },
      ],
    });
    expect(fake.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `POST ${MARQUEZ}/api/v1/lineage`,
      `POST ${MARQUEZ}/api/v1/lineage`,
    ]);
    expect(fake.requests[0].headers).toMatchObject({
      "content-type": "application/json",
      authorization: `Bearer ${KEY}`,
      "x-team": "kg",
    });
    expect(fake.requests[0].headers["content-encoding"]).toBeUndefined();
    expect(fake.accepted).toEqual(rows.map((r) => r.payload));
  });

  it("sends the exact JSON text of the event, to a custom endpoint with query parameters", async () => {
    const bodies: string[] = [];
    server.use(
      http.post(`${MARQUEZ}/lineage/v2`, async ({ request }) => {
        bodies.push(`${new URL(request.url).search} ${await request.text()}`);
        return new HttpResponse(null, { status: 200 });
      }),
    );
    const row = event(7, "START");
    await settleAll({ ...base, endpoint: "lineage/v2", urlParams: { tenant: "t1" } }, [row]);
    expect(bodies).toEqual([`?tenant=t1 ${JSON.stringify(row.payload)}`]);
  });

  it("with compression gzip, sends Content-Encoding: gzip and a body that gunzips to the event", async () => {
    const fake = withFake();
    const row = event(1, "START");
    await settleAll({ ...base, compression: "gzip" }, [row]);
    expect(fake.requests[0].headers["content-encoding"]).toBe("gzip");
    expect(fake.requests[0].body).toEqual(row.payload);
    expect(fake.accepted).toEqual([row.payload]);
  });

  it("counts any 2xx as delivered: Marquez's 201 and a plain 200", async () => {
    const fake = withFake();
    fake.script.push({ status: 200 });
    const result = await settleAll(base, [event(1, "START"), event(2, "COMPLETE")]);
    expect(result.settled.map((s) => s.outcome._tag)).toEqual(["Delivered", "Delivered"]);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 201]);
  });
});

describe("makeHttpSink() failures", () => {
  it("retries 503 with exponential backoff and honours Retry-After, sleeping on the Clock", async () => {
    const fake = withFake();
    fake.script.push({ status: 503 }, { status: 503 }, { status: 429, retryAfter: "7" });
    const notices: RetryNotice[] = [];
    const sink = makeHttpSink(base, {
      onRetry: (n) => Effect.sync(() => void notices.push(n)),
    });
    const result = await runTest(Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(sink.settle([event(1, "START")]));
      for (const [retry, delay] of [[1, 500], [2, 1000], [3, 7000]]) {
        yield* eventually(() => notices.length === retry, `retry ${retry}`);
        yield* TestClock.adjust(delay - 1);
        yield* settleIo;
        expect(fake.requests).toHaveLength(retry);
        yield* TestClock.adjust(1);
      }
      return yield* Fiber.join(fiber);
    }));
    expect(result).toEqual({ settled: [{ seq: 1, outcome: { _tag: "Delivered" } }] });
    expect(fake.requests.map((r) => r.status)).toEqual([503, 503, 429, 201]);
    expect(notices.map(({ attempt, delayMs, reason }) => ({ attempt, delayMs, reason }))).toEqual([
      { attempt: 1, delayMs: 500, reason: "HTTP 503 Service Unavailable" },
      { attempt: 2, delayMs: 1000, reason: "HTTP 503 Service Unavailable" },
      { attempt: 3, delayMs: 7000, reason: "HTTP 429 Too Many Requests" },
    ]);
  });

  it("does not retry a 400: the event is rejected (a dead letter for the relay) and the next goes on", async () => {
    const fake = withFake();
    fake.poison.add(`${RUN}/START`);
    const result = await settleAll(base, [event(1, "START"), event(2, "COMPLETE")]);
    expect(result).toEqual({
      settled: [
        {
          seq: 1,
          outcome: {
            _tag: "Rejected",
            status: 400,
            reason: 'HTTP 400 Bad Request: {"code":400,"message":"refused"}',
          },
        },
        { seq: 2, outcome: { _tag: "Delivered" } },
      ],
    });
    expect(fake.requests.map((r) => r.status)).toEqual([400, 201]);
  });

  it("keeps events pending on 401 without retrying: a wrong key is not the events' fault", async () => {
    const fake = withFake();
    fake.script.push({ status: 401 });
    const result = await settleAll(base, [event(1, "START"), event(2, "COMPLETE")]);
    expect(result.settled).toEqual([]);
    expect(result.error?.message).toBe(`POST ${MARQUEZ}/api/v1/lineage: HTTP 401 Unauthorized`);
    expect(result.error?.retryable).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });

  it("gives up after maxAttempts, leaving the event and those after it pending", async () => {
    const fake = withFake();
    fake.mode = "down";
    const sink = makeHttpSink({ ...base, retry: { maxAttempts: 3, initialDelayMs: 0 } });
    const result = await runTest(sink.settle([event(1, "START"), event(2, "COMPLETE")]));
    expect(result.settled).toEqual([]);
    expect(result.error?.message).toMatch(
      new RegExp(`^POST ${MARQUEZ}/api/v1/lineage: .+ \\(gave up after 3 attempts\\)$`),
    );
    expect(result.error?.retryable).toBe(true);
    expect(fake.requests).toHaveLength(3);
  });

  it("does not start a retry the time budget cannot hold, even when Retry-After asks for it", async () => {
    const fake = withFake();
    fake.script.push({ status: 503, retryAfter: "3600" });
    const result = await settleAll(base, [event(1, "START")]);
    expect(result.error?.message).toBe(
      `POST ${MARQUEZ}/api/v1/lineage: HTTP 503 Service Unavailable ` +
        "(retry budget of 120000 ms spent after 1 attempt)",
    );
    expect(fake.requests).toHaveLength(1);
  });

  it("times each attempt out on the Clock", async () => {
    const fake = withFake();
    fake.mode = "hang";
    const sink = makeHttpSink({ ...base, timeoutMs: 2000, retry: { maxAttempts: 1 } });
    const result: Settlement = await runTest(Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(sink.settle([event(1, "START")]));
      yield* eventually(() => fake.requests.length === 1, "the request");
      yield* TestClock.adjust(2000);
      return yield* Fiber.join(fiber);
    }));
    expect(result.error?.message).toBe(
      `POST ${MARQUEZ}/api/v1/lineage: no answer within 2000 ms (gave up after 1 attempt)`,
    );
  });

  it("never shows the API key: not in errors, rejections, retry notices or the printed config", async () => {
    const fake = withFake();
    const echo = `{"message":"token ${KEY} is not allowed"}`;
    fake.script.push({ status: 500, body: echo }, { status: 500, body: echo });
    fake.script.push({ status: 422, body: echo });
    const notices: RetryNotice[] = [];
    const sink = makeHttpSink(
      {
        ...base,
        headers: { "X-Api-Token": "tok-9f8e7d6c" },
        retry: { maxAttempts: 2, initialDelayMs: 0 },
      },
      { onRetry: (n) => Effect.sync(() => void notices.push(n)) },
    );
    const first = await runTest(sink.settle([event(1, "START")]));
    const second = await runTest(sink.settle([event(1, "START")]));
    fake.mode = "down";
    const third = await runTest(sink.settle([event(1, "START")]));
    const texts = [
      first.error?.message,
      String(first.error),
      JSON.stringify(second.settled),
      third.error?.message,
      ...notices.map((n) => n.reason),
      JSON.stringify(base),
      String(base.apiKey),
    ];
    expect(first.error?.message).toBe(
      `POST ${MARQUEZ}/api/v1/lineage: HTTP 500 Internal Server Error: ` +
        '{"message":"token <redacted> is not allowed"} (gave up after 2 attempts)',
    );
    expect(texts.filter((t) => t?.includes(KEY) || t?.includes("tok-9f8e7d6c"))).toEqual([]);
  });
});

describe("makeHttpSink() batch mode", () => {
  it("POSTs a JSON array to {endpoint}/batch and settles per event from a 207 answer", async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post(`${MARQUEZ}/api/v1/lineage/batch`, async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json(
          { results: [{ status: 201 }, { status: 422 }, { status: 503 }] },
          { status: 207 },
        );
      }),
    );
    const rows = [event(1, "START"), event(2, "RUNNING"), event(3, "COMPLETE")];
    const result = await settleAll({ ...base, batch: true }, rows);
    expect(bodies).toEqual([rows.map((r) => r.payload)]);
    expect(result.settled).toEqual([
      { seq: 1, outcome: { _tag: "Delivered" } },
      {
        seq: 2,
        outcome: { _tag: "Rejected", status: 422, reason: "HTTP 422 for this event in a batch" },
      },
    ]);
    expect(result.error?.message).toBe(
      `POST ${MARQUEZ}/api/v1/lineage/batch: 1 of 3 events in the batch were not accepted ` +
        "(first: HTTP 503); they stay pending",
    );
  });

  it("falls back to one request per event when the whole batch is refused, finding the poison one", async () => {
    server.use(
      http.post(`${MARQUEZ}/api/v1/lineage/batch`, () => new HttpResponse(null, { status: 400 })),
    );
    const fake = withFake();
    fake.poison.add(`${RUN}/RUNNING`);
    const rows = [event(1, "START"), event(2, "RUNNING"), event(3, "COMPLETE")];
    const result = await settleAll({ ...base, batch: true }, rows);
    expect(result.settled.map((s) => [s.seq, s.outcome._tag])).toEqual([
      [1, "Delivered"],
      [2, "Rejected"],
      [3, "Delivered"],
    ]);
    expect(fake.accepted.map((e) => e.eventType)).toEqual(["START", "COMPLETE"]);
  });
});
