import { describe, expect, it } from "vitest";
import { phasesOf } from "../../bench/startup_bench.ts";
import { runPhases } from "../../kit/run_pipeline.ts";

describe("startup bench: where the time goes", () => {
  it("puts the process's start before run-pipeline's phases and its exit after them", () => {
    const stdout = [
      "20 succeeded, 0 failed, 0 paused, 0 skipped in 0.90s",
      JSON.stringify({
        jobs: { succeeded: 20 },
        seconds: 0.9,
        phases: {
          setup: 0.1,
          open_store: 0.5,
          enqueue: 0.05,
          jobs: 0.7,
          lineage: 0.1,
          close: 0.05,
        },
        since_start: 1.9,
      }),
      "",
    ].join("\n");
    const phases = phasesOf(stdout, 2.0);
    expect(Object.keys(phases)).toEqual(["start", ...runPhases, "exit"]);
    expect(phases.start).toBeCloseTo(0.4, 9);
    expect(phases.exit).toBeCloseTo(0.1, 9);
    expect(Object.values(phases).reduce((a, b) => a + b, 0)).toBeCloseTo(2.0, 9);
  });
});
