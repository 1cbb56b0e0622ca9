/**
 * Runs jobs through a compiled pipeline: one job is one document; its stages form a DAG where a
 * stage starts once all its dependencies succeeded and independent branches run concurrently.
 * The first stage that gives up fails the job at once: stages not started are skipped (no events)
 * and running siblings are interrupted (their runs end with ABORT). Finished stages are
 * checkpointed, so a re-run resumes after the last checkpoint.
 *
 * @module
 */
import { Cause, Clock, Deferred, Effect, Exit } from "effect";
import type { StageInputs, StageOutputs, StageType } from "../stages/contracts.ts";
import type { StoreError } from "../lineage/outbox.ts";
import { type DatasetId, sourceDatasets, stageOutputDatasets } from "../lineage/datasets.ts";
import { pipelineEvents, type PipelineRunScope } from "../lineage/run_events.ts";
import type { CompiledPipeline } from "./loader.ts";
import { type Job, type JobError, JobLedger, type JobStatus } from "./ledger.ts";
import { PipelineRuntime } from "./runtime.ts";
import { runStage, type StageFailed } from "./stage_attempts.ts";

/** How a job's run ended, as the CLI reports it. */
export interface JobOutcome {
  readonly jobId: string;
  readonly docId: string;
  readonly status: "succeeded" | "failed" | "paused" | "skipped";
  readonly error?: JobError;
  readonly durationMs: number;
}

/** Options of {@link runJob}. */
export interface RunJobOptions {
  /** Re-process a job that already succeeded, from scratch. @default false */
  readonly force?: boolean;
  /**
   * Also claim jobs left `running` by a process that died. Safe only where no other process can
   * hold the job (the embedded store is single-process). @default false
   */
  readonly reclaimRunning?: boolean;
}

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
    // Topological order, last first: the nearest ancestor of the type wins.
    const name = [...pipeline.order].reverse().find((n) =>
      ancestors.has(n) && (pipeline.stage(n).type === type ||
        (type === "Parse" && pipeline.stage(n).type === "Gate"))
    );
    if (name === undefined || !outputs.has(name)) {
      throw new Error(`stage "${stage}" has no finished upstream ${type} output`);
    }
    return outputs.get(name) as StageOutputs[T];
  },
});

const makeScope = (
  job: Job,
  pipeline: CompiledPipeline,
  namespace: string,
  runNumber: number,
  at: Date,
): PipelineRunScope => ({
  namespace,
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
});

/** Runs every stage of the DAG for one claimed run; fails with the first stage that gives up. */
const walkDag = (job: Job, pipeline: CompiledPipeline, scope: PipelineRunScope) =>
  Effect.gen(function* () {
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
          const definition = runtime.stages.get(spec.type);
          if (!definition) {
            return yield* Effect.die(new Error(`no implementation for stage type ${spec.type}`));
          }
          const policy = pipeline.policyOf(name);
          const output = yield* runStage({
            scope,
            definition,
            policy,
            inputs: inputsFor(pipeline, name, job, outputs),
            context: {
              tenantId: job.tenantId,
              jobId: job.jobId,
              docId: job.docId,
              correlationId: job.correlationId,
              pipeline: { name: pipeline.name, version: pipeline.version },
              stage: name,
              metadata: {},
            },
            attempt: {
              stage: name,
              type: spec.type,
              maxAttempts: policy.maxAttempts,
              policy: policy.name,
              implementation: definition.implementation,
              inputs: stageInputDatasets(pipeline, name, job, outputsOf),
              outputs: outputsOf(name),
            },
          });
          outputs.set(name, output);
        }
        yield* Deferred.succeed(done.get(name)!, undefined);
      });
    yield* Effect.forEach(pipeline.order, runOne, { concurrency: "unbounded", discard: true });
  });

const jobErrorOf = (cause: Cause.Cause<StageFailed | StoreError>): JobError | undefined => {
  const found = Cause.findErrorOption(cause);
  if (found._tag === "Some" && found.value._tag === "StageFailed") {
    const f = found.value;
    return { ...f.error, stage: f.stage, policy: f.policy, attempts: f.attempts };
  }
  return undefined;
};

/** Runs one job through its pipeline (one pipeline run), unless it is not claimable. */
export const runJob = (
  job: Job,
  pipeline: CompiledPipeline,
  options: RunJobOptions = {},
): Effect.Effect<JobOutcome, StoreError, JobLedger | PipelineRuntime> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    const from = claimableFrom(options);
    const skipped: JobOutcome = {
      jobId: job.jobId,
      docId: job.docId,
      status: "skipped",
      durationMs: 0,
    };
    if (!from.includes(job.status)) return skipped;
    const startMs = yield* Clock.currentTimeMillis;
    const at = new Date(startMs);
    const runNumber = job.runNumber + 1;
    const scope = makeScope(job, pipeline, runtime.namespace, runNumber, at);
    const claimed = yield* ledger.beginRun(
      {
        jobId: job.jobId,
        runNumber,
        at,
        from,
        fresh: options.force === true && job.status === "succeeded",
        reason: job.status === "queued" ? "run started" : `re-run from ${job.status}`,
      },
      pipelineEvents(scope, { transition: "START", event: "started", time: at }),
    );
    if (!claimed) return skipped;
    const exit = yield* Effect.exit(walkDag(job, pipeline, scope));
    const endMs = yield* Clock.currentTimeMillis;
    const time = new Date(endMs);
    const durationMs = endMs - startMs;
    if (Exit.isSuccess(exit)) {
      yield* ledger.finishRun(
        { jobId: job.jobId, runNumber, status: "succeeded", reason: "all stages succeeded" },
        pipelineEvents(scope, {
          transition: "COMPLETE",
          event: "completed",
          time,
          durationMs,
          stageCount: pipeline.order.length,
        }),
      );
      return { jobId: job.jobId, docId: job.docId, status: "succeeded", durationMs };
    }
    const error = jobErrorOf(exit.cause);
    if (!error) return yield* Effect.failCause(exit.cause as Cause.Cause<StoreError>);
    yield* ledger.finishRun(
      {
        jobId: job.jobId,
        runNumber,
        status: "failed",
        error,
        stage: error.stage,
        reason: `${error.stage}: ${error.type}`,
      },
      pipelineEvents(scope, {
        transition: "FAIL",
        event: "failed",
        time,
        durationMs,
        error,
        reason: "stage_failed",
      }),
    );
    return { jobId: job.jobId, docId: job.docId, status: "failed", error, durationMs };
  });

/** Runs many jobs with at most `concurrency` in flight; `onDone` sees each outcome as it ends. */
export const runJobs = (
  jobs: ReadonlyArray<{ readonly job: Job; readonly pipeline: CompiledPipeline }>,
  options: RunJobOptions & {
    readonly concurrency: number;
    readonly onDone?: (outcome: JobOutcome) => void;
  },
): Effect.Effect<ReadonlyArray<JobOutcome>, StoreError, JobLedger | PipelineRuntime> =>
  Effect.forEach(
    jobs,
    ({ job, pipeline }) =>
      Effect.tap(runJob(job, pipeline, options), (o) => Effect.sync(() => options.onDone?.(o))),
    { concurrency: options.concurrency },
  );
