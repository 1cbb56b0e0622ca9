// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Deferred, Effect } from "effect";
import { TestClock } from "effect/testing";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { JobLedger } from "../../pipelines/ledger.ts";
import { InvalidInput, Permanent, Transient } from "../../stages/errors.ts";
import {
  compile,
  driven,
  enqueue,
  runDriven,
  runnerLayer,
  scriptedStages,
} from "./_runner_harness.ts";
import { runJob } from "../../pipelines/runner.ts";

type Row = { channel: string; run_id: string; payload: Record<string, any> };

let store: Store;
beforeAll(async () => {
  store = await openEmbeddedStore();
});
afterAll(() => store.close());

const eventsOf = async (jobId: string) => (await store.client.query<Row>(
  "select channel, run_id, payload::json as payload from lk_outbox where job_id = $1 order by seq",
  [jobId],
));
const openlineage = async (jobId: string) =>
  (await eventsOf(jobId)).filter((r) => r.channel === "openlineage").map((r) => r.payload);
const cloudevents = async (jobId: string) =>
  (await eventsOf(jobId)).filter((r) => r.channel === "cloudevents").map((r) => r.payload);
const timeline = (events: Array<Record<string, any>>) =>
  events.map((e) => `${e.job.name} ${e.eventType}`);

const START = Date.parse("2026-01-01T00:00:00Z");

describe("runJob()", () => {
  it.effect("runs independent branches concurrently and records START/COMPLETE for every stage", () => {
    // Embed waits until Extract has started: only concurrent branches can finish.
    return Effect.gen(function* () {
      const extractStarted = yield* Deferred.make<void>();
      const { registry } = scriptedStages({
        Extract: () => Deferred.succeed(extractStarted, undefined),
        Embed: () => Deferred.await(extractStarted),
      });
      const pipeline = compile();
      const outcome = yield* Effect.gen(function* () {
        const job = yield* enqueue("BRANCHES", pipeline);
        return yield* runDriven(job, pipeline);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("succeeded");
      const events = yield* Effect.promise(() => openlineage(outcome.jobId));
      expect(events.length).toBe(16);
      expect(events[0].job.name).toBe("auto");
      expect(events[0].eventType).toBe("START");
      expect(events[15].job.name).toBe("auto");
      expect(events[15].eventType).toBe("COMPLETE");
      for (const stage of ["ingest", "parse", "chunk", "embed", "index", "extract", "kg"]) {
        expect(timeline(events).filter((t) => t.startsWith(`auto.${stage} `))).toEqual([
          `auto.${stage} START`,
          `auto.${stage} COMPLETE`,
        ]);
      }
    });
  });

  it.effect("fails fast: the first stage that gives up fails the job, running siblings ABORT, unstarted stages emit nothing", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry, calls } = scriptedStages({
        Extract: () => Effect.fail(new Permanent({ message: "extractor rejected the document" })),
        Embed: () => Effect.never,
      });
      const pipeline = compile();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueue("FAILFAST", pipeline);
        const outcome = yield* runDriven(job, pipeline);
        const ledger = yield* JobLedger;
        return { outcome, job: yield* ledger.get(job.jobId) };
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("failed");
      expect(job?.status).toBe("failed");
      expect(job?.error).toEqual({
        type: "Permanent",
        message: "extractor rejected the document",
        stage: "extract",
        policy: "default",
        attempts: 1,
      });
      expect(calls.Index).toBeUndefined();
      expect(calls.KG).toBeUndefined();
      const events = yield* Effect.promise(() => openlineage(outcome.jobId));
      const t = timeline(events);
      expect(t.filter((x) => x.startsWith("auto.embed "))).toEqual([
        "auto.embed START",
        "auto.embed ABORT",
      ]);
      expect(t.filter((x) => x.startsWith("auto.extract "))).toEqual([
        "auto.extract START",
        "auto.extract FAIL",
      ]);
      expect(t.some((x) => x.startsWith("auto.index ") || x.startsWith("auto.kg "))).toBe(false);
      expect(t[t.length - 1]).toBe("auto FAIL");
      expect(events[events.length - 1].run.facets.errorMessage.message).toBe(
        "extract: Permanent: extractor rejected the document",
      );
      const ce = yield* Effect.promise(() => cloudevents(outcome.jobId));
      const abort = ce.find((e) => e.oleventtype === "ABORT")!;
      expect(abort.type).toBe("org.medicalkg.orchestration.stage.failed");
      expect(abort.data.reason).toBe("interrupted");
    }));

  it.effect("retries a transient failure with the policy's backoff, each attempt its own run", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry, calls } = scriptedStages({
        Parse: (n) =>
          n < 3 ? Effect.fail(new Transient({ message: `503 on call ${n}` })) : Effect.void,
      });
      const pipeline = compile();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueue("RETRY", pipeline);
        const outcome = yield* runDriven(job, pipeline, {}, 20);
        return { outcome, job: yield* (yield* JobLedger).get(job.jobId) };
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("succeeded");
      expect(calls.Parse).toBe(3);
      expect(job?.attempts.parse).toBe(3);
      expect(job?.retries.parse).toBe(2);
      const events = (yield* Effect.promise(() => openlineage(outcome.jobId))).filter((e) =>
        e.job.name === "auto.parse"
      );
      expect(events.map((e) => e.eventType)).toEqual([
        "START",
        "FAIL",
        "START",
        "FAIL",
        "START",
        "COMPLETE",
      ]);
      const runIds = [...new Set(events.map((e) => e.run.runId))];
      expect(runIds).toHaveLength(3);
      expect(events[2].run.facets.lineageKit_attempt.retryOf).toBe(runIds[0]);
      expect(events[1].run.facets.errorMessage.message).toBe("Transient: 503 on call 1");
      const retrying = (yield* Effect.promise(() => cloudevents(outcome.jobId)))
        .filter((e) => e.type === "org.medicalkg.orchestration.stage.retrying");
      expect(retrying.map((e) => e.data.attempt_number)).toEqual([1, 2]);
      const [b1, b2] = retrying.map((e) => e.data.backoff_ms);
      // default: exponential from 1 s with up to 1 s jitter.
      expect(b1).toBeGreaterThanOrEqual(1000);
      expect(b1).toBeLessThanOrEqual(2000);
      expect(b2).toBeGreaterThanOrEqual(2000);
      expect(b2).toBeLessThanOrEqual(3000);
      // The next attempt starts no earlier than the backoff after the failure.
      const gap = (i: number) =>
        Date.parse(events[i + 1].eventTime) - Date.parse(events[i].eventTime);
      expect(gap(1)).toBeGreaterThanOrEqual(b1);
      expect(gap(3)).toBeGreaterThanOrEqual(b2);
    }));

  it.effect("interrupts an attempt at timeout_seconds and fails the job with Timeout after max_attempts", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry, calls } = scriptedStages({ Chunk: () => Effect.never });
      const pipeline = compile();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueue("TIMEOUT", pipeline);
        const outcome = yield* runDriven(job, pipeline, {}, 500);
        return { outcome, job: yield* (yield* JobLedger).get(job.jobId) };
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("failed");
      expect(calls.Chunk).toBe(3);
      expect(job?.error).toMatchObject({
        type: "Timeout",
        stage: "chunk",
        policy: "default",
        attempts: 3,
      });
      const events = (yield* Effect.promise(() => openlineage(outcome.jobId))).filter((e) =>
        e.job.name === "auto.chunk"
      );
      expect(events.map((e) => e.eventType)).toEqual([
        "START",
        "FAIL",
        "START",
        "FAIL",
        "START",
        "FAIL",
      ]);
      for (let i = 0; i < 6; i += 2) {
        const ran = Date.parse(events[i + 1].eventTime) - Date.parse(events[i].eventTime);
        expect(ran).toBeGreaterThanOrEqual(30_000);
        expect(ran).toBeLessThan(30_000 + 1_000);
      }
      expect(events[5].run.facets.errorMessage.message).toBe("Timeout: attempt 3 ran past 30s");
    }));

  it.effect("never retries InvalidInput", () =>
    Effect.gen(function* () {
      const { registry, calls } = scriptedStages({
        Parse: () => Effect.fail(new InvalidInput({ message: "bad field", path: "a.b" })),
      });
      const pipeline = compile();
      const outcome = yield* Effect.gen(function* () {
        return yield* runDriven(yield* enqueue("INVALID", pipeline), pipeline);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("failed");
      expect(outcome.error).toEqual({
        type: "InvalidInput",
        message: "bad field",
        path: "a.b",
        stage: "parse",
        policy: "default",
        attempts: 1,
      });
      expect(calls.Parse).toBe(1);
    }));

  it.effect("a re-run resumes after the last checkpoint; --force re-runs everything", () =>
    Effect.gen(function* () {
      let kgFails = true;
      const { registry, calls } = scriptedStages({
        KG: () => kgFails ? Effect.fail(new Permanent({ message: "graph down" })) : Effect.void,
      });
      const pipeline = compile();
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("RESUME", pipeline);
        expect((yield* runDriven(job, pipeline)).status).toBe("failed");
        // Index races the failing KG branch: it may have been interrupted before it started.
        expect({ ...calls, Index: 1 }).toEqual({
          Ingest: 1,
          Parse: 1,
          Chunk: 1,
          Embed: 1,
          Index: 1,
          Extract: 1,
          KG: 1,
        });
        kgFails = false;
        expect((yield* runDriven((yield* ledger.get(job.jobId))!, pipeline)).status).toBe(
          "succeeded",
        );
        expect({ ...calls }).toEqual({
          Ingest: 1,
          Parse: 1,
          Chunk: 1,
          Embed: 1,
          Index: 1,
          Extract: 1,
          KG: 2,
        });
        const done = (yield* ledger.get(job.jobId))!;
        // A job done before the run is reported as it was read: the store is not read again.
        let reads = 0;
        const counting = {
          ...ledger,
          get: (jobId: string) => {
            reads++;
            return ledger.get(jobId);
          },
        };
        const skipped = yield* Effect.provideService(
          runDriven(done, pipeline),
          JobLedger,
          counting,
        );
        expect([skipped.status, reads]).toEqual(["skipped", 0]);
        const forced = yield* runDriven((yield* ledger.get(job.jobId))!, pipeline, { force: true });
        expect(forced.status).toBe("succeeded");
        expect({ ...calls }).toEqual({
          Ingest: 2,
          Parse: 2,
          Chunk: 2,
          Embed: 2,
          Index: 2,
          Extract: 2,
          KG: 3,
        });
        expect((yield* ledger.get(job.jobId))?.runNumber).toBe(3);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("takes over a job left running by a dead process only once its lease has expired, ending the dead run's open runs with ABORT", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry } = scriptedStages({});
      const pipeline = compile();
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("LEASED", pipeline);
        // A process claims the job and starts its ingest, then dies.
        expect(
          yield* ledger.beginRun({
            jobId: job.jobId,
            runNumber: 1,
            at: new Date(START),
            from: ["queued"],
            fresh: false,
            reason: "run started",
            lease: { owner: "runner-dead", ttlMs: 60_000 },
          }, []),
        ).toBe(true);
        yield* ledger.recordStage(
          job.jobId,
          1,
          { kind: "started", stage: "ingest", attempt: 1 },
          [],
        );
        const left = (yield* ledger.get(job.jobId))!;
        expect((yield* runDriven(left, pipeline, { reclaimRunning: true })).status).toBe("held");
        yield* Effect.promise(() =>
          store.client.query(
            "update lk_jobs set lease_expires_at = now() - interval '1 second' where job_id = $1",
            [job.jobId],
          )
        );
        // The dead process got as far as starting parse after `left` was read: the take-over
        // ends what the locked row shows, not what the stale copy does.
        yield* ledger.recordStage(job.jobId, 1, {
          kind: "succeeded",
          stage: "ingest",
          attempt: 1,
          output: {},
        }, []);
        yield* ledger.recordStage(
          job.jobId,
          1,
          { kind: "started", stage: "parse", attempt: 1 },
          [],
        );
        expect((yield* runDriven(left, pipeline, { reclaimRunning: true })).status).toBe(
          "succeeded",
        );
        const events = yield* Effect.promise(() => openlineage(job.jobId));
        const of = (name: string) =>
          events.filter((e) => e.job.name === name).map((e) => e.eventType);
        expect(of("auto.ingest")).toEqual([]);
        expect(of("auto.parse")).toEqual(["ABORT", "START", "COMPLETE"]);
        expect((yield* ledger.get(job.jobId))?.leaseOwner).toBeNull();
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("a run that lost its lease to another process stops, and nothing it still writes lands: every run starts once and ends once", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      // The first ingest hangs (its process stalls); the one that takes over is quick.
      const { registry } = scriptedStages({
        Ingest: (call) => (call === 1 ? Effect.sleep("10 seconds") : Effect.void),
      });
      const pipeline = compile();
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("LOST", pipeline);
        const takeOver = Effect.gen(function* () {
          yield* Effect.sleep("200 millis");
          // The stalled process's lease runs out; another process takes the job over.
          yield* Effect.promise(() =>
            store.client.query(
              "update lk_jobs set lease_expires_at = now() - interval '1 second' where job_id = $1",
              [job.jobId],
            )
          );
          const left = (yield* ledger.get(job.jobId))!;
          return yield* runJob(left, pipeline, { reclaimRunning: true });
        });
        const [stalled, taker] = yield* driven(
          Effect.all([runJob(job, pipeline, { leaseMs: 3_000 }), takeOver], { concurrency: 2 }),
        );
        expect(stalled.status).toBe("held");
        expect(taker.status).toBe("succeeded");
        const events = yield* Effect.promise(() => openlineage(job.jobId));
        const byRun = new Map<string, string[]>();
        for (const e of events) {
          byRun.set(e.run.runId, [...(byRun.get(e.run.runId) ?? []), e.eventType]);
        }
        for (const [runId, types] of byRun) {
          expect({ runId, types: [types[0], types.at(-1)] }).toMatchObject({
            runId,
            types: ["START", expect.stringMatching(/^(COMPLETE|FAIL|ABORT)$/)],
          });
          expect(types.filter((t) => ["COMPLETE", "FAIL", "ABORT"].includes(t))).toHaveLength(1);
        }
        // The stalled run's ingest and pipeline runs were ended by the process that took over.
        expect(
          events.filter((e) => e.job.name === "auto.ingest").map((e) => e.eventType),
        ).toEqual(["START", "ABORT", "START", "COMPLETE"]);
        expect(yield* ledger.get(job.jobId)).toMatchObject({ status: "succeeded", runNumber: 2 });
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("re-runs a failed job after its last checkpoint, and from scratch with force", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry, calls } = scriptedStages({
        Chunk: (call) =>
          call === 1 ? Effect.fail(new InvalidInput({ message: "bad", path: "x" })) : Effect.void,
      });
      const pipeline = compile("once");
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("REDO", pipeline);
        expect((yield* runDriven(job, pipeline)).status).toBe("failed");
        const failed = (yield* ledger.get(job.jobId))!;
        expect((yield* runDriven(failed, pipeline)).status).toBe("succeeded");
        // The re-run reused ingest and parse.
        expect([calls.Ingest, calls.Parse, calls.Chunk]).toEqual([1, 1, 2]);
        const done = (yield* ledger.get(job.jobId))!;
        expect((yield* runDriven(done, pipeline, { force: true })).status).toBe("succeeded");
        expect([calls.Ingest, calls.Parse, calls.Chunk]).toEqual([2, 2, 3]);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("with force, re-runs a failed job from scratch (its checkpoints may be what fails it)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry, calls } = scriptedStages({
        Chunk: (call) =>
          call === 1 ? Effect.fail(new InvalidInput({ message: "bad", path: "x" })) : Effect.void,
      });
      const pipeline = compile("once");
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("REDO-FORCED", pipeline);
        expect((yield* runDriven(job, pipeline)).status).toBe("failed");
        const failed = (yield* ledger.get(job.jobId))!;
        expect((yield* runDriven(failed, pipeline, { force: true })).status).toBe("succeeded");
        expect([calls.Ingest, calls.Parse, calls.Chunk]).toEqual([2, 2, 2]);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));
});
