import { afterEach, beforeEach, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Deferred, Effect, Fiber, Layer } from "effect";
import { TestClock } from "effect/testing";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { JobLedger } from "../../pipelines/ledger.ts";
import { runSensor } from "../../pipelines/sensor.ts";
import { bridgeTick } from "../../pipelines/mineru_bridge.ts";
import { PdfParser } from "../../pipelines/pdf_parser.ts";
import { makeMetrics, Metrics, type MetricsShape } from "../../pipelines/metrics.ts";
import { layerRunMetrics } from "../../pipelines/metric_collectors.ts";
import { flush } from "../../lineage/relay.ts";
import type { LineageSink } from "../../lineage/sink.ts";
import type { OutboxRow } from "../../lineage/outbox.ts";
import { Resilience } from "../../policies/resilience.ts";
import { GpuOutOfMemory, Permanent, Transient } from "../../stages/errors.ts";
import {
  compile,
  compileConfig,
  driven,
  enqueue,
  parsedPdfDocument,
  pdfShape,
  runDriven,
  runnerLayer,
  scriptedStages,
} from "./_runner_harness.ts";
import { family, parseExposition, seriesOf, valueOf } from "../_prometheus.ts";

const START = Date.parse("2026-01-01T00:00:00Z");

let store: Store;
beforeEach(async () => {
  store = await openEmbeddedStore();
});
afterEach(() => store.close());

/** The runner's layers over the test store with `metrics` recording (and its collectors). */
const metered = (
  metrics: MetricsShape,
  registry: ReturnType<typeof scriptedStages>["registry"],
  sinks: ReadonlyArray<LineageSink> = [],
) => layerRunMetrics(metrics, { sinks }).pipe(Layer.provideMerge(runnerLayer(store, registry)));

const scrape = (metrics: MetricsShape) => Effect.map(metrics.exposition, parseExposition);

/** A sink that keeps what it is handed. */
const memorySink = (): LineageSink & { readonly got: OutboxRow[] } => {
  const got: OutboxRow[] = [];
  return {
    name: "memory",
    channels: ["openlineage"],
    got,
    deliver: (events) => Effect.sync(() => void got.push(...events)),
  };
};

describe("Metrics", () => {
  it.effect("records nothing by default: no service to provide, an empty exposition", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({});
      const pipeline = compile();
      const outcome = yield* Effect.gen(function* () {
        const job = yield* enqueue("PLAIN", pipeline);
        return yield* runDriven(job, pipeline);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("succeeded");
      const metrics = yield* Metrics;
      expect(metrics.enabled).toBe(false);
      expect(yield* metrics.exposition).toBe("");
    }));

  it.effect("records job and stage durations, attempts, retries and jobs by status for real runs", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const metrics = makeMetrics();
      const pipeline = compile();
      // One job retries Embed once, then succeeds.
      const retried = scriptedStages({
        Embed: (call) => call === 1 ? Effect.fail(new Transient({ message: "503" })) : Effect.void,
      });
      const ok = yield* Effect.gen(function* () {
        return yield* runDriven(yield* enqueue("RETRIED", pipeline), pipeline);
      }).pipe(Effect.provide(metered(metrics, retried.registry)));
      expect(ok.status).toBe("succeeded");
      // The other fails at Extract while Embed runs: Embed's attempt is aborted.
      const embedStarted = yield* Deferred.make<void>();
      const failing = scriptedStages({
        Embed: () => Effect.andThen(Deferred.succeed(embedStarted, undefined), Effect.never),
        Extract: () =>
          Effect.andThen(
            Deferred.await(embedStarted),
            Effect.fail(new Permanent({ message: "rejected" })),
          ),
      });
      const families = yield* Effect.gen(function* () {
        const failed = yield* runDriven(yield* enqueue("FAILED", pipeline), pipeline);
        expect(failed.status).toBe("failed");
        return yield* scrape(metrics);
      }).pipe(Effect.provide(metered(metrics, failing.registry)));

      const jobs = family(families, "lineagekit_job_duration_seconds");
      expect(jobs.type).toBe("histogram");
      expect(jobs.series.map((s) => s.labels)).toEqual([
        { pipeline: "auto", status: "succeeded" },
        { pipeline: "auto", status: "failed" },
      ]);
      const succeeded = seriesOf(families, "lineagekit_job_duration_seconds", {
        pipeline: "auto",
        status: "succeeded",
      })!;
      expect(succeeded.count).toBe(1);
      // The retry waited its backoff (1 s and up to 1 s of jitter) on the TestClock.
      expect(succeeded.sum).toBeGreaterThanOrEqual(1);
      expect(succeeded.buckets!["0.5"]).toBe(0);
      expect(succeeded.buckets!["+Inf"]).toBe(1);

      const attempts = (stage: string, outcome: string) =>
        valueOf(families, "lineagekit_stage_attempts_total", { pipeline: "auto", stage, outcome });
      expect(family(families, "lineagekit_stage_attempts_total").type).toBe("counter");
      expect(attempts("embed", "failed")).toBe(1);
      expect(attempts("embed", "succeeded")).toBe(1);
      expect(attempts("embed", "aborted")).toBe(1);
      expect(attempts("extract", "failed")).toBe(1);
      expect(attempts("ingest", "succeeded")).toBe(2);
      expect(family(families, "lineagekit_stage_retries_total").series).toEqual([
        { labels: { pipeline: "auto", stage: "embed", error_type: "Transient" }, value: 1 },
      ]);

      const stage = (name: string, outcome: string) =>
        seriesOf(families, "lineagekit_stage_duration_seconds", {
          pipeline: "auto",
          stage: name,
          outcome,
        });
      expect(stage("embed", "succeeded")).toMatchObject({ count: 1 });
      expect(stage("embed", "succeeded")!.sum).toBeGreaterThanOrEqual(1);
      expect(stage("embed", "aborted")).toMatchObject({ count: 1 });
      expect(stage("extract", "failed")).toMatchObject({ count: 1 });
      expect(stage("kg", "succeeded")).toMatchObject({ count: 1 });

      expect(valueOf(families, "lineagekit_active_jobs")).toBe(0);
      const byStatus = family(families, "lineagekit_jobs");
      expect(byStatus.type).toBe("gauge");
      expect(Object.fromEntries(byStatus.series.map((s) => [s.labels.status, s.value]))).toEqual({
        queued: 0,
        running: 0,
        paused: 0,
        succeeded: 1,
        failed: 1,
        cancelled: 0,
      });
    }));

  it.effect("counts a job in flight while it runs", () =>
    Effect.gen(function* () {
      const metrics = makeMetrics();
      const pipeline = compile();
      const embedding = yield* Deferred.make<void>();
      const release = yield* Deferred.make<void>();
      const { registry } = scriptedStages({
        Embed: () =>
          Effect.andThen(Deferred.succeed(embedding, undefined), Deferred.await(release)),
      });
      yield* Effect.gen(function* () {
        const job = yield* enqueue("INFLIGHT", pipeline);
        const run = yield* Effect.forkChild(runDriven(job, pipeline));
        yield* Deferred.await(embedding);
        const during = yield* scrape(metrics);
        expect(valueOf(during, "lineagekit_active_jobs")).toBe(1);
        expect(valueOf(during, "lineagekit_jobs", { status: "running" })).toBe(1);
        yield* Deferred.succeed(release, undefined);
        expect((yield* Fiber.join(run)).status).toBe("succeeded");
        expect(valueOf(yield* scrape(metrics), "lineagekit_active_jobs")).toBe(0);
      }).pipe(Effect.provide(metered(metrics, registry)));
    }));

  it.effect("records gate waits (opened and timed out) and sensor passes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const metrics = makeMetrics();
      const config = compileConfig([{ file: "pdf.yaml", text: pdfShape(900) }]);
      const pipeline = config.pipeline("pdf")!;
      const { registry } = scriptedStages({});
      const families = yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const ready = yield* runDriven(yield* enqueue("READY", pipeline, "unpaywall"), pipeline);
        const stuck = yield* runDriven(yield* enqueue("STUCK", pipeline, "unpaywall"), pipeline);
        expect([ready.status, stuck.status]).toEqual(["paused", "paused"]);
        yield* ledger.setFields(ready.jobId, {
          pdfIrReady: true,
          artifacts: { document: parsedPdfDocument(ready.docId) },
        }, []);
        yield* TestClock.adjust("20 minutes");
        yield* driven(runSensor(config, { passes: 1 }));
        return yield* scrape(metrics);
      }).pipe(Effect.provide(metered(metrics, registry)));

      const waits = family(families, "lineagekit_gate_wait_seconds");
      expect(waits.type).toBe("histogram");
      for (const outcome of ["opened", "timed_out"]) {
        const s = seriesOf(families, "lineagekit_gate_wait_seconds", {
          pipeline: "pdf",
          gate: "gate_pdf_ir_ready",
          outcome,
        })!;
        // Each waited the 20 minutes from its pause (plus the TestClock steps of the runs).
        expect(s.count).toBe(1);
        expect(s.buckets!["900"]).toBe(0);
        expect(s.buckets!["1800"]).toBe(1);
        expect(s.sum).toBeGreaterThanOrEqual(1200);
      }
      expect(family(families, "lineagekit_sensor_passes_total").series).toEqual([
        { labels: { trigger: "start" }, value: 1 },
      ]);
      const jobs = (status: string) =>
        seriesOf(families, "lineagekit_job_duration_seconds", { pipeline: "pdf", status });
      expect(jobs("paused")).toMatchObject({ count: 2 });
      expect(jobs("succeeded")).toMatchObject({ count: 1 });
    }));

  it.effect("records the MinerU bridge's PDF parses by outcome", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const metrics = makeMetrics();
      const config = compileConfig([{ file: "pdf.yaml", text: pdfShape(900) }]);
      const pipeline = config.pipeline("pdf")!;
      const { registry } = scriptedStages({});
      // Parsing takes 3 s; the document OOM fails on the GPU.
      const parser = Layer.succeed(PdfParser, {
        service: "mineru@gpu:8000",
        parse: (request) =>
          Effect.andThen(
            Effect.sleep("3 seconds"),
            request.docId.endsWith("OOM")
              ? Effect.fail(new GpuOutOfMemory({ message: "CUDA out of memory" }))
              : Effect.succeed(parsedPdfDocument(request.docId)),
          ),
      });
      const families = yield* Effect.gen(function* () {
        for (const key of ["PARSED", "OOM"]) {
          const job = yield* enqueue(key, pipeline, "unpaywall");
          expect((yield* runDriven(job, pipeline)).status).toBe("paused");
        }
        const report = yield* driven(bridgeTick(config));
        expect([report.parsed.length, report.failed.length]).toEqual([1, 1]);
        return yield* scrape(metrics);
      }).pipe(Effect.provide(Layer.merge(metered(metrics, registry), parser)));
      expect(family(families, "lineagekit_pdf_parse_duration_seconds").type).toBe("histogram");
      for (const outcome of ["parsed", "failed"]) {
        const s = seriesOf(families, "lineagekit_pdf_parse_duration_seconds", { outcome })!;
        expect(s.count).toBe(1);
        expect(s.sum).toBeGreaterThanOrEqual(3);
        expect(s.buckets!["2.5"]).toBe(0);
        expect(s.buckets!["5"]).toBe(1);
      }
    }));

  it.effect("reads each sink's backlog and lag at scrape time and counts what the relay delivered", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const metrics = makeMetrics();
      const sink = memorySink();
      const pipeline = compile();
      const { registry } = scriptedStages({});
      yield* Effect.gen(function* () {
        const outcome = yield* runDriven(yield* enqueue("RELAYED", pipeline), pipeline);
        expect(outcome.status).toBe("succeeded");
        yield* TestClock.adjust("90 seconds");
        const before = yield* scrape(metrics);
        // 16 OpenLineage events: the pipeline run and its seven stages, START and COMPLETE each.
        expect(valueOf(before, "lineagekit_outbox_pending_events", { sink: "memory" })).toBe(16);
        const lag = valueOf(before, "lineagekit_outbox_delivery_lag_seconds", { sink: "memory" });
        expect(lag).toBeGreaterThanOrEqual(90);
        expect(before.map((f) => f.name)).not.toContain("lineagekit_outbox_events_delivered_total");

        yield* flush([sink]);
        const after = yield* scrape(metrics);
        expect(sink.got.length).toBe(16);
        expect(valueOf(after, "lineagekit_outbox_events_delivered_total", { sink: "memory" }))
          .toBe(16);
        expect(valueOf(after, "lineagekit_outbox_events_dead_lettered_total", { sink: "memory" }))
          .toBe(0);
        expect(valueOf(after, "lineagekit_outbox_pending_events", { sink: "memory" })).toBe(0);
        expect(valueOf(after, "lineagekit_outbox_delivery_lag_seconds", { sink: "memory" }))
          .toBe(0);
      }).pipe(Effect.provide(metered(metrics, registry, [sink])));
    }));

  it.effect("reads breaker states and transitions and rate-limit waits from the resilience state", () =>
    Effect.gen(function* () {
      const metrics = makeMetrics();
      const { registry } = scriptedStages({});
      const spec = { failureThreshold: 2, resetTimeoutSeconds: 60 };
      const dependency = "api.example.org";
      yield* Effect.gen(function* () {
        const { breakers, limiters } = yield* Resilience;
        const failing = Effect.fail(new Transient({ message: "503" }));
        for (let i = 0; i < 3; i++) {
          yield* Effect.result(breakers.execute(dependency, spec, failing));
        }
        const open = yield* scrape(metrics);
        expect(valueOf(open, "lineagekit_circuit_breaker_state", { dependency })).toBe(1);
        expect(family(open, "lineagekit_circuit_breaker_transitions_total").series).toEqual([
          { labels: { dependency, from: "closed", to: "open" }, value: 1 },
          { labels: { dependency, from: "open", to: "half_open" }, value: 0 },
          { labels: { dependency, from: "half_open", to: "closed" }, value: 0 },
          { labels: { dependency, from: "half_open", to: "open" }, value: 0 },
        ]);
        expect(valueOf(open, "lineagekit_circuit_breaker_rejections_total", { dependency }))
          .toBe(1);

        // After the reset timeout a successful probe closes the circuit.
        yield* TestClock.adjust("61 seconds");
        yield* breakers.execute(dependency, spec, Effect.succeed("ok"));
        // Two calls at one per second: the second waits for its token.
        yield* driven(
          Effect.andThen(limiters.acquire(dependency, 1), limiters.acquire(dependency, 1)),
        );
        const closed = yield* scrape(metrics);
        expect(valueOf(closed, "lineagekit_circuit_breaker_state", { dependency })).toBe(0);
        // Totals read again are not counted twice.
        expect(family(closed, "lineagekit_circuit_breaker_transitions_total").series).toEqual([
          { labels: { dependency, from: "closed", to: "open" }, value: 1 },
          { labels: { dependency, from: "open", to: "half_open" }, value: 1 },
          { labels: { dependency, from: "half_open", to: "closed" }, value: 1 },
          { labels: { dependency, from: "half_open", to: "open" }, value: 0 },
        ]);
        expect(valueOf(closed, "lineagekit_rate_limit_waits_total", { dependency })).toBe(1);
        expect(valueOf(closed, "lineagekit_rate_limit_wait_seconds_total", { dependency }))
          .toBe(1);
      }).pipe(Effect.provide(metered(metrics, registry)));
    }));

  it.effect("counts a collector that fails and still renders the other series", () =>
    Effect.gen(function* () {
      const metrics = makeMetrics();
      yield* Effect.scoped(Effect.gen(function* () {
        yield* metrics.addCollector({ name: "broken", collect: Effect.fail("store down") });
        const families = yield* scrape(metrics);
        expect(family(families, "lineagekit_metrics_collect_errors_total").series).toEqual([
          { labels: { collector: "broken" }, value: 1 },
        ]);
      }));
      // Its scope closed: the collector no longer runs.
      const later = yield* scrape(metrics);
      expect(valueOf(later, "lineagekit_metrics_collect_errors_total", { collector: "broken" }))
        .toBe(1);
    }));
});
