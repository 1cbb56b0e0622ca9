/**
 * Walks one claimed run through the pipeline's DAG: a stage starts once all its dependencies
 * succeeded, independent branches run concurrently, finished stages (checkpoints) are skipped,
 * and the first stage that gives up (or a gate that pauses) ends the walk.
 *
 * @module
 */
import { Deferred, Effect } from "effect";
import type { AnyStageDefinition, InputSchemas, StageInputs } from "../stages/contracts.ts";
import { Permanent, type StageError } from "../stages/errors.ts";
import { type DatasetId, sourceDatasets, stageOutputDatasets } from "../lineage/datasets.ts";
import { recordInputDatasets } from "../lineage/dataset_naming.ts";
import { columnLineageOf } from "../lineage/column_lineage.ts";
import type { PipelineRunScope } from "../lineage/run_events.ts";
import type { CompiledPipeline } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import { PipelineRuntime, type PipelineRuntimeShape } from "./runtime.ts";
import { runStage } from "./stage_attempts.ts";
import { runGate } from "./gate_stage.ts";
import { describeIssues } from "../stages/schema_issues.ts";

/**
 * Input datasets of a stage: its dependencies' outputs with the rows they hold, or the record's
 * file or source API for a first stage.
 */
const stageInputDatasets = (
  pipeline: CompiledPipeline,
  stage: string,
  job: Job,
  runtime: PipelineRuntimeShape,
  outputsOf: (name: string) => ReadonlyArray<DatasetId>,
  finished: ReadonlyMap<string, unknown>,
): ReadonlyArray<DatasetId> => {
  const spec = pipeline.stage(stage);
  if (spec.dependsOn.length === 0) {
    const api = runtime.sources?.get(job.source)?.dataset ?? sourceDatasets[job.source];
    return recordInputDatasets(job.request.location, api);
  }
  return spec.dependsOn.flatMap((dep) => {
    const rows = rowsOf(pipeline, dep, finished);
    return outputsOf(dep).map((d) => rows === undefined ? d : { ...d, rowCount: rows });
  });
};

// The row count a finished stage reported for its output, as its definition counts it.
const rowsOf = (
  pipeline: CompiledPipeline,
  stage: string,
  finished: ReadonlyMap<string, unknown>,
): number | undefined => {
  if (!finished.has(stage)) return undefined;
  try {
    const n = pipeline.definitionOf(stage).outputCount(finished.get(stage) as never);
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
};

// A finished stage's output read as `type`: its own output, or what its definition provides
// (an opened gate's document stands in for a parse output).
const outputAs = (
  pipeline: CompiledPipeline,
  name: string,
  type: string,
  output: unknown,
): { readonly value: unknown } | undefined => {
  const definition = pipeline.definitionOf(name);
  if (definition.type === type) return { value: output };
  const provide = definition.provides?.[type];
  return provide === undefined ? undefined : { value: provide(output) };
};

/**
 * What a stage reads: the job's request and, for each type its definition declares, the output
 * of the nearest finished ancestor that produces (or provides) it, checked against the declared
 * schema when that is not the producer's own output schema.
 */
const inputsFor = (
  pipeline: CompiledPipeline,
  stage: string,
  definition: AnyStageDefinition,
  job: Job,
  outputs: ReadonlyMap<string, unknown>,
): Effect.Effect<StageInputs, StageError> =>
  Effect.suspend(() => {
    const ancestors = pipeline.ancestorsOf(stage);
    const inputs: Record<string, unknown> = { request: job.request };
    // Topological order, last first: the nearest ancestor of the type wins.
    const nearestFirst = [...pipeline.order].reverse().filter((n) => ancestors.has(n));
    for (const [type, schema] of Object.entries(definition.input as InputSchemas)) {
      const producer = nearestFirst.find((n) =>
        outputs.has(n) && outputAs(pipeline, n, type, outputs.get(n)) !== undefined
      );
      const found = producer === undefined
        ? undefined
        : outputAs(pipeline, producer, type, outputs.get(producer));
      if (producer === undefined || found === undefined || found.value === undefined) {
        const gate = producer !== undefined && pipeline.stage(producer).type === "Gate";
        return Effect.fail(
          new Permanent({
            message: gate
              ? `gate "${producer}" was opened without the ${type} output its next stages read ` +
                "(forced open before the PDF was parsed?); `run-pipeline --force` starts the job over"
              : `stage "${stage}" has no finished upstream ${type} output`,
          }),
        );
      }
      const own = pipeline.definitionOf(producer).output === schema;
      const checked = own
        ? { success: true as const, data: found.value }
        : schema.safeParse(found.value);
      if (!checked.success) {
        return Effect.fail(
          new Permanent({
            message: `stage "${stage}" reads ${type} from "${producer}", which does not match ` +
              `its input schema: ${describeIssues(checked.error.issues)}`,
          }),
        );
      }
      inputs[type] = checked.data;
    }
    return Effect.succeed(inputs as StageInputs);
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
        {
          pipeline: pipeline.name,
          stage: name,
          ...pipeline.stage(name),
          tables: pipeline.definitionOf(name).writesTables ?? [],
        },
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
            inputs: stageInputDatasets(pipeline, name, job, runtime, outputsOf, outputs),
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
            const definition: AnyStageDefinition = runtime.stages?.resolve(spec.type, spec.impl) ??
              pipeline.definitionOf(name);
            const config = pipeline.configOf(name);
            const context = {
              tenantId: job.tenantId,
              jobId: job.jobId,
              docId: job.docId,
              correlationId: job.correlationId,
              pipeline: { name: pipeline.name, version: pipeline.version },
              stage: name,
              metadata: job.request.metadata ?? {},
            };
            const output = yield* runStage({
              scope,
              definition,
              config,
              // The YAML's stage-level concurrency overrides the policy's.
              policy: spec.concurrency ? { ...policy, concurrency: spec.concurrency } : policy,
              inputs: inputsFor(pipeline, name, definition, job, outputs),
              context,
              ...(runtime.services === undefined ? {} : { services: runtime.services }),
              attempt: {
                ...attempt,
                implementation: definition.implementation,
                ...columnLineageOf(definition),
              },
            });
            outputs.set(name, output);
          }
        }
        yield* Deferred.succeed(done.get(name)!, undefined);
      });
    yield* Effect.forEach(pipeline.order, runOne, { concurrency: "unbounded", discard: true });
  });
