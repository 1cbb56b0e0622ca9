import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { loadPipelines } from "../../kit/load_pipelines.ts";
import { explainConfig, explainPolicy } from "../../policies/explain.ts";
import type { Policy } from "../../policies/policy.ts";

const config = await Effect.runPromise(loadPipelines());
const shipped = (name: string): Policy => config.policies.get(name)!;

describe("explainPolicy()", () => {
  it("explains the shipped policies", () => {
    expect(explainPolicy(shipped("default"))).toEqual({
      attempts: 3,
      delays: "1s, 2s",
      jitter: "up to 1s",
      timeout: "30s",
      breaker: "5 failures, open 60s",
      rate: "none",
      concurrency: "unbounded",
    });
    expect(explainPolicy(shipped("gpu-bound"))).toEqual({
      attempts: 1,
      delays: "none",
      jitter: "none",
      timeout: "60s",
      breaker: "5 failures, open 60s",
      rate: "none",
      concurrency: "unbounded",
    });
    expect(explainPolicy(shipped("polite-api"))).toEqual({
      attempts: 10,
      delays: "1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s",
      jitter: "none",
      timeout: "10s",
      breaker: "none",
      rate: "5/s",
      concurrency: "unbounded",
    });
  });

  it("lists each retry's delay, capped, with fractions of a second", () => {
    const policy: Policy = {
      name: "p",
      maxAttempts: 6,
      backoffStrategy: "exponential",
      backoffInitialSeconds: 0.5,
      backoffMaxSeconds: 4,
      backoffJitterSeconds: 0.25,
      timeoutSeconds: 5,
      rateLimitPerSecond: 0.5,
      concurrency: 2,
    };
    expect(explainPolicy(policy)).toEqual({
      attempts: 6,
      delays: "0.5s, 1s, 2s, 4s, 4s",
      jitter: "up to 0.25s",
      timeout: "5s",
      breaker: "none",
      rate: "0.5/s",
      concurrency: "2",
    });
    expect(
      explainPolicy({ ...policy, maxAttempts: 4, backoffInitialSeconds: 1, backoffMaxSeconds: 30 })
        .delays,
    )
      .toBe("1s, 2s, 4s");
    expect(explainPolicy({ ...policy, backoffStrategy: "none" }).delays).toBe("0s, 0s, 0s, 0s, 0s");
  });
});

describe("explainConfig()", () => {
  it("prints one table per shipped pipeline, one row per stage", () => {
    expect(explainConfig(config).split("\n")).toEqual([
      "pipeline auto (pipelines/auto.yaml)",
      "  stage    policy      attempts  delays                              jitter    timeout  breaker               rate",
      "  ingest   polite-api  10        1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s  none      10s      none                  5/s",
      "  parse    default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  chunk    default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  embed    gpu-bound   1         none                                none      60s      5 failures, open 60s  none",
      "  index    default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  extract  default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  kg       default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "",
      "pipeline pdf-two-phase (pipelines/pdf-two-phase.yaml)",
      "  stage              policy      attempts  delays                              jitter    timeout  breaker               rate",
      "  ingest             polite-api  10        1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s  none      10s      none                  5/s",
      "  download           polite-api  10        1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s  none      10s      none                  5/s",
      "  gate_pdf_ir_ready  default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  chunk              default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  embed              gpu-bound   1         none                                none      60s      5 failures, open 60s  none",
      "  index              default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  extract            default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
      "  kg                 default     3         1s, 2s                              up to 1s  30s      5 failures, open 60s  none",
    ]);
  });
});
