import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect, Fiber, Layer } from "effect";
import { TestClock } from "effect/testing";
import { StoreError } from "../../lineage/outbox.ts";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { type Job, JobLedger } from "../../pipelines/ledger.ts";
import { runWorker } from "../../pipelines/worker.ts";
import {
  autoShape,
  compileConfig,
  driven,
  enqueue,
  runnerLayer,
  scriptedStages,
} from "./_runner_harness.ts";

let store: Store;
beforeAll(async () => {
  store = await openEmbeddedStore();
});
afterAll(() => store.close());

const config = compileConfig([{ file: "auto.yaml", text: autoShape("default") }]);
const pipeline = config.pipeline("auto")!;

// A ledger whose listings are counted: how many jobs each returned, in order.
const countingListings = () => {
  const asked: number[] = [];
  const counting = Layer.succeed(JobLedger, {
    ...store.ledger,
    runnable: (filter) =>
      store.ledger.runnable(filter).pipe(
        Effect.tap((jobs) => Effect.sync(() => asked.push(jobs.length))),
      ),
  });
  return { asked, counting };
};

// Enqueues `n` jobs, runs a worker with `concurrency` slots until none is left, and expects it
// to have run every one.
const runsEveryJob = (prefix: string, n: number, concurrency: number, stepMs?: number) =>
  Effect.gen(function* () {
    const jobs: Job[] = [];
    for (let i = 0; i < n; i++) jobs.push(yield* enqueue(`${prefix}${i}`, pipeline));
    const report = yield* driven(runWorker(config, { concurrency, once: true }), stepMs);
    expect(report.outcomes.map((o) => o.jobId).sort()).toEqual(jobs.map((j) => j.jobId).sort());
  });

describe("runWorker()", () => {
  it.effect("two workers share the queue: every queued job runs once, in one of them", () =>
    Effect.gen(function* () {
      // Ingest takes a while, so both workers have jobs in flight at once.
      const { registry, calls } = scriptedStages({ Ingest: () => Effect.sleep("1 second") });
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const jobs: Job[] = [];
        for (let i = 0; i < 6; i++) jobs.push(yield* enqueue(`W${i}`, pipeline));
        const [a, b] = yield* driven(
          Effect.all([
            runWorker(config, { concurrency: 2, once: true }),
            runWorker(config, { concurrency: 2, once: true }),
          ], { concurrency: 2 }),
        );
        const ran = [...a.outcomes, ...b.outcomes].map((o) => o.jobId).sort();
        expect(ran).toEqual(jobs.map((j) => j.jobId).sort());
        expect(a.outcomes.length).toBeGreaterThan(0);
        expect(b.outcomes.length).toBeGreaterThan(0);
        expect(calls.Ingest).toBe(6);
        for (const job of jobs) expect((yield* ledger.get(job.jobId))?.status).toBe("succeeded");
        const starts = yield* Effect.promise(() =>
          store.client.query<{ n: number }>(
            `select count(*)::int as n from lk_outbox where channel = 'openlineage'
             and payload::json->'job'->>'name' = 'auto' and payload::json->>'eventType' = 'START'
             and job_id = any($1::text[])`,
            [jobs.map((j) => j.jobId)],
          )
        );
        expect(starts[0].n).toBe(6);
        // Nothing left: another pass finds no work.
        expect((yield* runWorker(config, { concurrency: 2, once: true })).outcomes).toEqual([]);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("reports a store it cannot list jobs from, instead of finding nothing to do", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({});
      const failing = Layer.succeed(JobLedger, {
        ...store.ledger,
        runnable: () =>
          Effect.fail(new StoreError({ operation: "runnable", message: "connection refused" })),
      });
      const report = yield* runWorker(config, { concurrency: 2, once: true }).pipe(
        Effect.provide(Layer.merge(runnerLayer(store, registry), failing)),
      );
      expect(report).toEqual({
        outcomes: [],
        storeFailures: ["listing runnable jobs: runnable: connection refused"],
      });
    }));

  it.effect("lists a slot's worth of jobs at a time, not one listing per job", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({ Ingest: () => Effect.sleep("1 second") });
      const { asked, counting } = countingListings();
      yield* Effect.gen(function* () {
        yield* runsEveryJob("LIST", 9, 3);
        // Each listing fills the slots that free after it, until its jobs are used up (then
        // only the last ones, as they end, find the queue empty).
        expect(asked.filter((n) => n > 0)).toEqual([3, 3, 3]);
      }).pipe(Effect.provide(Layer.merge(runnerLayer(store, registry), counting)));
    }));

  it.effect("lets go of listed jobs it could not start within their reservation, and lists again", () =>
    Effect.gen(function* () {
      // Two slots: the second job holds one for 30 s, the third the other for 10 s, so the
      // fourth, listed with the third, waits longer than its 5 s reservation.
      const seconds = [1, 30, 10, 1];
      const { registry } = scriptedStages({
        Ingest: (call) => Effect.sleep(`${seconds[call - 1] ?? 1} seconds`),
      });
      const { asked, counting } = countingListings();
      yield* Effect.gen(function* () {
        yield* runsEveryJob("STALE", 4, 2, 500);
        expect(asked.filter((n) => n > 0)).toEqual([2, 2, 1]);
      }).pipe(Effect.provide(Layer.merge(runnerLayer(store, registry), counting)));
    }));

  it.effect("runs a job enqueued while it sleeps: the store's notification wakes it, not its poll", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({});
      yield* Effect.gen(function* () {
        const stop = new AbortController();
        // The test clock never moves: only the notification can end the hour-long sleep.
        const worker = yield* Effect.forkChild(runWorker(config, {
          concurrency: 2,
          pollInterval: "1 hour",
          signal: stop.signal,
          onDone: () => stop.abort(),
        }));
        yield* TestClock.withLive(Effect.sleep("100 millis"));
        const job = yield* enqueue("WAKE1", pipeline);
        const report = yield* Fiber.join(worker);
        expect(report.outcomes.map((o) => [o.jobId, o.status])).toEqual([
          [job.jobId, "succeeded"],
        ]);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));
});
