/**
 * Cancelling a job: a queued or paused job becomes `cancelled` at once; a running one too, and
 * its process stops at its next stage write (refused: the run no longer owns the job). The runs
 * the job had open (its pipeline run, a started stage attempt, a waiting gate) end with ABORT and
 * their CloudEvents, in the same transaction. A cancelled job is never resumed by the sensor;
 * `run-pipeline --force` runs it again from scratch.
 *
 * @module
 */
import { Clock, Effect } from "effect";
import type { StoreError } from "../lineage/outbox.ts";
import type { CompiledPipeline } from "./loader.ts";
import { JobLedger, type JobStatus } from "./ledger.ts";
import { PipelineRuntime } from "./runtime.ts";
import { openRunAborts } from "./run_claim.ts";

/**
 * Cancels the job with `reason`; the status it had, or undefined when it had ended already
 * (succeeded, failed, cancelled).
 *
 * @category constructors
 */
export const cancelJob = (
  jobId: string,
  pipeline: CompiledPipeline,
  reason: string,
): Effect.Effect<
  { readonly from: JobStatus } | undefined,
  StoreError,
  JobLedger | PipelineRuntime
> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    const at = new Date(yield* Clock.currentTimeMillis);
    return yield* ledger.cancel({
      jobId,
      reason,
      at,
      events: openRunAborts(pipeline, runtime, at, {
        message: `cancelled: ${reason}`,
        reason: "cancelled",
      }),
    });
  });
