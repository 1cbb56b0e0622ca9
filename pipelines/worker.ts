/**
 * The worker: runs the jobs someone else enqueued (`run-pipeline --enqueue-only`) or a dead
 * process left running, from a store it may share with other workers. A listing takes the oldest
 * runnable jobs, as many as the worker has slots, and reserves them for it for a few seconds, so
 * workers listing at once get different jobs; each is then claimed with the ledger's
 * compare-and-set: a job runs in one worker at a time, under a lease the worker renews. Up to
 * `concurrency` jobs run at once, and a new one starts as soon as one ends (from the last listing
 * while it lasts); with nothing to run, the worker sleeps until a job is enqueued (the store's
 * notification) or the poll interval passes. A store failure never stops the worker: it logs it
 * and tries again.
 *
 * @module
 */
import { Clock, Duration, Effect, Fiber } from "effect";
import type { StoreError } from "../lineage/outbox.ts";
import type { Resilience } from "../policies/resilience.ts";
import type { Config } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import { makeWakeUp } from "./_wake_up.ts";
import type { PipelineRuntime } from "./runtime.ts";
import { type JobOutcome, runJob } from "./runner.ts";

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** Jobs run at once. */
  readonly concurrency: number;
  /** Stop once no runnable job is left, instead of waiting for more. @default false */
  readonly once?: boolean;
  /**
   * How long to wait before looking again when nothing is runnable and no notification of an
   * enqueued job came. @default "2 seconds"
   */
  readonly pollInterval?: Duration.Input;
  /** Stops the worker from starting jobs when aborted (those running finish). */
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

/** Runs runnable jobs until stopped (`signal`) or, with `once`, until none is left. */
export const runWorker = (
  config: Config,
  options: WorkerOptions,
): Effect.Effect<WorkerReport, never, JobLedger | PipelineRuntime | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const pipelines = config.pipelines.map((p) => p.name);
    const poll = Duration.fromInputUnsafe(options.pollInterval ?? "2 seconds");
    const slots = Math.max(1, options.concurrency);
    // The jobs it lists are reserved for it, so workers listing at once get different ones.
    const reservation = { owner: `worker-${crypto.randomUUID()}`, ttlMs: RESERVE_MS };
    // Jobs another worker claimed first, and when: not asked for again for a lease's time, so a
    // pass never loops over jobs it cannot claim (and `once` ends), yet a job whose worker died
    // meanwhile is taken over later.
    const skipped = new Map<string, number>();
    const running = new Map<string, Fiber.Fiber<void>>();
    const outcomes: JobOutcome[] = [];
    const storeFailures: string[] = [];
    const failure = (what: string, e: StoreError) =>
      Effect.sync(() => void storeFailures.push(`${what}: ${e.operation}: ${e.message}`));
    // A finished job frees a slot, and an enqueued job (this tenant's) is work: both wake the
    // loop at once. Polling stays, for a store whose notifications do not reach this process.
    const wakeUp = makeWakeUp();
    const stopWatching = yield* Effect.orElseSucceed(
      ledger.watchQueued((tenantId) => {
        if (options.tenantId === undefined || tenantId === options.tenantId) wakeUp.wake();
      }),
      () => undefined,
    );
    const start = (job: Job) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis;
        const outcome = yield* runOne(config, job, failure);
        if (outcome === undefined || "notRun" in outcome) skipped.set(job.jobId, now);
        else {
          outcomes.push(outcome);
          options.onDone?.(outcome);
        }
      }).pipe(Effect.ensuring(Effect.sync(() => {
        running.delete(job.jobId);
        wakeUp.wake();
      })));
    // Jobs listed (and reserved for this worker) that wait for a free slot: one listing fills
    // every slot that frees until it is used up, rather than one listing per job. Those still
    // waiting when their reservation runs out are let go: another worker may have them by then.
    const ready: Job[] = [];
    let listedAt = 0;
    while (!options.signal?.aborted) {
      const now = yield* Clock.currentTimeMillis;
      for (const [jobId, at] of skipped) if (now - at >= SKIP_FOR_MS) skipped.delete(jobId);
      if (now - listedAt >= RESERVE_MS) ready.length = 0;
      if (running.size < slots && ready.length === 0) {
        listedAt = now;
        const listed = yield* Effect.result(ledger.runnable({
          pipelines,
          limit: slots,
          exclude: [...skipped.keys(), ...running.keys()],
          reserveFor: reservation,
          ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
        }));
        if (listed._tag === "Failure") {
          // The store is unreachable: try again after a pause rather than giving up.
          yield* failure("listing runnable jobs", listed.failure);
          if (options.once) break;
          yield* wakeUp.sleep(poll, options.signal);
          continue;
        }
        ready.push(...listed.success);
      }
      // Each job starts as soon as a slot is free: no waiting for the others of its listing.
      while (running.size < slots && ready.length > 0) {
        const job = ready.shift()!;
        running.set(job.jobId, yield* Effect.forkChild(start(job)));
      }
      if (options.once && running.size === 0 && ready.length === 0) break;
      yield* wakeUp.sleep(poll, options.signal);
    }
    // Stopped between jobs: those running finish first.
    yield* Fiber.awaitAll([...running.values()]);
    if (stopWatching) yield* Effect.promise(stopWatching).pipe(Effect.ignore);
    return { outcomes, storeFailures };
  });

// A store failure in one job is that job's; the other jobs go on. The runner closed its run where
// it could (the job is then failed, as the ledger says); otherwise its lease lapses and a worker
// takes it over later.
const runOne = (
  config: Config,
  job: Job,
  failure: (what: string, e: StoreError) => Effect.Effect<void>,
): Effect.Effect<JobOutcome | undefined, never, JobLedger | PipelineRuntime | Resilience> =>
  runJob(job, config.pipeline(job.pipeline)!, { reclaimRunning: true }).pipe(
    Effect.catch((e) =>
      Effect.gen(function* () {
        const ledger = yield* JobLedger;
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
  );

// As long as a job's lease lasts by default.
const SKIP_FOR_MS = 60_000;

// How long the jobs of a listing stay reserved for the worker that listed them: long enough for
// them to start as its slots free, short enough that those a busy worker cannot start soon (its
// jobs are long) go to another worker.
const RESERVE_MS = 5_000;
