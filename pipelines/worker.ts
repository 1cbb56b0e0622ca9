/**
 * The worker: runs the jobs someone else enqueued (`run-pipeline --enqueue-only`) or a dead
 * process left running, from a store it may share with other workers. Each pass takes the oldest
 * runnable jobs (skipping those another worker is claiming at that moment) and claims each with
 * the ledger's compare-and-set: a job runs in one worker at a time, under a lease the worker
 * renews. Each pass runs up to `concurrency` jobs and waits for them before the next.
 *
 * @module
 */
import { Duration, Effect } from "effect";
import type { StoreError } from "../lineage/outbox.ts";
import type { Resilience } from "../policies/resilience.ts";
import type { Config } from "./loader.ts";
import { JobLedger } from "./ledger.ts";
import type { PipelineRuntime } from "./runtime.ts";
import { type JobOutcome, runJobs } from "./runner.ts";

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** Jobs run at once. */
  readonly concurrency: number;
  /** Stop once no runnable job is left, instead of waiting for more. @default false */
  readonly once?: boolean;
  /** How long to wait before looking again when nothing is runnable. @default "2 seconds" */
  readonly pollInterval?: Duration.Input;
  /** Stops the worker between passes when aborted. */
  readonly signal?: AbortSignal;
  /** Sees each job's outcome as it ends. */
  readonly onDone?: (outcome: JobOutcome) => void;
}

/** What a worker did. */
export interface WorkerReport {
  /** The outcome of every job it ran (jobs another worker took first are not listed). */
  readonly outcomes: ReadonlyArray<JobOutcome>;
}

// Sleeps for `duration`, or less when the signal aborts.
const pause = (duration: Duration.Duration, signal?: AbortSignal): Effect.Effect<void> =>
  signal === undefined ? Effect.sleep(duration) : Effect.raceFirst(
    Effect.sleep(duration),
    Effect.callback<void>((resume) => {
      if (signal.aborted) return resume(Effect.void);
      const onAbort = () => resume(Effect.void);
      signal.addEventListener("abort", onAbort, { once: true });
      return Effect.sync(() => signal.removeEventListener("abort", onAbort));
    }),
  );

/** Runs runnable jobs until stopped (`signal`) or, with `once`, until none is left. */
export const runWorker = (
  config: Config,
  options: WorkerOptions,
): Effect.Effect<WorkerReport, StoreError, JobLedger | PipelineRuntime | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const pipelines = config.pipelines.map((p) => p.name);
    const poll = Duration.fromInputUnsafe(options.pollInterval ?? "2 seconds");
    // A job another worker took first is not asked for again until this worker next waits, so a
    // pass never loops over jobs it cannot claim (and `once` ends).
    const tried = new Set<string>();
    const outcomes: JobOutcome[] = [];
    while (!options.signal?.aborted) {
      const batch = yield* ledger.runnable({
        pipelines,
        limit: Math.max(1, options.concurrency),
        exclude: [...tried],
      });
      if (batch.length === 0) {
        if (options.once) break;
        yield* pause(poll, options.signal);
        tried.clear();
        continue;
      }
      for (const job of batch) tried.add(job.jobId);
      const ran = yield* runJobs(
        batch.map((job) => ({ job, pipeline: config.pipeline(job.pipeline)! })),
        {
          concurrency: options.concurrency,
          reclaimRunning: true,
          onDone: (o) => {
            if (o.status !== "skipped") options.onDone?.(o);
          },
        },
      );
      outcomes.push(...ran.filter((o) => o.status !== "skipped"));
    }
    return { outcomes };
  });
