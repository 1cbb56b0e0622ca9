/**
 * Finishing paused PDF jobs in the same process: the MinerU bridge and the sensor take turns
 * until no paused job makes progress, then each job is reported as the ledger has it.
 *
 * @module
 */
import { Effect } from "effect";
import type { Config } from "../pipelines/loader.ts";
import { JobLedger } from "../pipelines/ledger.ts";
import type { JobOutcome } from "../pipelines/runner.ts";
import { bridgeTick } from "../pipelines/mineru_bridge.ts";
import { sensorTick } from "../pipelines/sensor.ts";
import type { PipelineRuntime } from "../pipelines/runtime.ts";
import type { PdfParser } from "../pipelines/pdf_parser.ts";
import type { StoreError } from "../lineage/outbox.ts";
import type { Resilience } from "../policies/resilience.ts";

/**
 * Runs the bridge and the sensor until nothing moves (at most 20 rounds), then reports each job
 * that was paused as the ledger has it now.
 *
 * @category combinators
 */
export const finishPausedJobs = (
  config: Config,
  outcomes: ReadonlyArray<JobOutcome>,
): Effect.Effect<
  ReadonlyArray<JobOutcome>,
  StoreError,
  JobLedger | PipelineRuntime | PdfParser | Resilience
> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    for (let round = 0; round < 20; round++) {
      const bridged = yield* bridgeTick(config);
      const sensed = yield* sensorTick(config);
      const progress = bridged.parsed.length + bridged.failed.length + sensed.resumed.length;
      if (progress === 0) break;
    }
    return yield* Effect.forEach(outcomes, (o) =>
      Effect.gen(function* () {
        if (o.status !== "paused") return o;
        const job = yield* ledger.get(o.jobId);
        if (!job || job.status === "paused" || job.status === "running") return o;
        return {
          jobId: o.jobId,
          docId: o.docId,
          status: job.status === "succeeded" ? "succeeded" : "failed",
          ...(job.error ? { error: job.error } : {}),
          durationMs: (job.finishedAt?.getTime() ?? 0) - (job.runCreatedAt?.getTime() ?? 0),
        } satisfies JobOutcome;
      }));
  });
