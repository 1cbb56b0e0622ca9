/**
 * Claiming a job for a run, and ending runs that cannot end on their own. A claim is a
 * compare-and-set on the ledger (of several processes, one wins) that also takes the job's lease;
 * a job left running by a process that died is claimed once its lease expired, and the runs that
 * process left open end with ABORT first.
 *
 * @module
 */
import { Clock, Effect } from "effect";
import { keepRenewing } from "../lineage/lease_renewal.ts";
import { pipelineEvents, type PipelineRunScope, stageEvents } from "../lineage/run_events.ts";
import type { CompiledPipeline } from "./loader.ts";
import { type Job, type JobError, type JobLease, JobLedger, type JobStatus } from "./ledger.ts";
import { PipelineRuntime, type PipelineRuntimeShape } from "./runtime.ts";
import type { OutboxEvent } from "../lineage/outbox.ts";
import type { RunJobOptions } from "./runner.ts";

/** The scope of a job's current (or next) pipeline run. */
export const runScope = (
  job: Job,
  pipeline: CompiledPipeline,
  runtime: Pick<PipelineRuntimeShape, "namespace" | "parentRun">,
  runNumber: number,
  at: Date,
  segment = 0,
  options: { readonly force?: boolean } = {},
): PipelineRunScope => ({
  namespace: runtime.namespace,
  ...(runtime.parentRun ? { parent: runtime.parentRun } : {}),
  pipeline: {
    name: pipeline.name,
    version: pipeline.version,
    description: pipeline.description,
    file: pipeline.path ?? pipeline.file,
    ...(pipeline.owners ? { owners: pipeline.owners } : {}),
    ...(pipeline.tags ? { tags: pipeline.tags } : {}),
  },
  // A forced re-run overwrites what an earlier run produced (`lifecycleStateChange: OVERWRITE`).
  ...(options.force ? { force: true } : {}),
  jobId: job.jobId,
  tenantId: job.tenantId,
  docId: job.docId,
  correlationId: job.correlationId,
  runNumber,
  runCreatedAt: at,
  segment,
});

/** This process's name on the leases of the jobs it runs. */
const leaseOwner = `runner-${crypto.randomUUID()}`;

export const leaseOf = (options: RunJobOptions): JobLease => ({
  owner: leaseOwner,
  ttlMs: options.leaseMs ?? 60_000,
});

/**
 * Renews the run's lease every third of its time to live; completes when the lease is lost: the
 * ledger says another process holds the job now, or renewing kept failing for longer than the
 * lease lasts (another process may have taken the job over meanwhile).
 */
export const keepLease = (
  jobId: string,
  runNumber: number,
  lease: JobLease,
): Effect.Effect<void, never, JobLedger> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const loss = yield* keepRenewing(ledger.renewLease(jobId, runNumber, lease), {
      everyMs: lease.ttlMs / 3,
      graceMs: lease.ttlMs,
    });
    yield* Effect.logWarning(
      loss.reason === "taken"
        ? `lease of ${jobId} lost: another process took the job`
        : `lease of ${jobId} lost: it could not be renewed (${loss.error.message})`,
    );
  });

const claimableFrom = (options: RunJobOptions): ReadonlyArray<JobStatus> => [
  "queued",
  "failed",
  // Cancelled on purpose: only a forced run starts it again.
  ...(options.force ? (["succeeded", "cancelled"] as const) : []),
  ...(options.reclaimRunning ? (["running"] as const) : []),
];

/** Why open runs are ended from outside: the ABORT's error message and CloudEvent reason. */
export interface AbortReason {
  /** The error message of the ABORT events. */
  readonly message: string;
  /** The pipeline run's CloudEvent `reason`. */
  readonly reason: string;
}

const orphaned: AbortReason = {
  message: "the process running this job stopped before it finished",
  reason: "orphaned: the process running it stopped",
};

/**
 * ABORT events for the runs of a job that cannot end on their own (its process died, or it was
 * cancelled), from the job as the ledger locked it: the stage attempts that started and had
 * neither a checkpoint nor a retry scheduled (a paused gate among them), then the pipeline run.
 */
export const openRunAborts = (
  pipeline: CompiledPipeline,
  runtime: Pick<PipelineRuntimeShape, "namespace" | "parentRun">,
  at: Date,
  why: AbortReason = orphaned,
) =>
(job: Job, checkpointed: ReadonlySet<string>): ReadonlyArray<OutboxEvent> => {
  if (!job.runCreatedAt) return [];
  const scope = runScope(job, pipeline, runtime, job.runNumber, job.runCreatedAt, job.resumes);
  const error = { type: "Permanent" as const, message: why.message };
  const stages = Object.entries(job.attempts).flatMap(([stage, attempts]) => {
    const spec = pipeline.stages.find((s) => s.name === stage);
    const open = spec && !checkpointed.has(stage) && attempts > (job.retries[stage] ?? 0);
    if (!open) return [];
    return stageEvents(
      // A gate is one run across the pauses it causes: its id has no segment.
      spec.type === "Gate" ? { ...scope, segment: 0 } : scope,
      {
        stage,
        type: spec.type,
        attempt: attempts,
        maxAttempts: pipeline.policyOf(stage).maxAttempts,
        policy: spec.policy,
        implementation: "orphaned",
        inputs: [],
        outputs: [],
      },
      { transition: "ABORT", event: "failed", time: at, error, reason: "interrupted" },
    );
  });
  return [
    ...stages,
    ...pipelineEvents(scope, {
      transition: "ABORT",
      event: "failed",
      time: at,
      durationMs: at.getTime() - job.runCreatedAt.getTime(),
      reason: why.reason,
      error: { ...error, stage: job.currentStage ?? "pipeline", policy: "none" },
    }),
  ];
};

/**
 * Claims the job for a new run or, when paused and resuming, for its current run; or says why
 * not: `"not runnable"` when the job in hand is not to run now (done, paused without a resume,
 * held by a live run), `"refused"` when the store refused the claim (another process claimed it
 * first).
 */
export const claim = (job: Job, pipeline: CompiledPipeline, options: RunJobOptions, at: Date) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    if (job.status === "paused") {
      if (!options.resume || !job.runCreatedAt) return "not runnable" as const;
      // Resuming starts the run's next segment.
      const segment = job.resumes + 1;
      const scope = runScope(job, pipeline, runtime, job.runNumber, job.runCreatedAt, segment);
      const resumed = yield* ledger.resumeRun(
        {
          jobId: job.jobId,
          runNumber: job.runNumber,
          // The segment and gate the events name must be the job's: a job that was resumed
          // and paused again since it was read is not resumed from this stale copy.
          resumes: job.resumes,
          gate: job.currentStage,
          reason: `resumed at ${job.currentStage}`,
          lease: leaseOf(options),
        },
        pipelineEvents(scope, {
          transition: "RUNNING",
          event: "resumed",
          time: at,
          reason: `gate ${job.currentStage} opened`,
        }),
      );
      return resumed ? { scope, resumedGate: job.currentStage ?? undefined } : "refused" as const;
    }
    const from = claimableFrom(options);
    if (!from.includes(job.status)) return "not runnable" as const;
    const runNumber = job.runNumber + 1;
    const overwrite = options.force === true && job.status !== "queued";
    const scope = runScope(job, pipeline, runtime, runNumber, at, 0, { force: overwrite });
    const claimed = yield* ledger.beginRun(
      {
        jobId: job.jobId,
        runNumber,
        at,
        from,
        // Forced: from scratch, for a failed job too (its checkpoints may be what fails it).
        fresh: options.force === true &&
          (job.status === "succeeded" || job.status === "failed" || job.status === "cancelled"),
        reason: job.status === "queued" ? "run started" : `re-run from ${job.status}`,
        lease: leaseOf(options),
        // A job left running by a process that died: its open runs end with ABORT first.
        orphanEvents: openRunAborts(pipeline, runtime, at),
      },
      pipelineEvents(scope, { transition: "START", event: "started", time: at }),
    );
    return claimed ? { scope, resumedGate: undefined } : "refused" as const;
  });

/**
 * Ends a run that did not end on its own (interruption, store failure, defect, lost lease), best
 * effort: the job becomes failed and the pipeline run gets its terminal event, unless the store
 * is what failed or the run no longer owns the job. Returns the job's error when it ended it.
 */
export const closeRun = (
  job: Job,
  scope: PipelineRunScope,
  transition: "ABORT" | "FAIL",
  message: string,
): Effect.Effect<JobError | undefined, never, JobLedger> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const time = new Date(yield* Clock.currentTimeMillis);
    const error: JobError = {
      type: "Permanent",
      message,
      stage: "pipeline",
      policy: "none",
      attempts: 1,
    };
    const ended = yield* ledger.finishRun(
      {
        jobId: job.jobId,
        runNumber: scope.runNumber,
        status: "failed",
        error,
        reason: transition === "ABORT" ? "interrupted" : "run failed",
        at: time,
        from: ["running"],
      },
      pipelineEvents(scope, {
        transition,
        event: "failed",
        time,
        durationMs: time.getTime() - scope.runCreatedAt.getTime(),
        error,
        reason: transition === "ABORT" ? "interrupted" : "internal_error",
      }),
    );
    return ended ? error : undefined;
  }).pipe(
    Effect.catch(() => Effect.succeed(undefined)),
    Effect.uninterruptible,
  );
