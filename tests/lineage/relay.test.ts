// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Duration, Effect, Fiber, Layer, Redacted } from "effect";
import { TestClock } from "effect/testing";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { insertOutbox, makeSqlOutboxStore } from "../../adapters/store/sql_outbox.ts";
import { storeFootprint } from "../../adapters/store/store_footprint.ts";
import { type HttpTransportConfig, makeHttpSink } from "../../lineage/http_transport.ts";
import { makeJsonlSink } from "../../lineage/jsonl_sink.ts";
import { type OutboxEvent, type OutboxRow, OutboxStore } from "../../lineage/outbox.ts";
import { delivered, type RelaySink } from "../../lineage/settlement.ts";
import type { OutboxWithDeliveryLog } from "../../lineage/delivery_log.ts";
import { flush, flushWithDeadline, runRelay, type SinkReport } from "../../lineage/relay.ts";
import type { LineageSink } from "../../lineage/sink.ts";
import { makeFakeMarquez, MARQUEZ } from "../_fakes/marquez.ts";
import { eventually, runAdvancing, runTest, settleIo } from "../_fakes/test_clock.ts";
import { readJsonl, runCli, tempDir } from "../_harness.ts";

type Event = Record<string, any>;

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const KEY = "sk-relay-51d2";
const NAME = `http:${MARQUEZ}/api/v1/lineage`;
const marquezSink = (extra: Partial<HttpTransportConfig> = {}) =>
  makeHttpSink({ type: "http", url: MARQUEZ, apiKey: Redacted.make(KEY), ...extra });

const withFake = () => {
  const fake = makeFakeMarquez();
  server.use(fake.handler);
  return fake;
};

const onStore = <A, E>(store: Store, effect: Effect.Effect<A, E, any>): Effect.Effect<A, E> =>
  effect.pipe(Effect.provide(store.layer)) as Effect.Effect<A, E>;

/** Events of the outbox's OpenLineage channel, in outbox order. */
const outboxEvents = async (store: Store): Promise<Event[]> =>
  (await store.client.query<{ payload: Event }>(
    "select payload::json as payload from lk_outbox where channel = 'openlineage' order by seq",
  )).map((r) => r.payload);

const keyOf = (e: Event) => `${e.run.runId}/${e.eventType}`;

/** Per-run order: START first and once, nothing after the terminal event, parent START first. */
const orderProblems = (events: ReadonlyArray<Event>): string[] => {
  const byRun = new Map<string, string[]>();
  const problems: string[] = [];
  for (const e of events) {
    const types = byRun.get(e.run.runId) ?? [];
    if ((e.eventType === "START") !== (types.length === 0)) {
      problems.push(`${e.job.name}: ${e.eventType} after [${types.join(", ")}]`);
    }
    if (types.some((t) => ["COMPLETE", "FAIL", "ABORT"].includes(t))) {
      problems.push(`${e.job.name}: ${e.eventType} after the terminal event`);
    }
    const parent = e.run.facets?.parent?.run?.runId;
    if (parent && !(byRun.get(parent) ?? []).includes("START")) {
      problems.push(`${e.job.name}: ${e.eventType} before its parent's START`);
    }
    byRun.set(e.run.runId, [...types, e.eventType]);
  }
  return problems;
};

const countsOf = (events: ReadonlyArray<Event>) => {
  const counts = new Map<string, number>();
  for (const e of events) counts.set(keyOf(e), (counts.get(keyOf(e)) ?? 0) + 1);
  return counts;
};

/** One job: a pipeline run with `stages` stage runs, START/COMPLETE each, in emission order. */
const job = (name: string, stages: number): OutboxEvent[] => {
  const ol = (runId: string, eventType: string, jobName: string, parent?: string): OutboxEvent => ({
    channel: "openlineage",
    runId,
    payload: {
      eventType,
      eventTime: "2026-01-01T00:00:00.000Z",
      producer: "https://github.com/medkg/lineage-kit",
      schemaURL: "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      run: {
        runId,
        facets: parent
          ? { parent: { run: { runId: parent }, job: { namespace: "lineage-kit", name } } }
          : {},
      },
      job: {
        namespace: "lineage-kit",
        name: jobName,
        facets: { jobType: { jobType: parent ? "TASK" : "DAG" } },
      },
      inputs: [],
      outputs: [],
    },
  });
  const pipeline = crypto.randomUUID();
  const stageRuns = Array.from({ length: stages }, () => crypto.randomUUID());
  return [
    ol(pipeline, "START", name),
    ...stageRuns.flatMap((r, i) => [
      ol(r, "START", `${name}.s${i}`, pipeline),
      ol(r, "COMPLETE", `${name}.s${i}`, pipeline),
    ]),
    ol(pipeline, "COMPLETE", name),
  ];
};

const seed = async (jobs: number, stages = 2): Promise<Store> => {
  const store = await openEmbeddedStore();
  for (let j = 0; j < jobs; j++) {
    const events = job(`p${j}`, stages);
    await insertOutbox(store.client, `job-${j}`, events);
    await insertOutbox(store.client, `job-${j}`, [
      { channel: "cloudevents", runId: events[0].runId, payload: { id: `ce-${j}` } },
    ]);
  }
  return store;
};

const report = (r: SinkReport) => ({ ...r });

describe("flush() to an HTTP sink after a real pipeline run", () => {
  it("holds every event exactly once in Marquez, per-run order kept, through 20 failed requests", async () => {
    const dir = await tempDir();
    try {
      // 1 means some document failed, which still gives it lineage; 2 would be a usage error.
      expect([0, 1]).toContain((await runCli(runPipeline, ["--store", dir])).code);
      const fake = withFake();
      fake.failFirst = 20;
      const store = await openEmbeddedStore(dir);
      try {
        // Backoff sleeps run on the TestClock: whenever a retry was announced, time moves on.
        let announced = 0;
        let seen = 0;
        const sink = makeHttpSink({
          type: "http",
          url: MARQUEZ,
          apiKey: Redacted.make(KEY),
          timeoutMs: 3_600_000,
          retry: { maxAttempts: 30, initialDelayMs: 100, maxDelayMs: 1000 },
        }, { onRetry: () => Effect.sync(() => void announced++) });
        const reports = await runTest(runAdvancing(
          onStore(store, flush([sink])),
          () => announced > seen ? (seen = announced, true) : false,
          "1 second",
        ));
        const expected = await outboxEvents(store);
        expect(expected.length).toBeGreaterThan(100);
        expect(reports.map(report)).toEqual([
          { sink: NAME, delivered: expected.length, pending: 0, deadLettered: 0 },
        ]);
        expect(fake.requests.filter((r) => r.status === 503)).toHaveLength(20);
        expect(fake.requests.filter((r) => r.status === 422)).toEqual([]);
        expect([...countsOf(fake.accepted).values()].every((n) => n === 1)).toBe(true);
        expect(new Set(fake.accepted.map(keyOf))).toEqual(new Set(expected.map(keyOf)));
        expect(orderProblems(fake.accepted)).toEqual([]);
        const again = await runTest(onStore(store, flush([marquezSink()])));
        expect(again.map(report)).toEqual([{
          sink: NAME,
          delivered: 0,
          pending: 0,
          deadLettered: 0,
        }]);
        expect(fake.accepted).toHaveLength(expected.length);
      } finally {
        await store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

describe("flush() to a batch endpoint", () => {
  it("posts batches of whole jobs, a few at a time: every event once, per-run order kept", async () => {
    const store = await seed(24);
    const batches: Event[][] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    server.use(
      http.post(`${MARQUEZ}/api/v1/lineage/batch`, async ({ request }) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        const events = await request.json() as Event[];
        // Answered after a moment, so the next requests are sent meanwhile.
        await new Promise((r) => setTimeout(r, 5));
        batches.push(events);
        inFlight--;
        return new HttpResponse(null, { status: 200 });
      }),
    );
    try {
      const sink = marquezSink({ batch: true, maxBatch: 10, concurrency: 3 });
      const [result] = await runTest(onStore(store, flush([sink])));
      const all = await outboxEvents(store);
      expect(result).toMatchObject({ delivered: all.length, pending: 0, deadLettered: 0 });
      const accepted = batches.flat();
      expect(accepted).toHaveLength(all.length);
      expect([...countsOf(accepted).values()].every((n) => n === 1)).toBe(true);
      expect(orderProblems(accepted)).toEqual([]);
      // Whole jobs (a pipeline run and its stage runs) of up to 10 events in each request.
      expect(batches.every((b) => b.length <= 10)).toBe(true);
      const batchOfJob = new Map<string, Set<number>>();
      batches.forEach((b, i) => {
        for (const e of b) {
          const job = e.job.name.split(".")[0];
          batchOfJob.set(job, (batchOfJob.get(job) ?? new Set()).add(i));
        }
      });
      expect([...batchOfJob.values()].every((s) => s.size === 1)).toBe(true);
      expect(mostInFlight).toBe(3);
    } finally {
      await store.close();
    }
  });

  it("keeps every event once and in order when some batches fail, jobs longer than a batch too", async () => {
    // 14 events a job: each is split into two requests, the second sent after the first.
    const store = await seed(12, 6);
    const accepted: Event[] = [];
    let requests = 0;
    server.use(
      http.post(`${MARQUEZ}/api/v1/lineage/batch`, async ({ request }) => {
        const events = await request.json() as Event[];
        await new Promise((r) => setTimeout(r, 2));
        if (++requests % 4 === 3) return new HttpResponse(null, { status: 503 });
        accepted.push(...events);
        return new HttpResponse(null, { status: 200 });
      }),
    );
    try {
      const sink = marquezSink({
        batch: true,
        maxBatch: 10,
        concurrency: 3,
        retry: { maxAttempts: 1 },
      });
      const all = await outboxEvents(store);
      let flushes = 0;
      for (let pending = all.length; pending > 0 && flushes < 30; flushes++) {
        [{ pending }] = await runTest(onStore(store, flush([sink])));
      }
      expect(flushes).toBeGreaterThan(1);
      expect(accepted).toHaveLength(all.length);
      expect([...countsOf(accepted).values()].every((n) => n === 1)).toBe(true);
      expect(orderProblems(accepted)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe("flush() with a sink that is down", () => {
  it("leaves its events pending, never holds back another sink, and delivers them once when it is back", async () => {
    const store = await seed(4);
    const dir = await tempDir();
    try {
      const fake = withFake();
      fake.downAfter = 3;
      const jsonl = makeJsonlSink(resolve(dir, "openlineage.jsonl"), "openlineage");
      const sinks: LineageSink[] = [
        jsonl,
        marquezSink({ retry: { maxAttempts: 2, initialDelayMs: 0 } }),
      ];
      const first = await runTest(onStore(store, flush(sinks)));
      const all = await outboxEvents(store);
      expect(first[0]).toEqual({
        sink: jsonl.name,
        delivered: all.length,
        pending: 0,
        deadLettered: 0,
      });
      expect(first[1].delivered).toBe(fake.accepted.length);
      expect(first[1].delivered).toBeGreaterThanOrEqual(3);
      expect(first[1].pending).toBe(all.length - first[1].delivered);
      expect(first[1].error).toMatch(
        /^POST http:\/\/marquez\.test:5000\/api\/v1\/lineage: .*\(gave up after 2 attempts\)$/,
      );
      fake.downAfter = undefined;
      fake.mode = "up";
      const second = await runTest(onStore(store, flush(sinks)));
      expect(second.map(report)).toEqual([
        { sink: jsonl.name, delivered: 0, pending: 0, deadLettered: 0 },
        { sink: NAME, delivered: all.length - first[1].delivered, pending: 0, deadLettered: 0 },
      ]);
      expect(await readJsonl(resolve(dir, "openlineage.jsonl"))).toEqual(all);
      expect([...countsOf(fake.accepted).values()].every((n) => n === 1)).toBe(true);
      expect(fake.accepted).toHaveLength(all.length);
      expect(orderProblems(fake.accepted)).toEqual([]);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("sets a refused event aside as a dead letter and goes on with the run's later events", async () => {
    const store = await seed(2, 1);
    try {
      const fake = withFake();
      const all = await outboxEvents(store);
      const poison = all[1];
      fake.poison.add(keyOf(poison));
      const first = await runTest(onStore(store, flush([marquezSink()])));
      expect(first.map(report)).toEqual([
        { sink: NAME, delivered: all.length - 1, pending: 0, deadLettered: 1 },
      ]);
      expect(fake.accepted.map(keyOf).sort()).toEqual(
        all.filter((e) => e !== poison).map(keyOf).sort(),
      );
      expect(fake.requests.filter((r) => r.status === 400)).toHaveLength(1);
      const letters = await store.client.query(
        "select sink, run_id, job_id, status, reason from lk_outbox_dead_letters",
      );
      expect(letters).toEqual([{
        sink: NAME,
        run_id: poison.run.runId,
        job_id: "job-0",
        status: 400,
        reason: 'HTTP 400 Bad Request: {"code":400,"message":"refused"}',
      }]);
      const requests = fake.requests.length;
      const second = await runTest(onStore(store, flush([marquezSink()])));
      expect(second.map(report)).toEqual([{
        sink: NAME,
        delivered: 0,
        pending: 0,
        deadLettered: 0,
      }]);
      expect(fake.requests).toHaveLength(requests);
    } finally {
      await store.close();
    }
  });

  it("sets an event the store cannot read back aside as a dead letter, and delivers the rest", async () => {
    const store = await seed(2, 1);
    const dir = await tempDir();
    try {
      // Rows no kit writes: text that is not JSON, and JSON that is not an object.
      const [{ run_id }] = await store.client.query<{ run_id: string }>(
        "select run_id from lk_outbox where channel = 'openlineage' order by seq limit 1",
      );
      const bad = await store.client.query<{ seq: string }>(
        `insert into lk_outbox (channel, run_id, job_id, payload)
         values ('openlineage', $1, 'job-0', '{"eventType": "STA'),
                ('cloudevents', $1, 'job-0', '[1, 2]')
         returning seq`,
        [run_id],
      );
      const fake = withFake();
      const jsonl = makeJsonlSink(resolve(dir, "cloudevents.jsonl"), "cloudevents");
      const reports = await runTest(onStore(store, flush([marquezSink(), jsonl])));
      const good = await store.client.query<{ channel: string; n: number }>(
        `select channel, count(*)::int as n from lk_outbox
         where seq <> all($1::bigint[]) group by channel order by channel`,
        [bad.map((b) => b.seq)],
      );
      const goodOf = (channel: string) => good.find((g) => g.channel === channel)!.n;
      expect(reports.map(report)).toEqual([
        { sink: NAME, delivered: goodOf("openlineage"), pending: 0, deadLettered: 1 },
        { sink: jsonl.name, delivered: goodOf("cloudevents"), pending: 0, deadLettered: 1 },
      ]);
      expect(fake.accepted).toHaveLength(goodOf("openlineage"));
      expect(orderProblems(fake.accepted)).toEqual([]);
      expect(await readJsonl(resolve(dir, "cloudevents.jsonl"))).toHaveLength(
        goodOf("cloudevents"),
      );
      const letters = await store.client.query<{ sink: string; seq: string; reason: string }>(
        "select sink, seq, reason from lk_outbox_dead_letters order by seq",
      );
      expect(letters.map((l) => [l.sink, String(l.seq)])).toEqual([
        [NAME, String(bad[0].seq)],
        [jsonl.name, String(bad[1].seq)],
      ]);
      expect(letters[0].reason).toMatch(/^the stored event is not JSON: /);
      expect(letters[1].reason).toBe("the stored event is not a JSON object");
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

describe("flush() on a store with retention 0", () => {
  it("makes every sink known first: one sink's round never removes what another has yet to take", async () => {
    const store = await openEmbeddedStore(undefined, { outboxRetentionMs: 0 });
    const dir = await tempDir();
    try {
      const events = job("p0", 2);
      await insertOutbox(store.client, "job-0", events);
      const fast = makeJsonlSink(resolve(dir, "fast.jsonl"), "openlineage");
      const slow = makeJsonlSink(resolve(dir, "slow.jsonl"), "openlineage");
      // The slow sink starts only once the fast one's round is over, compaction and all.
      let fastDone!: () => void;
      const fastCompacted = new Promise<void>((resolve) => fastDone = resolve);
      const outbox = store.outbox as OutboxWithDeliveryLog;
      const gated: OutboxWithDeliveryLog = {
        ...outbox,
        claim: (sink, holder, ttlMs) =>
          sink === slow.name
            ? Effect.andThen(Effect.promise(() => fastCompacted), outbox.claim(sink, holder, ttlMs))
            : outbox.claim(sink, holder, ttlMs),
        compact: (sink, channels) =>
          Effect.tap(
            outbox.compact(sink, channels),
            () => Effect.sync(() => sink === fast.name && fastDone()),
          ),
      };
      const reports = await runTest(
        flush([fast, slow]).pipe(Effect.provide(Layer.succeed(OutboxStore, gated))),
      );
      expect(reports.map((r) => [r.delivered, r.pending])).toEqual([[6, 0], [6, 0]]);
      const payloads = events.map((e) => e.payload);
      expect(await readJsonl(resolve(dir, "fast.jsonl"))).toEqual(payloads);
      expect(await readJsonl(resolve(dir, "slow.jsonl"))).toEqual(payloads);
      // Both had them: gone at once, with nothing left for a prune.
      expect(await store.client.query("select seq from lk_outbox")).toEqual([]);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

describe("flush() reading page after page", () => {
  // The store's outbox, recording where each page read started.
  const recordingPages = (store: Store, starts: Array<number | undefined>) => {
    const outbox = store.outbox as OutboxWithDeliveryLog;
    const recording: OutboxWithDeliveryLog = {
      ...outbox,
      pendingFor: (sink, channels, limit, after) => {
        starts.push(after);
        return outbox.pendingFor(sink, channels, limit, after);
      },
    };
    return Layer.succeed(OutboxStore, recording);
  };

  it("starts each page after the last event it settled, and again at the first one it did not", async () => {
    const store = await seed(4, 2); // 4 jobs × 6 OpenLineage events, a CloudEvent after each job
    try {
      const ol = await store.client.query<{ seq: number }>(
        "select seq::int from lk_outbox where channel = 'openlineage' order by seq",
      );
      const seqs = ol.map((r) => r.seq);
      // A sink that settles only the first 4 of each hand-over, without an error.
      const accepted: number[] = [];
      const partial: RelaySink = {
        name: "partial",
        channels: ["openlineage"],
        deliver: () => Effect.void,
        settle: (events) =>
          Effect.sync(() => {
            const taken = events.slice(0, 4).map((e) => e.seq);
            accepted.push(...taken);
            return { settled: taken.map((seq) => ({ seq, outcome: delivered })) };
          }),
      };
      const starts: Array<number | undefined> = [];
      const [result] = await runTest(
        flush([partial], { batchSize: 6 }).pipe(Effect.provide(recordingPages(store, starts))),
      );
      expect(result.delivered).toBe(24);
      expect(accepted).toEqual(seqs); // each event once, in outbox order
      // Pages of 6 with 4 settled: the next page starts just before the first unsettled event.
      expect(starts.slice(0, 3)).toEqual([0, seqs[3], seqs[7]]);
    } finally {
      await store.close();
    }
  });

  it("compacts every 20 pages of a long flush, not only at its end", async () => {
    const store = await seed(8, 2); // 48 OpenLineage events
    const dir = await tempDir();
    try {
      const outbox = store.outbox as OutboxWithDeliveryLog;
      const compactedAfterPages: number[] = [];
      let pages = 0;
      const counting: OutboxWithDeliveryLog = {
        ...outbox,
        pendingFor: (...args) =>
          Effect.tap(outbox.pendingFor(...args), () => Effect.sync(() => void pages++)),
        compact: (...args) =>
          Effect.andThen(
            Effect.sync(() => compactedAfterPages.push(pages)),
            outbox.compact(...args),
          ),
      };
      const sink = makeJsonlSink(resolve(dir, "ol.jsonl"), "openlineage");
      const [result] = await runTest(
        flush([sink], { batchSize: 1 }).pipe(Effect.provide(Layer.succeed(OutboxStore, counting))),
      );
      expect([result.delivered, result.pending]).toEqual([48, 0]);
      // Pages 20 and 40, then the end (the 49th read found nothing).
      expect(compactedAfterPages).toEqual([20, 40, 49]);
      expect(await readJsonl(resolve(dir, "ol.jsonl"))).toEqual(await outboxEvents(store));
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

describe("flush() of a sink with nothing to do", () => {
  // The store's outbox, recording which of its steps each flush took.
  const recordingSteps = (outbox: OutboxWithDeliveryLog, steps: string[]) => {
    const step = <A extends unknown[], R>(name: string, f: (...args: A) => R) => (...args: A) => {
      steps.push(name);
      return f(...args);
    };
    const recording: OutboxWithDeliveryLog = {
      ...outbox,
      claim: step("claim", outbox.claim),
      pendingFor: step("pendingFor", outbox.pendingFor),
      settle: step("settle", outbox.settle),
      compact: step("compact", outbox.compact),
      counts: step("counts", outbox.counts),
    };
    return Layer.succeed(OutboxStore, recording);
  };

  it("is reported at once: no lease, no page, no compaction, nothing written", async () => {
    const store = await seed(2);
    const dir = await tempDir();
    try {
      const sink = makeJsonlSink(resolve(dir, "ol.jsonl"), "openlineage");
      const steps: string[] = [];
      const layer = recordingSteps(store.outbox as OutboxWithDeliveryLog, steps);
      const [first] = await runTest(flush([sink]).pipe(Effect.provide(layer)));
      expect([first.delivered, first.pending]).toEqual([12, 0]);
      expect(steps).toContain("claim");
      steps.length = 0;
      const [again] = await runTest(flush([sink]).pipe(Effect.provide(layer)));
      expect(report(again)).toEqual({ sink: sink.name, delivered: 0, pending: 0, deadLettered: 0 });
      expect(steps).toEqual([]);
      // A new event makes it busy again.
      await insertOutbox(store.client, "job-9", job("p9", 1));
      const [later] = await runTest(flush([sink]).pipe(Effect.provide(layer)));
      expect([later.delivered, later.pending]).toEqual([4, 0]);
      expect(steps).toEqual(expect.arrayContaining(["claim", "pendingFor", "settle", "compact"]));
      expect((await readJsonl(resolve(dir, "ol.jsonl"))).length).toBe(16);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("is not quiet while it holds settled records its cursor has yet to fold in", async () => {
    const store = await seed(1);
    const dir = await tempDir();
    try {
      // A horizon longer than the test: what the sink settles stays a record, not a cursor move.
      const outbox = makeSqlOutboxStore(store.client, { horizonMs: 3_600_000 });
      const sink = makeJsonlSink(resolve(dir, "ol.jsonl"), "openlineage");
      expect(await Effect.runPromise(outbox.quiet!(sink.name, sink.channels))).toBe(false);
      const steps: string[] = [];
      const layer = recordingSteps(outbox, steps);
      const [first] = await runTest(flush([sink]).pipe(Effect.provide(layer)));
      expect([first.delivered, first.pending]).toEqual([6, 0]);
      expect(await Effect.runPromise(outbox.quiet!(sink.name, sink.channels))).toBe(false);
      steps.length = 0;
      await runTest(flush([sink]).pipe(Effect.provide(layer)));
      expect(steps).toContain("compact");
      expect((await readJsonl(resolve(dir, "ol.jsonl"))).length).toBe(6);
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
});

describe("flushWithDeadline()", () => {
  it("gives up at the deadline on the Clock; what was not delivered stays pending", async () => {
    const store = await seed(2);
    try {
      const fake = withFake();
      fake.mode = "hang";
      const reports = await runTest(Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(
          onStore(
            store,
            flushWithDeadline([marquezSink({ timeoutMs: 60_000 })], { maxWaitMs: 1500 }),
          ),
        );
        yield* eventually(() => fake.requests.length === 2, "one request per job in flight");
        yield* TestClock.adjust(1500);
        return yield* Fiber.join(fiber);
      }));
      expect(reports.map(report)).toEqual([{
        sink: NAME,
        delivered: 0,
        pending: (await outboxEvents(store)).length,
        deadLettered: 0,
        error: "not finished within 1500 ms",
      }]);
    } finally {
      await store.close();
    }
  });
});

describe("runRelay()", () => {
  it("keeps delivering new events every interval until its signal aborts", async () => {
    const store = await seed(1);
    try {
      const fake = withFake();
      const stop = new AbortController();
      let rounds = 0;
      await runTest(Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(onStore(
          store,
          runRelay([marquezSink()], {
            interval: "2 seconds",
            signal: stop.signal,
            onFlush: () => Effect.sync(() => void rounds++),
          }),
        ));
        yield* eventually(() => rounds === 1, "the first flush");
        expect(fake.accepted).toHaveLength(6);
        yield* Effect.promise(() => insertOutbox(store.client, "job-late", job("late", 1)));
        yield* TestClock.adjust(1999);
        yield* settleIo;
        expect([rounds, fake.accepted.length]).toEqual([1, 6]);
        yield* TestClock.adjust(1);
        yield* eventually(() => rounds === 2, "the second flush");
        stop.abort();
        yield* Fiber.join(fiber);
      }));
      expect(fake.accepted).toHaveLength(10);
      expect(orderProblems(fake.accepted)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("waits for the interval when events arrive during a flush that read all there was", async () => {
    const store = await seed(1); // 6 OpenLineage events
    try {
      const stop = new AbortController();
      const taken: OutboxRow[] = [];
      const reports: SinkReport[] = [];
      // A sink during whose first delivery a job writes 4 more events.
      const sink: LineageSink = {
        name: "busy-store",
        channels: ["openlineage"],
        deliver: (events) =>
          Effect.promise(async () => {
            if (taken.length === 0) await insertOutbox(store.client, "job-late", job("late", 1));
            taken.push(...events);
          }),
      };
      await runTest(Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(onStore(
          store,
          runRelay([sink], {
            interval: "2 seconds",
            signal: stop.signal,
            onFlush: (r) => Effect.sync(() => void reports.push(...r)),
          }),
        ));
        yield* eventually(() => reports.length === 1, "the first flush");
        yield* settleIo;
        // Pending, but no backlog: the next flush waits for the interval, and takes them at once.
        expect(reports.map(report)).toEqual([
          { sink: "busy-store", delivered: 6, pending: 4, deadLettered: 0 },
        ]);
        yield* TestClock.adjust(1999);
        yield* settleIo;
        expect(reports).toHaveLength(1);
        yield* TestClock.adjust(1);
        yield* eventually(() => reports.length === 2, "the flush an interval later");
        stop.abort();
        yield* Fiber.join(fiber);
      }));
      expect(reports.map(report)[1]).toEqual({
        sink: "busy-store",
        delivered: 4,
        pending: 0,
        deadLettered: 0,
      });
      expect(taken).toHaveLength(10);
      expect(orderProblems(taken.map((r) => r.payload))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("delivers a backlog page budget by page budget, recording each part delivered, without waiting", async () => {
    const store = await seed(2); // 12 OpenLineage events
    try {
      const fake = withFake();
      const stop = new AbortController();
      const deliveredAfterRound: number[] = [];
      const reports: SinkReport[] = [];
      await runTest(Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(onStore(
          store,
          runRelay([marquezSink()], {
            interval: "1 hour",
            batchSize: 2,
            maxPages: 2,
            signal: stop.signal,
            onFlush: (r) =>
              Effect.promise(async () => {
                reports.push(...r);
                deliveredAfterRound.push(
                  (await Effect.runPromise(storeFootprint(store.client))).outbox.delivered,
                );
              }),
          }),
        ));
        // The clock never moves: every flush after the first comes at once, since events wait.
        yield* eventually(() => fake.accepted.length === 12, "the whole backlog");
        yield* eventually(() => deliveredAfterRound.length === 3, "three flushes");
        stop.abort();
        yield* Fiber.join(fiber);
      }));
      // Each flush took two pages of two events and recorded them delivered before the next; the
      // CloudEvent after each job's six, which no sink takes, once the cursor passed it.
      expect(deliveredAfterRound).toEqual([4, 9, 14]);
      // What was left after a flush was counted up to one page only.
      expect(reports.map(({ delivered, pending, pendingAtLeast }) => ({
        delivered,
        pending,
        pendingAtLeast,
      }))).toEqual([
        { delivered: 4, pending: 2, pendingAtLeast: true },
        { delivered: 4, pending: 2, pendingAtLeast: true },
        { delivered: 4, pending: 0, pendingAtLeast: undefined },
      ]);
      expect(orderProblems(fake.accepted)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("prunes as often as a short retention asks, at most once a second; a long one once a minute", async () => {
    const prunesAt = async (retention: Duration.Input) => {
      const store = await seed(1);
      try {
        withFake();
        const at: number[] = [];
        const outbox: OutboxWithDeliveryLog = {
          ...(store.outbox as OutboxWithDeliveryLog),
          prune: (olderThanMs) =>
            Effect.andThen(
              Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (t) =>
                Effect.sync(() => void at.push(t))),
              store.outbox.prune!(olderThanMs),
            ),
        };
        const stop = new AbortController();
        let rounds = 0;
        await runTest(Effect.gen(function* () {
          const fiber = yield* Effect.forkChild(
            runRelay([marquezSink()], {
              interval: "250 millis",
              retention,
              signal: stop.signal,
              onFlush: () => Effect.sync(() => void rounds++),
            }).pipe(Effect.provide(Layer.succeed(OutboxStore, outbox))),
          );
          // 3 seconds of flushes, every 250 ms.
          for (let round = 1; round <= 12; round++) {
            yield* eventually(() => rounds === round, `flush ${round}`);
            yield* TestClock.adjust(250);
          }
          stop.abort();
          yield* Fiber.join(fiber);
        }));
        return at.map((t) => t - at[0]);
      } finally {
        await store.close();
      }
    };
    expect(await prunesAt(Duration.zero)).toEqual([0, 1000, 2000, 3000]);
    expect(await prunesAt(Duration.millis(1500))).toEqual([0, 1500, 3000]);
    expect(await prunesAt(Duration.days(7))).toEqual([0]);
  });

  it("backs off from a failing sink: retried after 1, 2, 4 intervals, capped at maxBackoff", async () => {
    const store = await seed(1);
    try {
      const fake = withFake();
      fake.mode = "down";
      let rounds = 0;
      const stop = new AbortController();
      const attemptsAt: number[] = [];
      await runTest(Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(onStore(
          store,
          runRelay([marquezSink({ retry: { maxAttempts: 1 } })], {
            interval: "1 second",
            maxBackoff: "3 seconds",
            signal: stop.signal,
            onFlush: () => Effect.sync(() => void rounds++),
          }),
        ));
        for (let second = 0; second <= 10; second++) {
          yield* eventually(() => rounds === second + 1, `round ${second + 1}`);
          if (fake.requests.length > attemptsAt.length) attemptsAt.push(second);
          yield* TestClock.adjust(1000);
        }
        stop.abort();
        yield* Fiber.join(fiber);
      }));
      expect(attemptsAt).toEqual([0, 1, 3, 6, 9]);
    } finally {
      await store.close();
    }
  });
});

const deno = (args: string[], cwd: string) =>
  new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" });

/** Reads a FIFO whose writer is gone: what the pipe still holds, then end of file. */
const drainPipe = async (reader: Deno.FsFile): Promise<string> => {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(65_536);
  for (let n = await reader.read(buf); n !== null; n = await reader.read(buf)) {
    parts.push(buf.slice(0, n));
  }
  reader.close();
  return new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p])));
};

/** Sequence numbers a sink has settled (behind its cursor or recorded one by one). */
const settledSeqs = async (store: Store, sink: string): Promise<number[]> =>
  (await store.client.query<{ seq: number }>(
    `select o.seq::int as seq from lk_outbox o
     where o.seq <= coalesce((select last_seq from lk_outbox_cursors where sink = $1), 0)
        or exists (select 1 from lk_outbox_settled s where s.sink = $1 and s.seq = o.seq)
     order by o.seq`,
    [sink],
  )).map((r) => r.seq);

const outboxRows = async (store: Store, channel: string) =>
  await store.client.query<{ seq: number; payload: Event }>(
    `select seq::int as seq, payload::json as payload from lk_outbox where channel = $1 order by seq`,
    [channel],
  );

describe("a crash between the pipeline and the delivery of its lineage", () => {
  it(
    "loses nothing: after a SIGKILL mid-run, `lineage flush` and a re-run deliver every unsettled event exactly once",
    async () => {
      const dir = await tempDir();
      const lineage = resolve(dir, "lineage");
      const repo = resolve(import.meta.dirname!, "../..");
      try {
        await Deno.mkdir(lineage);
        const fifos = ["openlineage.jsonl", "cloudevents.jsonl"].map((f) => resolve(lineage, f));
        const sinkNames = [`jsonl:openlineage:${fifos[0]}`, `jsonl:cloudevents:${fifos[1]}`];
        // FIFOs as lineage files: the relay blocks opening them until a reader comes, and the
        // CloudEvents one never gets a reader, so its events cannot be handed over before the kill.
        expect((await new Deno.Command("mkfifo", { args: fifos }).output()).code).toBe(0);
        const child = deno(["run", "-q", "-A", "cli/run_pipeline.ts", "--store", dir], repo)
          .spawn();
        // Opening for reading returns once the relay opens the file to write: the run is under
        // way and its events are in the outbox.
        const reader = await Deno.open(fifos[0], { read: true });
        child.kill("SIGKILL");
        expect((await child.output()).signal).toBe("SIGKILL");
        // The pipe may hold what the relay wrote before the kill: that much the sink took.
        const taken = (await drainPipe(reader)).split("\n");
        for (const f of fifos) await Deno.remove(f);
        const atKill = await openEmbeddedStore(dir);
        const settledAtKill = await Promise.all(sinkNames.map((s) => settledSeqs(atKill, s)));
        const rowsAtKill = await outboxRows(atKill, "openlineage");
        await atKill.close();
        // An event is recorded as settled only after the sink took it, whole.
        const takenWhole = new Set(taken.slice(0, -1));
        const bySeq = new Map(rowsAtKill.map((r) => [r.seq, JSON.stringify(r.payload)]));
        expect(settledAtKill[0].filter((seq) => !takenWhole.has(bySeq.get(seq)!))).toEqual([]);
        expect(settledAtKill[1]).toEqual([]);

        const flushed = await deno(
          ["run", "-A", "cli/lineage.ts", "flush", "--store", dir, "--json"],
          repo,
        ).output();
        expect(flushed.code).toBe(0);
        // The next run finishes the jobs the kill interrupted; then every event of both runs that
        // was not settled at the kill is in the files exactly once, in outbox order.
        const rerun = await deno(["run", "-q", "-A", "cli/run_pipeline.ts", "--store", dir], repo)
          .output();
        expect(rerun.code).toBe(0);
        const again = await deno(
          ["run", "-A", "cli/lineage.ts", "flush", "--store", dir, "--json"],
          repo,
        ).output();
        const out = new TextDecoder().decode(again.stdout);
        expect(again.code).toBe(0);
        const store = await openEmbeddedStore(dir);
        try {
          // The re-run took over at once the jobs the killed process left running.
          expect(
            await store.client.query<{ status: string; n: number }>(
              "select status, count(*)::int as n from lk_jobs group by status",
            ),
          ).toEqual([{ status: "succeeded", n: 20 }]);
          const ol = await outboxRows(store, "openlineage");
          expect(ol.length).toBeGreaterThan(100);
          const earlier = new Set(settledAtKill[0]);
          expect(await readJsonl(fifos[0])).toEqual(
            ol.filter((r) => !earlier.has(r.seq)).map((r) => r.payload),
          );
          const ce = await outboxRows(store, "cloudevents");
          expect(await readJsonl(fifos[1])).toEqual(ce.map((r) => r.payload));
          const last = JSON.parse(out.trim().split("\n").pop()!);
          expect(last.sinks.map((s: SinkReport) => s.pending)).toEqual([0, 0]);
        } finally {
          await store.close();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
    240_000,
  );
});
