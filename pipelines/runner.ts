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
import { Cause, Clock, Deferred, Duration, Effect, Exit, Fiber } from "effect";
import type { StageInputs, StageOutputs, StageType } from "../stages/contracts.ts";
import type { GateOutcome } from "../stages/ir.ts";
import type { StoreError } from "../lineage/outbox.ts";
import { type DatasetId, sourceDatasets, stageOutputDatasets } from "../lineage/datasets.ts";
import { pipelineEvents, type PipelineRunScope, stageEvents } from "../lineage/run_events.ts";
import type { CompiledPipeline } from "./loader.ts";
import { type Job, type JobError, type JobLease, JobLedger, type JobStatus } from "./ledger.ts";
import { PipelineRuntime, type PipelineRuntimeShape } from "./runtime.ts";
import type { Resilience } from "../policies/resilience.ts";
import { runStage, type StageFailed } from "./stage_attempts.ts";
import { GatePaused } from "./gate.ts";
import { runGate } from "./gate_stage.ts";

/** How a job's run ended, as the CLI reports it. */
export interface JobOutcome {
  /** The job. */
  readonly jobId: string;
  /** Its document. */
  readonly docId: string;
  /** How the run ended; `skipped` when there was nothing to run (done already, or another process has it). */
  readonly status: "succeeded" | "failed" | "paused" | "skipped";
  /** Why it failed. */
  readonly error?: JobError;
  /** The gate a paused job waits at. */
  readonly gate?: string;
  /** How long this call took. */
  readonly durationMs: number;
}

/** Options of {@link runJob}. */
export interface RunJobOptions {
  /** Re-process a job that already succeeded, from scratch. @default false */
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

/** This process's name on the leases of the jobs it runs. */
const leaseOwner = `runner-${crypto.randomUUID()}`;

const leaseOf = (options: RunJobOptions): JobLease => ({
  owner: leaseOwner,
  ttlMs: options.leaseMs ?? 60_000,
});

// Renews the run's lease until interrupted; a lease that cannot be renewed is logged (the run
// cannot finish the job anyway once another process took it over: its run number moved on).
const keepLease = (jobId: string, runNumber: number, lease: JobLease) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    while (true) {
      yield* Effect.sleep(Duration.millis(lease.ttlMs / 3));
      const renewed = yield* ledger.renewLease(jobId, runNumber, lease).pipe(
        Effect.catch((e) => Effect.as(Effect.logWarning(`lease of ${jobId}: ${e.message}`), true)),
      );
      if (!renewed) {
        return yield* Effect.logWarning(`lease of ${jobId} lost: another process took the job`);
      }
    }
  });

const claimableFrom = (options: RunJobOptions): ReadonlyArray<JobStatus> => [
  "queued",
  "failed",
  "cancelled",
  ...(options.force ? (["succeeded"] as const) : []),
  ...(options.reclaimRunning ? (["running"] as const) : []),
];

/** Input datasets of a stage: its dependencies' outputs, or the source API for an ingest. */
const stageInputDatasets = (
  pipeline: CompiledPipeline,
  stage: string,
  job: Job,
  outputsOf: (name: string) => ReadonlyArray<DatasetId>,
): ReadonlyArray<DatasetId> => {
  const spec = pipeline.stage(stage);
  if (spec.type === "Ingest") {
    const api = sourceDatasets[job.source];
    return api ? [api] : [];
  }
  return spec.dependsOn.flatMap(outputsOf);
};

/** The nearest finished ancestor of each type, for a stage's `inputs.get`. */
const inputsFor = (
  pipeline: CompiledPipeline,
  stage: string,
  job: Job,
  outputs: ReadonlyMap<string, unknown>,
): StageInputs => ({
  request: job.request,
  get: <T extends StageType>(type: T): StageOutputs[T] => {
    const ancestors = pipeline.ancestorsOf(stage);
    // Topological order, last first: the nearest ancestor of the type wins. An opened gate's
    // document stands in for a parse output.
    const name = [...pipeline.order].reverse().find((n) =>
      ancestors.has(n) && (pipeline.stage(n).type === type ||
        (type === "Parse" && pipeline.stage(n).type === "Gate"))
    );
    if (name === undefined || !outputs.has(name)) {
      throw new Error(`stage "${stage}" has no finished upstream ${type} output`);
    }
    const output = outputs.get(name);
    if (type === "Parse" && pipeline.stage(name).type === "Gate") {
      const document = (output as GateOutcome).document;
      if (!document) throw new Error(`gate "${name}" opened without a document artifact`);
      return document as StageOutputs[T];
    }
    return output as StageOutputs[T];
  },
});

/** The scope of a job's current (or next) pipeline run. */
export const runScope = (
  job: Job,
  pipeline: CompiledPipeline,
  runtime: Pick<PipelineRuntimeShape, "namespace" | "parentRun">,
  runNumber: number,
  at: Date,
  segment = 0,
): PipelineRunScope => ({
  namespace: runtime.namespace,
  ...(runtime.parentRun ? { parent: runtime.parentRun } : {}),
  pipeline: {
    name: pipeline.name,
    version: pipeline.version,
    description: pipeline.description,
    file: pipeline.file,
  },
  jobId: job.jobId,
  tenantId: job.tenantId,
  docId: job.docId,
  correlationId: job.correlationId,
  runNumber,
  runCreatedAt: at,
  segment,
});

interface Walk {
  readonly job: Job;
  readonly pipeline: CompiledPipeline;
  readonly scope: PipelineRunScope;
  /** The gate the job was paused at, when this walk resumes it. */
  readonly resumedGate?: string;
  readonly forceGate: boolean;
}

/** Runs every stage of the DAG for one claimed run; fails with the first stage that gives up. */
const walkDag = (walk: Walk) =>
  Effect.gen(function* () {
    const { job, pipeline, scope } = walk;
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    const outputs = new Map(yield* ledger.checkpoints(job.jobId));
    const done = new Map<string, Deferred.Deferred<void>>();
    for (const name of pipeline.order) done.set(name, yield* Deferred.make<void>());
    const outputsOf = (name: string) =>
      stageOutputDatasets(
        { pipeline: pipeline.name, stage: name, ...pipeline.stage(name) },
        runtime.store,
      );
    const runOne = (name: string) =>
      Effect.gen(function* () {
        const spec = pipeline.stage(name);
        for (const dep of spec.dependsOn) yield* Deferred.await(done.get(dep)!);
        if (!outputs.has(name)) {
          const policy = pipeline.policyOf(name);
          const attempt = {
            stage: name,
            type: spec.type,
            maxAttempts: policy.maxAttempts,
            policy: policy.name,
            inputs: stageInputDatasets(pipeline, name, job, outputsOf),
            outputs: outputsOf(name),
          };
          if (spec.type === "Gate") {
            outputs.set(
              name,
              yield* runGate({
                scope,
                spec,
                attempt: { ...attempt, attempt: 1, implementation: "ledger-gate" },
                resumed: walk.resumedGate === name,
                force: walk.forceGate,
              }),
            );
          } else {
            const definition = runtime.stages.get(spec.type);
            if (!definition) {
              return yield* Effect.die(new Error(`no implementation for stage type ${spec.type}`));
            }
            const inputs = inputsFor(pipeline, name, job, outputs);
            const context = {
              tenantId: job.tenantId,
              jobId: job.jobId,
              docId: job.docId,
              correlationId: job.correlationId,
              pipeline: { name: pipeline.name, version: pipeline.version },
              stage: name,
              metadata: {},
            };
            const output = yield* runStage({
              scope,
              definition,
              // The YAML's stage-level concurrency overrides the policy's.
              policy: spec.concurrency ? { ...policy, concurrency: spec.concurrency } : policy,
              inputs,
              context,
              dependency: definition.dependency?.({ ...context, attempt: 1 }, inputs),
              attempt: { ...attempt, implementation: definition.implementation },
            });
            outputs.set(name, output);
          }
        }
        yield* Deferred.succeed(done.get(name)!, undefined);
      });
    yield* Effect.forEach(pipeline.order, runOne, { concurrency: "unbounded", discard: true });
  });

const jobErrorOf = (
  cause: Cause.Cause<StageFailed | GatePaused | StoreError>,
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

/**
 * ABORT events for the runs a dead process left open: the stage attempts that started and had
 * neither a checkpoint nor a retry scheduled, then the pipeline run.
 */
const orphanedRunEvents = (job: Job, pipeline: CompiledPipeline, at: Date) =>
  Effect.gen(function* () {
    if (!job.runCreatedAt) return [];
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    const scope = runScope(job, pipeline, runtime, job.runNumber, job.runCreatedAt, job.resumes);
    const checkpoints = yield* ledger.checkpoints(job.jobId);
    const error = {
      type: "Permanent" as const,
      message: "the process running this job stopped before it finished",
    };
    const stages = Object.entries(job.attempts).flatMap(([stage, attempts]) => {
      const spec = pipeline.stages.find((s) => s.name === stage);
      const open = spec && !checkpoints.has(stage) && attempts > (job.retries[stage] ?? 0);
      if (!open) return [];
      return stageEvents(scope, {
        stage,
        type: spec.type,
        attempt: attempts,
        maxAttempts: pipeline.policyOf(stage).maxAttempts,
        policy: spec.policy,
        implementation: "orphaned",
        inputs: [],
        outputs: [],
      }, { transition: "ABORT", event: "failed", time: at, error, reason: "interrupted" });
    });
    return [
      ...stages,
      ...pipelineEvents(scope, {
        transition: "ABORT",
        event: "failed",
        time: at,
        durationMs: at.getTime() - job.runCreatedAt.getTime(),
        reason: "orphaned: the process running it stopped",
        error: { ...error, stage: job.currentStage ?? "pipeline", policy: "none" },
      }),
    ];
  });

/** Claims the job for a new run or, when paused and resuming, for its current run. */
const claim = (job: Job, pipeline: CompiledPipeline, options: RunJobOptions, at: Date) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    if (job.status === "paused") {
      if (!options.resume || !job.runCreatedAt) return undefined;
      // Resuming starts the run's next segment.
      const segment = job.resumes + 1;
      const scope = runScope(job, pipeline, runtime, job.runNumber, job.runCreatedAt, segment);
      const resumed = yield* ledger.resumeRun(
        {
          jobId: job.jobId,
          runNumber: job.runNumber,
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
      return resumed ? { scope, resumedGate: job.currentStage ?? undefined } : undefined;
    }
    const from = claimableFrom(options);
    if (!from.includes(job.status)) return undefined;
    const runNumber = job.runNumber + 1;
    const scope = runScope(job, pipeline, runtime, runNumber, at);
    const claimed = yield* ledger.beginRun(
      {
        jobId: job.jobId,
        runNumber,
        at,
        from,
        fresh: options.force === true && job.status === "succeeded",
        reason: job.status === "queued" ? "run started" : `re-run from ${job.status}`,
        lease: leaseOf(options),
      },
      [
        // A job left running by a process that died: its open runs end with ABORT first.
        ...(job.status === "running" ? yield* orphanedRunEvents(job, pipeline, at) : []),
        ...pipelineEvents(scope, { transition: "START", event: "started", time: at }),
      ],
    );
    return claimed ? { scope, resumedGate: undefined } : undefined;
  });

/**
 * Ends a run that did not end on its own (interruption, store failure, defect), best effort: the
 * job becomes failed and the pipeline run gets its terminal event, unless the store is what failed.
 */
const closeRun = (
  job: Job,
  scope: PipelineRunScope,
  transition: "ABORT" | "FAIL",
  message: string,
): Effect.Effect<void, never, JobLedger> =>
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
    yield* ledger.finishRun(
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
  }).pipe(Effect.ignore, Effect.uninterruptible);

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
    if (!claimed) return { ...base, status: "skipped", durationMs: 0 } satisfies JobOutcome;
    const { scope } = claimed;
    const renewal = yield* Effect.forkChild(
      keepLease(job.jobId, scope.runNumber, leaseOf(options)),
    );
    // Interrupted from outside (another job's store failure, Ctrl-C): the run still ends, ABORT.
    const exit = yield* Effect.exit(walkDag({
      job,
      pipeline,
      scope,
      resumedGate: claimed.resumedGate,
      forceGate: options.forceGate === true,
    })).pipe(
      Effect.onInterrupt(() => closeRun(job, scope, "ABORT", "interrupted")),
      Effect.ensuring(Fiber.interrupt(renewal)),
    );
    const endMs = yield* Clock.currentTimeMillis;
    const time = new Date(endMs);
    const durationMs = endMs - startMs;
    const runNumber = scope.runNumber;
    if (Exit.isSuccess(exit)) {
      yield* ledger.finishRun(
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
      return { ...base, status: "succeeded", durationMs } satisfies JobOutcome;
    }
    const error = jobErrorOf(exit.cause);
    if (!error) {
      // Not a stage giving up (the store failed, or a bug): close the run, then report it.
      yield* closeRun(job, scope, "FAIL", Cause.pretty(exit.cause).split("\n")[0]);
      return yield* Effect.failCause(exit.cause as Cause.Cause<StoreError>);
    }
    if (error instanceof GatePaused) {
      yield* ledger.finishRun(
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
      return { ...base, status: "paused", gate: error.gate, durationMs } satisfies JobOutcome;
    }
    yield* ledger.finishRun(
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
    return { ...base, status: "failed", error, durationMs } satisfies JobOutcome;
  });

/** Runs many jobs with at most `concurrency` in flight; `onDone` sees each outcome as it ends. */
export const runJobs = (
  jobs: ReadonlyArray<{ readonly job: Job; readonly pipeline: CompiledPipeline }>,
  options: RunJobOptions & {
    readonly concurrency: number;
    readonly onDone?: (outcome: JobOutcome) => void;
  },
): Effect.Effect<
  ReadonlyArray<JobOutcome>,
  StoreError,
  JobLedger | PipelineRuntime | Resilience
> =>
  Effect.forEach(
    jobs,
    ({ job, pipeline }) =>
      Effect.tap(runJob(job, pipeline, options), (o) => Effect.sync(() => options.onDone?.(o))),
    { concurrency: options.concurrency },
  );
