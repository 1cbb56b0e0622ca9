/**
 * The worker: runs the jobs someone else enqueued (`run-pipeline --enqueue-only`) or a dead
 * process left running, from a store it may share with other workers. Each pass takes the oldest
 * runnable jobs (skipping those another worker is claiming at that moment) and claims each with
 * the ledger's compare-and-set: a job runs in one worker at a time, under a lease the worker
 * renews. Each pass runs up to `concurrency` jobs and waits for them before the next. A store
 * failure never stops the worker: it logs it and tries again.
 *
 * @module
 */
import { Clock, Duration, Effect } from "effect";
import type { StoreError } from "../lineage/outbox.ts";
import { whenAborted } from "../lineage/abort_signal.ts";
import type { Resilience } from "../policies/resilience.ts";
import type { Config } from "./loader.ts";
import { JobLedger } from "./ledger.ts";
import type { PipelineRuntime } from "./runtime.ts";
import { type JobOutcome, runJob } from "./runner.ts";

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
  /** Only this tenant's jobs. @default every tenant's */
  readonly tenantId?: string;
}

/** What a worker did. */
export interface WorkerReport {
  /** The outcome of every job it ran (jobs another worker took first are not listed). */
  readonly outcomes: ReadonlyArray<JobOutcome>;
  /** Store failures it met (it went on after each). */
  readonly storeFailures: ReadonlyArray<string>;
}

// Sleeps for `duration`, or less when the signal aborts.
const pause = (duration: Duration.Duration, signal?: AbortSignal): Effect.Effect<void> =>
  signal === undefined
    ? Effect.sleep(duration)
    : Effect.raceFirst(Effect.sleep(duration), whenAborted(signal));

/** Runs runnable jobs until stopped (`signal`) or, with `once`, until none is left. */
export const runWorker = (
  config: Config,
  options: WorkerOptions,
): Effect.Effect<WorkerReport, never, JobLedger | PipelineRuntime | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const pipelines = config.pipelines.map((p) => p.name);
    const poll = Duration.fromInputUnsafe(options.pollInterval ?? "2 seconds");
    // Jobs another worker claimed first, and when: not asked for again for a lease's time, so a
    // pass never loops over jobs it cannot claim (and `once` ends), yet a job whose worker died
    // meanwhile is taken over later.
    const skipped = new Map<string, number>();
    const outcomes: JobOutcome[] = [];
    const storeFailures: string[] = [];
    const failure = (what: string, e: StoreError) =>
      Effect.sync(() => void storeFailures.push(`${what}: ${e.operation}: ${e.message}`));
    while (!options.signal?.aborted) {
      const now = yield* Clock.currentTimeMillis;
      for (const [jobId, at] of skipped) if (now - at >= SKIP_FOR_MS) skipped.delete(jobId);
      const listed = yield* Effect.result(ledger.runnable({
        pipelines,
        limit: Math.max(1, options.concurrency),
        exclude: [...skipped.keys()],
        ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      }));
      if (listed._tag === "Failure") {
        // The store is unreachable: try again after a pause rather than giving up.
        yield* failure("listing runnable jobs", listed.failure);
        if (options.once) break;
        yield* pause(poll, options.signal);
        continue;
      }
      const batch = listed.success;
      if (batch.length === 0) {
        if (options.once) break;
        yield* pause(poll, options.signal);
        continue;
      }
      const ran = yield* Effect.forEach(batch, (job) =>
        // A store failure in one job is that job's; the other jobs go on. The runner closed its
        // run where it could (the job is then failed, as the ledger says); otherwise its lease
        // lapses and a worker takes it over later.
        runJob(job, config.pipeline(job.pipeline)!, { reclaimRunning: true }).pipe(
          Effect.catch((e) =>
            Effect.gen(function* () {
              yield* failure(job.docId, e);
              const after = yield* Effect.orElseSucceed(ledger.get(job.jobId), () => undefined);
              return after?.status === "failed" && after.error
                ? {
                  jobId: job.jobId,
                  docId: job.docId,
                  status: "failed",
                  error: after.error,
                  durationMs: 0,
                } satisfies JobOutcome
                : undefined;
            })
          ),
          Effect.tap((o) => Effect.sync(() => o && !("notRun" in o) && options.onDone?.(o))),
        ), { concurrency: options.concurrency });
      for (const [i, o] of ran.entries()) {
        if (o === undefined || "notRun" in o) skipped.set(batch[i].jobId, now);
        else outcomes.push(o);
      }
    }
    return { outcomes, storeFailures };
  });

// As long as a job's lease lasts by default.
const SKIP_FOR_MS = 60_000;
