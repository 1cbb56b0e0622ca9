import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { RunInterrupted, runPipeline } from "../../kit/run_pipeline.ts";
import { openStore } from "../../adapters/store/store.ts";
import { makeMetrics, type MetricsShape } from "../../pipelines/metrics.ts";
import { repoRoot, tempDir } from "../_harness.ts";

const records = resolve(repoRoot, "data/records/openfda");

describe("runPipeline({ stop })", () => {
  it("starts no job once stopped: those running finish and deliver, the others stay queued", async () => {
    const dir = await tempDir();
    try {
      const options = {
        store: resolve(dir, "store"),
        lineage: resolve(dir, "lineage"),
        records,
        concurrency: 1,
      };
      const stop = new AbortController();
      const stopped = await runPipeline({
        ...options,
        stop: stop.signal,
        onJobDone: () => stop.abort(),
      });
      expect(stopped.jobs).toMatchObject({ succeeded: 1, failed: 0, queued: 3 });
      expect(stopped.outcomes).toHaveLength(1);
      expect(stopped.sinks.every((s) => s.pending === 0)).toBe(true);

      // The next run takes up what was left.
      const rest = await runPipeline(options);
      expect(rest.jobs).toMatchObject({ succeeded: 3, skipped: 1, failed: 0 });
      expect(rest.jobs.queued ?? 0).toBe(0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

// A recorder that aborts `interrupt` once a stage named `stage` ended: its job is then in flight.
const interruptedAfter = (stage: string, interrupt: AbortController): MetricsShape => {
  const recorder = makeMetrics();
  return {
    ...recorder,
    update: (metric, labels, input) => {
      if (labels.stage === stage) interrupt.abort();
      return recorder.update(metric, labels, input);
    },
  };
};

describe("runPipeline({ interrupt })", () => {
  it("interrupts the jobs in flight (their runs end with ABORT), leaves no run open, closes the store", async () => {
    const dir = await tempDir();
    try {
      const store = resolve(dir, "store");
      const interrupt = new AbortController();
      const result = await runPipeline({
        store,
        lineage: resolve(dir, "lineage"),
        records,
        concurrency: 2,
        interrupt: interrupt.signal,
        metrics: interruptedAfter("parse", interrupt),
      }).catch((e) => e);
      expect(result).toBeInstanceOf(RunInterrupted);
      // The store was closed (it opens again), and every run that started has ended: COMPLETE,
      // or ABORT for those the interruption cut off.
      const reopened = await openStore(store);
      try {
        const open = await reopened.client.query<{ run_id: string }>(
          `select run_id from lk_outbox where channel = 'openlineage'
           group by run_id
           having count(*) filter (where payload::json->>'eventType' = 'START') >
             count(*) filter (where payload::json->>'eventType' in ('COMPLETE', 'FAIL', 'ABORT'))`,
        );
        expect(open).toEqual([]);
        const aborted = await reopened.client.query<{ n: number }>(
          `select count(*)::int as n from lk_outbox
           where channel = 'openlineage' and payload::json->>'eventType' = 'ABORT'`,
        );
        expect(aborted[0].n).toBeGreaterThan(0);
      } finally {
        await reopened.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
