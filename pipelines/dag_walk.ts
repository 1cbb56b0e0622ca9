/**
 * Walks one claimed run through the pipeline's DAG: a stage starts once all its dependencies
 * succeeded, independent branches run concurrently, finished stages (checkpoints) are skipped,
 * and the first stage that gives up (or a gate that pauses) ends the walk.
 *
 * @module
 */
import { Deferred, Effect } from "effect";
import type { StageInputs, StageOutputs, StageType } from "../stages/contracts.ts";
import type { GateOutcome } from "../stages/ir.ts";
import { type DatasetId, sourceDatasets, stageOutputDatasets } from "../lineage/datasets.ts";
import type { PipelineRunScope } from "../lineage/run_events.ts";
import type { CompiledPipeline } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import { PipelineRuntime } from "./runtime.ts";
import { runStage } from "./stage_attempts.ts";
import { runGate } from "./gate_stage.ts";

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
      if (!document) {
        throw new Error(
          `gate "${name}" was opened without the parsed document its next stages read (forced ` +
            "open before the PDF was parsed?); `run-pipeline --force` starts the job over",
        );
      }
      return document as StageOutputs[T];
    }
    return output as StageOutputs[T];
  },
});

/** One claimed run to walk. */
export interface Walk {
  readonly job: Job;
  readonly pipeline: CompiledPipeline;
  readonly scope: PipelineRunScope;
  /** The gate the job was paused at, when this walk resumes it. */
  readonly resumedGate?: string;
  readonly forceGate: boolean;
}

/** Runs every stage of the DAG for one claimed run; fails with the first stage that gives up. */
export const walkDag = (walk: Walk) =>
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
