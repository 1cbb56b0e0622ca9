/**
 * Runs jobs through a compiled pipeline: one job is one document; its stages form a DAG where a
 * stage starts once all its dependencies succeeded and independent branches run concurrently.
 * The first stage that gives up fails the job at once: stages not started are skipped (no events)
 * and running siblings are interrupted (their runs end with ABORT). Finished stages are
 * checkpointed, so a re-run resumes after the last checkpoint.
 *
 * A gate whose condition does not hold pauses the job: the run returns, holding no slot, and the
 * pipeline's OpenLineage run stays open until a sensor resumes the job at the gate.
 *
 * @module
 */
import { Cause, Clock, Effect, Exit, Fiber } from "effect";
import type { StoreError } from "../lineage/outbox.ts";
import { pipelineEvents } from "../lineage/run_events.ts";
import type { CompiledPipeline } from "./loader.ts";
import { type Job, type JobError, JobLedger } from "./ledger.ts";
import type { PipelineRuntime } from "./runtime.ts";
import type { Resilience } from "../policies/resilience.ts";
import type { StageFailed } from "./stage_attempts.ts";
import { GatePaused } from "./gate.ts";
import type { RunSuperseded } from "./run_superseded.ts";
import { claim, closeRun, keepLease, leaseOf } from "./run_claim.ts";
import { walkDag } from "./dag_walk.ts";
import { observeJob } from "./run_metrics.ts";

/** How a job's run ended, as the CLI reports it. */
export interface JobOutcome {
  /** The job. */
  readonly jobId: string;
  /** Its document. */
  readonly docId: string;
  /**
   * How the run ended: `skipped` when the job had succeeded already; `held` when another process
   * runs it (its lease holds) or took it over; `cancelled` when it was cancelled, before or during
   * this run.
   */
  readonly status: "succeeded" | "failed" | "paused" | "skipped" | "held" | "cancelled";
  /** Why it failed. */
  readonly error?: JobError;
  /** The gate a paused job waits at. */
  readonly gate?: string;
  /** Set when this call ran nothing: `status` says what the job is instead. */
  readonly notRun?: true;
  /** How long this call took. */
  readonly durationMs: number;
}

/** Options of {@link runJob}. */
export interface RunJobOptions {
  /** Re-process a job that already succeeded, or failed, from scratch. @default false */
  readonly force?: boolean;
  /**
   * Also claim jobs left `running` by a process that died: those whose lease expired (the
   * embedded store, being single-process, drops every lease when it opens). @default false
   */
  readonly reclaimRunning?: boolean;
  /**
   * How long a run's lease on its job lasts unless renewed (it is renewed every third of that
   * while the job runs). @default 60_000
   */
  readonly leaseMs?: number;
  /** Continue a paused job at its gate (what the sensor does). @default false */
  readonly resume?: boolean;
  /** Open the gate even if its condition does not hold (`deno task resume --force`). */
  readonly forceGate?: boolean;
}

const superseded = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.some((r) =>
    r._tag === "Fail" && (r.error as { _tag?: string } | undefined)?._tag === "RunSuperseded"
  );

/** Why a job had nothing to run here, from its status as the ledger has it now. */
const notRun = (
  job: Job | undefined,
  base: { jobId: string; docId: string },
  durationMs: number,
): JobOutcome => {
  const none = { ...base, durationMs, notRun: true } as const;
  switch (job?.status) {
    case "succeeded":
      return { ...none, status: "skipped" };
    case "cancelled":
      return { ...none, status: "cancelled" };
    case "paused":
      return { ...none, status: "paused", gate: job.currentStage ?? "?" };
    default:
      // Running elsewhere under a live lease, or claimed by another process first.
      return { ...none, status: "held" };
  }
};

const jobErrorOf = (
  cause: Cause.Cause<StageFailed | GatePaused | StoreError | RunSuperseded>,
): JobError | GatePaused | undefined => {
  const errors = cause.reasons.flatMap((r) => (r._tag === "Fail" ? [r.error] : []));
  // A failure outranks a pause that raced it: the job failed, it is not waiting.
  const failed = errors.find((e): e is StageFailed => e._tag === "StageFailed");
  if (failed) {
    return {
      ...failed.error,
      stage: failed.stage,
      policy: failed.policy,
      attempts: failed.attempts,
    };
  }
  return errors.find((e): e is GatePaused => e._tag === "GatePaused");
};

/** Runs one job through its pipeline (one pipeline run, or the rest of a paused one). */
export const runJob = (
  job: Job,
  pipeline: CompiledPipeline,
  options: RunJobOptions = {},
): Effect.Effect<JobOutcome, StoreError, JobLedger | PipelineRuntime | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const startMs = yield* Clock.currentTimeMillis;
    const claimed = yield* claim(job, pipeline, options, new Date(startMs));
    const base = { jobId: job.jobId, docId: job.docId };
    // A job done before this run is reported as it was read: a re-run of many done documents
    // reads none of them again. Any other job that is not run is read again for its state now.
    if (claimed === "not runnable" && job.status === "succeeded") return notRun(job, base, 0);
    if (typeof claimed === "string") return notRun(yield* ledger.get(job.jobId), base, 0);
    const { scope } = claimed;
    const renewal = yield* Effect.forkChild(
      keepLease(job.jobId, scope.runNumber, leaseOf(options)),
    );
    const walk = walkDag({
      job,
      pipeline,
      scope,
      resumedGate: claimed.resumedGate,
      forceGate: options.forceGate === true,
    });
    // The renewal ends only when the lease is lost: then another process may own the job, and
    // this run stops at once (what it still writes is refused: its run number moved on).
    // Interrupted from outside (another job's store failure, Ctrl-C): the run still ends, ABORT.
    const exit = yield* Effect.exit(
      Effect.raceFirst(
        Effect.as(walk, "walked" as const),
        Effect.as(Fiber.join(renewal), "lost" as const),
      ),
    ).pipe(
      Effect.onInterrupt(() => closeRun(job, scope, "ABORT", "interrupted")),
      Effect.ensuring(Fiber.interrupt(renewal)),
    );
    const endMs = yield* Clock.currentTimeMillis;
    const time = new Date(endMs);
    const durationMs = endMs - startMs;
    const runNumber = scope.runNumber;
    // Another process has the job now (it ends the runs this one left open), or it was cancelled
    // (the cancellation ended them). Read only when the run turns out to have lost the job.
    const lost = Effect.map(
      ledger.get(job.jobId),
      (now) =>
        now?.status === "cancelled"
          ? { ...base, status: "cancelled", durationMs } satisfies JobOutcome
          : { ...base, status: "held", durationMs } satisfies JobOutcome,
    );
    if (Exit.isFailure(exit) && superseded(exit.cause)) return yield* lost;
    if (Exit.isSuccess(exit) && exit.value === "lost") {
      // Unless nobody took it (the lease lapsed while the store was unreachable): then this run
      // ends it, so it is not left running. A job another process owns is left alone.
      const error = yield* closeRun(job, scope, "ABORT", "the run lost its lease on the job");
      return error
        ? { ...base, status: "failed", error, durationMs } satisfies JobOutcome
        : yield* lost;
    }
    if (Exit.isSuccess(exit)) {
      const ended = yield* ledger.finishRun(
        {
          jobId: job.jobId,
          runNumber,
          status: "succeeded",
          reason: "all stages succeeded",
          at: time,
        },
        pipelineEvents(scope, {
          transition: "COMPLETE",
          event: "completed",
          time,
          durationMs: endMs - scope.runCreatedAt.getTime(),
          stageCount: pipeline.order.length,
        }),
      );
      if (!ended) return yield* lost;
      return { ...base, status: "succeeded", durationMs } satisfies JobOutcome;
    }
    const error = jobErrorOf(exit.cause);
    if (!error) {
      // Not a stage giving up (the store failed, or a bug): close the run, then report it.
      yield* closeRun(job, scope, "FAIL", Cause.pretty(exit.cause).split("\n")[0]);
      return yield* Effect.failCause(exit.cause as unknown as Cause.Cause<StoreError>);
    }
    if (error instanceof GatePaused) {
      const ended = yield* ledger.finishRun(
        {
          jobId: job.jobId,
          runNumber,
          status: "paused",
          stage: error.gate,
          reason: `waiting at gate ${error.gate}`,
          at: time,
        },
        pipelineEvents(scope, {
          transition: "RUNNING",
          event: "paused",
          time,
          reason: `waiting at gate ${error.gate}`,
        }),
      );
      if (!ended) return yield* lost;
      return { ...base, status: "paused", gate: error.gate, durationMs } satisfies JobOutcome;
    }
    const ended = yield* ledger.finishRun(
      {
        jobId: job.jobId,
        runNumber,
        status: "failed",
        error,
        stage: error.stage,
        reason: `${error.stage}: ${error.type}`,
        at: time,
      },
      pipelineEvents(scope, {
        transition: "FAIL",
        event: "failed",
        time,
        durationMs: endMs - scope.runCreatedAt.getTime(),
        error,
        reason: "stage_failed",
      }),
    );
    if (!ended) return yield* lost;
    return { ...base, status: "failed", error, durationMs } satisfies JobOutcome;
  }).pipe(observeJob(pipeline.name));

/**
 * Jobs in flight at once when a command is not told (`--concurrency`). The store commits the
 * writes of all the jobs in flight together (see the group commit), so more jobs in flight make
 * fewer, larger writes: the 20 bundled records on a new store took 159 stage-write statements at
 * 4 and 42 at 16 (28 since batches start on an immediate, see the group commit); at 32 they all
 * run at once, in 16 statements (one per step of their pipeline), and the first run on a new
 * store takes 5-10 % less time than at 16 (medians of 8 alternating runs: 1,526 -> 1,447 ms and
 * 1,934 -> 1,722 ms). A job in flight holds little (a downloaded PDF goes to a file); what a slow
 * dependency is asked at once is bounded by its policy's rate limit and concurrency permit, not
 * by this.
 */
export const defaultJobConcurrency = 32;

/**
 * Runs many jobs with at most `concurrency` in flight; `onDone` sees each outcome as it ends.
 * Once `stop` is aborted no further job starts (those running finish): the outcomes are those of
 * the jobs that started, and the others are left as they were.
 */
export const runJobs = (
  jobs: ReadonlyArray<{ readonly job: Job; readonly pipeline: CompiledPipeline }>,
  options: RunJobOptions & {
    readonly concurrency: number;
    readonly onDone?: (outcome: JobOutcome) => void;
    readonly stop?: AbortSignal;
  },
): Effect.Effect<
  ReadonlyArray<JobOutcome>,
  StoreError,
  JobLedger | PipelineRuntime | Resilience
> =>
  Effect.map(
    Effect.forEach(
      jobs,
      ({ job, pipeline }) =>
        Effect.suspend(() =>
          options.stop?.aborted ? Effect.succeed(undefined) : Effect.tap(
            runJob(job, pipeline, options),
            (o) => Effect.sync(() => options.onDone?.(o)),
          )
        ),
      { concurrency: options.concurrency },
    ),
    (outcomes) => outcomes.filter((o): o is JobOutcome => o !== undefined),
  );
