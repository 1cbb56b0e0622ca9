import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { type RunPhase, runPipeline } from "../../kit/run_pipeline.ts";
import { repoRoot, tempDir } from "../_harness.ts";

// Runs `runPipeline` with `onPhase`; the phases it reported, in order, and the call's wall time.
const timed = async (options: Parameters<typeof runPipeline>[0]) => {
  const phases: Array<[RunPhase, number]> = [];
  const started = performance.now();
  await runPipeline({ ...options, onPhase: (phase, seconds) => phases.push([phase, seconds]) });
  return { phases, wall: (performance.now() - started) / 1000 };
};

describe("runPipeline({ onPhase })", () => {
  it("reports each phase once, in order, all within the call", async () => {
    const dir = await tempDir();
    try {
      const options = {
        store: resolve(dir, "store"),
        lineage: resolve(dir, "lineage"),
        records: resolve(repoRoot, "data/records/openfda"),
      };
      const run = await timed(options);
      expect(run.phases.map(([p]) => p)).toEqual([
        "setup",
        "open_store",
        "enqueue",
        "jobs",
        "lineage",
        "close",
      ]);
      for (const [, seconds] of run.phases) expect(seconds).toBeGreaterThanOrEqual(0);
      // Each phase ends where the next starts, all within the call.
      expect(run.phases.reduce((n, [, s]) => n + s, 0)).toBeLessThanOrEqual(run.wall);

      // Queuing the jobs for workers runs none: no jobs or lineage phase.
      const queued = await timed({ ...options, store: resolve(dir, "queued"), enqueueOnly: true });
      expect(queued.phases.map(([p]) => p)).toEqual(["setup", "open_store", "enqueue", "close"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
