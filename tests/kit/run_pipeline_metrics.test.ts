import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import { resolve } from "node:path";
import { runPipeline } from "../../kit/run_pipeline.ts";
import { makeMetrics } from "../../pipelines/metrics.ts";
import { repoRoot, tempDir } from "../_harness.ts";
import { family, parseExposition, seriesOf, valueOf } from "../_prometheus.ts";

describe("runPipeline({ metrics })", () => {
  it("records the run's jobs, stages and deliveries in the given recorder", async () => {
    const dir = await tempDir();
    try {
      const metrics = makeMetrics();
      const summary = await runPipeline({
        store: resolve(dir, "store"),
        lineage: resolve(dir, "lineage"),
        records: resolve(repoRoot, "data/records/openfda"),
        metrics,
      });
      expect(summary.jobs.succeeded).toBe(4);
      const families = parseExposition(await Effect.runPromise(metrics.exposition));
      const jobs = seriesOf(families, "lineagekit_job_duration_seconds", {
        pipeline: "auto",
        status: "succeeded",
      });
      expect(jobs?.count).toBe(4);
      expect(jobs!.sum).toBeGreaterThan(0);
      expect(valueOf(families, "lineagekit_stage_attempts_total", {
        pipeline: "auto",
        stage: "ingest",
        outcome: "succeeded",
      })).toBe(4);
      expect(valueOf(families, "lineagekit_active_jobs")).toBe(0);
      // Every event the run wrote reached its sink: delivered counts add up to the run's events.
      const delivered = family(families, "lineagekit_outbox_events_delivered_total").series;
      expect(delivered.map((s) => s.labels.sink).sort()).toEqual(
        summary.sinks.map((s) => s.sink).sort(),
      );
      expect(delivered.reduce((n, s) => n + s.value!, 0)).toBe(
        summary.events.openlineage + summary.events.cloudevents,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
