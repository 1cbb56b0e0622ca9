// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect } from "effect";
import { TestClock } from "effect/testing";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { JobLedger } from "../../pipelines/ledger.ts";
import { sensorTick } from "../../pipelines/sensor.ts";
import {
  compileConfig,
  driven,
  enqueue,
  parsedPdfDocument,
  pdfShape,
  runDriven,
  runnerLayer,
  scriptedStages,
} from "./_runner_harness.ts";

let store: Store;
beforeAll(async () => {
  store = await openEmbeddedStore();
});
afterAll(() => store.close());

const START = Date.parse("2026-01-01T00:00:00Z");
const config = compileConfig([{ file: "pdf.yaml", text: pdfShape(900) }]);
const pipeline = config.pipeline("pdf")!;
const document = parsedPdfDocument;
const openlineage = async (jobId: string) =>
  (await store.client.query<{ payload: Record<string, any> }>(
    "select payload::json as payload from lk_outbox where job_id = $1 and channel = 'openlineage' order by seq",
    [jobId],
  )).map((r) => r.payload);
const cloudevents = async (jobId: string) =>
  (await store.client.query<{ payload: Record<string, any> }>(
    "select payload::json as payload from lk_outbox where job_id = $1 and channel = 'cloudevents' order by seq",
    [jobId],
  )).map((r) => r.payload);

describe("gates", () => {
  it.effect("pause the job at the gate with the pipeline run open; the sensor resumes it once the condition holds, without redoing earlier stages", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry, calls } = scriptedStages({});
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("PAUSE", pipeline, "unpaywall");
        const paused = yield* runDriven(job, pipeline);
        expect(paused).toMatchObject({ status: "paused", gate: "gate_pdf_ir_ready" });
        const atGate = (yield* ledger.get(job.jobId))!;
        expect(atGate).toMatchObject({
          status: "paused",
          currentStage: "gate_pdf_ir_ready",
          pdfDownloaded: true,
          pdfIrReady: false,
        });
        expect(atGate.pausedAt).toBeInstanceOf(Date);
        const before = yield* Effect.promise(() => openlineage(job.jobId));
        expect(before.filter((e) => e.job.name === "pdf").map((e) => e.eventType)).toEqual([
          "START",
          "RUNNING",
        ]);
        expect(before.filter((e) => e.job.name === "pdf.gate_pdf_ir_ready").map((e) => e.eventType))
          .toEqual(["START", "RUNNING"]);
        // Nothing happens while the condition does not hold.
        expect((yield* sensorTick(config)).resumed).toEqual([]);

        yield* ledger.setFields(job.jobId, {
          pdfIrReady: true,
          artifacts: { document: document(job.docId) },
        }, []);
        yield* TestClock.adjust("30 seconds");
        const report = yield* driven(sensorTick(config));
        expect(report.resumed.map((o) => o.status)).toEqual(["succeeded"]);
        expect({ ...calls }).toEqual({
          Ingest: 1,
          Download: 1,
          Chunk: 1,
          Embed: 1,
          Index: 1,
          Extract: 1,
          KG: 1,
        });
        const events = yield* Effect.promise(() => openlineage(job.jobId));
        const pipelineRun = events.filter((e) => e.job.name === "pdf");
        expect(pipelineRun.map((e) => e.eventType)).toEqual([
          "START",
          "RUNNING",
          "RUNNING",
          "COMPLETE",
        ]);
        expect(new Set(pipelineRun.map((e) => e.run.runId)).size).toBe(1);
        const gate = events.filter((e) => e.job.name === "pdf.gate_pdf_ir_ready");
        expect(gate.map((e) => e.eventType)).toEqual(["START", "RUNNING", "COMPLETE"]);
        const ce = (yield* Effect.promise(() => cloudevents(job.jobId))).map((e) =>
          e.type.split(".").slice(-2).join(".")
        );
        expect(ce.filter((t) => t.startsWith("pipeline.") || t.startsWith("gate."))).toEqual([
          "pipeline.started",
          "gate.waiting",
          "pipeline.paused",
          "pipeline.resumed",
          "gate.opened",
          "pipeline.completed",
        ]);
        const opened = (yield* Effect.promise(() => cloudevents(job.jobId))).find((e) =>
          e.type.endsWith("gate.opened")
        )!;
        expect(opened.data.waited_ms).toBeGreaterThanOrEqual(30_000);
        expect((yield* ledger.get(job.jobId))?.status).toBe("succeeded");
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("resume exactly once when two sensors race", () =>
    Effect.gen(function* () {
      const { registry, calls } = scriptedStages({});
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const jobs = [];
        for (const key of ["RACE1", "RACE2", "RACE3"]) {
          const job = yield* enqueue(key, pipeline, "unpaywall");
          expect((yield* runDriven(job, pipeline)).status).toBe("paused");
          yield* ledger.setFields(job.jobId, {
            pdfIrReady: true,
            artifacts: { document: document(job.docId) },
          }, []);
          jobs.push(job);
        }
        const before = calls.Chunk ?? 0;
        const [a, b] = yield* driven(
          Effect.all([sensorTick(config), sensorTick(config)], { concurrency: 2 }),
        );
        const resumed = [...a.resumed, ...b.resumed].map((o) => o.jobId).sort();
        expect(resumed).toEqual(jobs.map((j) => j.jobId).sort());
        expect((calls.Chunk ?? 0) - before).toBe(3);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("a job paused past timeout_seconds fails with GateTimedOut; one resumed before it does not", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { registry } = scriptedStages({});
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const late = yield* enqueue("LATE", pipeline, "unpaywall");
        const early = yield* enqueue("EARLY", pipeline, "unpaywall");
        expect((yield* runDriven(late, pipeline)).status).toBe("paused");
        expect((yield* runDriven(early, pipeline)).status).toBe("paused");
        yield* TestClock.adjust("899 seconds");
        const waiting = yield* sensorTick(config);
        expect(waiting.timedOut).toEqual([]);
        expect(waiting.waiting.map((w) => w.jobId).sort()).toEqual(
          [early.jobId, late.jobId].sort(),
        );
        yield* ledger.setFields(early.jobId, {
          pdfIrReady: true,
          artifacts: { document: document(early.docId) },
        }, []);
        yield* driven(sensorTick(config));
        yield* TestClock.adjust("2 seconds");
        const report = yield* sensorTick(config);
        expect(report.timedOut).toEqual([late.jobId]);
        expect((yield* ledger.get(early.jobId))?.status).toBe("succeeded");
        expect(yield* ledger.get(late.jobId)).toMatchObject({
          status: "failed",
          error: {
            type: "GateTimedOut",
            stage: "gate_pdf_ir_ready",
            policy: "default",
            attempts: 1,
          },
        });
        const events = yield* Effect.promise(() => openlineage(late.jobId));
        expect(events.filter((e) => e.job.name === "pdf").map((e) => e.eventType)).toEqual([
          "START",
          "RUNNING",
          "FAIL",
        ]);
        expect(events.filter((e) => e.job.name === "pdf.gate_pdf_ir_ready").map((e) => e.eventType))
          .toEqual(["START", "RUNNING", "FAIL"]);
        const ce = yield* Effect.promise(() => cloudevents(late.jobId));
        expect(ce.some((e) => e.type === "org.medicalkg.orchestration.gate.timed_out")).toBe(true);
        // A second sensor pass finds nothing left to time out.
        expect((yield* sensorTick(config)).timedOut).toEqual([]);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));

  it.effect("a run that pauses twice, with a sibling branch interrupted by the pause: every run starts once and ends once, and no CloudEvent id repeats", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      // `meta` (a second parse, beside the download) is still running when the gate pauses.
      const branchyConfig = compileConfig([{
        file: "branchy.yaml",
        text: pdfShape(900).replace("name: pdf\n", "name: branchy\n").replace(
          "  - { name: download,",
          "  - { name: meta, type: Parse, policy: default, depends_on: [ingest] }\n" +
            "  - { name: download,",
        ),
      }]);
      const branchy = branchyConfig.pipeline("branchy")!;
      const { registry, calls } = scriptedStages({
        Parse: (call) => (call === 1 ? Effect.sleep("1 minute") : Effect.void),
        Download: () => Effect.sleep("1 second"),
      });
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const job = yield* enqueue("TWICE", branchy, "unpaywall");
        expect((yield* runDriven(job, branchy)).status).toBe("paused");
        // Resumed while the condition still does not hold: the gate waits again.
        const again = (yield* ledger.get(job.jobId))!;
        expect((yield* runDriven(again, branchy, { resume: true })).status).toBe("paused");
        yield* ledger.setFields(job.jobId, {
          pdfIrReady: true,
          artifacts: { document: document(job.docId) },
        }, []);
        const report = yield* driven(sensorTick(branchyConfig));
        expect(report.resumed.map((o) => o.status)).toEqual(["succeeded"]);
        expect(calls.Parse).toBe(2);
        const events = yield* Effect.promise(() => openlineage(job.jobId));
        const byRun = new Map<string, string[]>();
        for (const e of events) {
          byRun.set(e.run.runId, [...(byRun.get(e.run.runId) ?? []), e.eventType]);
        }
        const terminal = ["COMPLETE", "FAIL", "ABORT"];
        for (const [runId, types] of byRun) {
          expect({ runId, first: types[0] }).toEqual({ runId, first: "START" });
          expect({ runId, terminal: types.filter((t) => terminal.includes(t)).length })
            .toEqual({ runId, terminal: 1 });
          expect({ runId, last: terminal.includes(types.at(-1)!) }).toEqual({ runId, last: true });
        }
        const meta = events.filter((e) => e.job.name === "branchy.meta");
        // Both pauses interrupt `meta`: it runs beside the gate in each of the three runs.
        expect(meta.map((e) => e.eventType)).toEqual(
          ["START", "ABORT", "START", "ABORT", "START", "COMPLETE"],
        );
        const pipelineRun = events.filter((e) => e.job.name === "branchy");
        expect(pipelineRun.map((e) => e.eventType)).toEqual([
          "START",
          "RUNNING",
          "RUNNING",
          "RUNNING",
          "RUNNING",
          "COMPLETE",
        ]);
        const ids = (yield* Effect.promise(() => cloudevents(job.jobId))).map((e) => e.id);
        expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
        expect(ids).toHaveLength(events.length);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));
});
