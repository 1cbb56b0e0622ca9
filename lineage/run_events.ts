/**
 * Builds the paired lineage events of a pipeline run: for every lifecycle transition one
 * OpenLineage RunEvent and its CloudEvent partner (linked by `olrunid` and `oleventtype`), ready
 * to be written to the outbox in the same transaction as the ledger change.
 *
 * @module
 */
import type { StageType } from "../stages/contracts.ts";
import type { StageErrorRecord } from "../stages/errors.ts";
import type { OutboxEvent } from "./outbox.ts";
import type { DatasetId } from "./datasets.ts";
import { declaredColumnLineage, inputDataset, outputDataset } from "./_event_datasets.ts";
import { type GitSource, gitSourceOf } from "./git_source.ts";
import { KIT_VERSION } from "./kit_version.ts";
import type { ColumnLineageSpec } from "./column_lineage.ts";
import { runIdFor } from "./run_ids.ts";
import type { ParentRun } from "./parent_run.ts";
import { assertValidCloudEvent } from "./cloudevent_types.ts";
import * as Facets from "./facets.ts";

/** OpenLineage run transitions. */
export type RunTransition = "START" | "RUNNING" | "COMPLETE" | "FAIL" | "ABORT";

export { KIT_VERSION } from "./kit_version.ts";

/** An owner of a pipeline (`ownership` job facet): a URN such as `team:kg-ingest`, and a role. */
export interface PipelineOwner {
  /** Who owns it, as a URN: `team:kg-ingest`, `user:jdoe`. */
  readonly name: string;
  /** The kind of ownership, e.g. `MAINTAINER`. */
  readonly type?: string;
}

/** A tag of a pipeline (`tags` job facet). */
export interface PipelineTag {
  /** The tag's key. */
  readonly key: string;
  /** The tag's value; `true` for a label without one. */
  readonly value: string;
}

/** Everything that identifies one pipeline run of one job. */
export interface PipelineRunScope {
  /** The OpenLineage namespace of the run's jobs. */
  readonly namespace: string;
  /** The pipeline being run. */
  readonly pipeline: {
    readonly name: string;
    readonly version: string;
    readonly description: string;
    /** Absolute path of the pipeline YAML, for `sourceCodeLocation`. */
    readonly file?: string;
    /**
     * The git coordinates of the pipeline file (`sourceCodeLocation`). @default read from the
     * `.git` folder around `file`, when there is one
     */
    readonly source?: GitSource;
    /** Who owns the pipeline (its YAML's `owners:`), for the `ownership` job facet. */
    readonly owners?: ReadonlyArray<PipelineOwner>;
    /** The pipeline's tags (its YAML's `tags:`), for the `tags` job facet. */
    readonly tags?: ReadonlyArray<PipelineTag>;
  };
  /** The job's id in the ledger. */
  readonly jobId: string;
  /** The tenant the job belongs to. */
  readonly tenantId: string;
  /** The document's id, `{source}:{docKey}`: the CloudEvents `subject` and partition key. */
  readonly docId: string;
  /** The job's correlation id, copied into every CloudEvent. */
  readonly correlationId: string;
  /** Which run of the job this is, from 1. */
  readonly runNumber: number;
  /** When the run started; the timestamp in its run ids. */
  readonly runCreatedAt: Date;
  /**
   * The part of the run between pauses: 0 until it is first resumed, then 1, 2 … Stage runs and
   * CloudEvents of later segments get their own ids, so nothing repeats when a pause cuts a stage
   * off or a run pauses more than once. @default 0
   */
  readonly segment?: number;
  /** The run that started this pipeline run (`OPENLINEAGE_PARENT_ID` / `OPENLINEAGE_CONTEXT`). */
  readonly parent?: ParentRun;
  /**
   * The period a scheduled run covers (`nominalTime` run facet of the pipeline and stage runs):
   * when the schedule meant it to start, and optionally when the next one starts.
   */
  readonly nominalTime?: { readonly start: Date; readonly end?: Date };
  /**
   * The run redoes work an earlier run finished (`run-pipeline --force`): the outputs its stages
   * complete carry `lifecycleStateChange: OVERWRITE`. @default false
   */
  readonly force?: boolean;
}

/** The root of a scope's hierarchy: the outside parent's root, else the pipeline run itself. */
const rootOf = (scope: PipelineRunScope) => {
  const top = scope.parent?.root ?? scope.parent;
  return top
    ? { namespace: top.job.namespace, job: top.job.name, runId: top.runId }
    : { namespace: scope.namespace, job: scope.pipeline.name, runId: pipelineRunId(scope) };
};

/** One stage attempt within a pipeline run. */
export interface StageAttempt {
  /** The stage's name in the pipeline. */
  readonly stage: string;
  /** The stage's type. */
  readonly type: StageType;
  /** The attempt number, 1 for the first. */
  readonly attempt: number;
  /** How many attempts the stage's policy allows. */
  readonly maxAttempts: number;
  /** The name of the resilience policy the stage runs under. */
  readonly policy: string;
  /** A short name of the implementation running the stage (e.g. `ledger-gate`). */
  readonly implementation: string;
  /** The datasets the stage reads. */
  readonly inputs: ReadonlyArray<DatasetId>;
  /** The datasets the stage writes. */
  readonly outputs: ReadonlyArray<DatasetId>;
  /**
   * Column-level lineage the stage declares: each output field and the input fields it is derived
   * from, recorded as the `columnLineage` facet of its outputs.
   */
  readonly columnLineage?: ColumnLineageSpec;
}

// A scope is one run of one job and never changes; every event of the run names the run's id,
// and its stages' events the pipeline run's (the parent facet), so each is derived once per scope.
const pipelineRunIds = new WeakMap<PipelineRunScope, string>();
const stageRunIds = new WeakMap<PipelineRunScope, Map<string, string>>();

/** The OpenLineage run id of a pipeline run: deterministic, recomputable by any process. */
export const pipelineRunId = (scope: PipelineRunScope): string => {
  let id = pipelineRunIds.get(scope);
  if (id === undefined) {
    id = runIdFor({
      namespace: scope.namespace,
      job: scope.pipeline.name,
      document: scope.docId,
      tenant: scope.tenantId,
      attempt: `run-${scope.runNumber}`,
      createdAt: scope.runCreatedAt,
    });
    pipelineRunIds.set(scope, id);
  }
  return id;
};

/** The OpenLineage run id of one stage attempt (in the scope's segment of the run). */
export const stageRunId = (scope: PipelineRunScope, stage: string, attempt: number): string => {
  let ids = stageRunIds.get(scope);
  if (ids === undefined) stageRunIds.set(scope, ids = new Map());
  const key = `${attempt} ${stage}`;
  let id = ids.get(key);
  if (id === undefined) {
    id = runIdFor({
      namespace: scope.namespace,
      job: `${scope.pipeline.name}.${stage}`,
      document: scope.docId,
      tenant: scope.tenantId,
      attempt: `run-${scope.runNumber}${segmentPart(scope)}.attempt-${attempt}`,
      createdAt: scope.runCreatedAt,
    });
    ids.set(key, id);
  }
  return id;
};

// Empty for the first segment, so ids of runs that never paused do not depend on segments.
const segmentPart = (scope: PipelineRunScope): string =>
  (scope.segment ?? 0) > 0 ? `.segment-${scope.segment}` : "";

/** The prefix of the kit's orchestration CloudEvent types. */
export const CE_PREFIX = "org.medicalkg.orchestration";

/** What {@link cloudEvent} needs. */
export interface CloudEventInput {
  /** The pipeline run the event belongs to. */
  readonly scope: PipelineRunScope;
  /** The CloudEvent type, one of the catalogue's. */
  readonly type: string;
  /** The stage the event is about (`pipeline` for the run itself); ends the event's `source`. */
  readonly stage: string;
  /** The paired OpenLineage run id (`olrunid`). */
  readonly runId: string;
  /** The paired OpenLineage event type (`oleventtype`). */
  readonly transition: RunTransition;
  /** When the transition happened (`time`). */
  readonly time: Date;
  /** The event's `data`; it must match its type's schema. */
  readonly data: Readonly<Record<string, unknown>>;
}

// What an id says of its type: `stage.started` for orchestration types, `mineru.requested` for
// the others of the kit, so two types of one run never share an id.
const eventKind = (type: string): string =>
  type.startsWith(`${CE_PREFIX}.`)
    ? type.slice(CE_PREFIX.length + 1)
    : type.replace(/^org\.medicalkg\./, "");

/** A CloudEvent (structured JSON) for the outbox, paired with an OpenLineage run event. */
export const cloudEvent = (e: CloudEventInput): OutboxEvent => {
  const payload = {
    specversion: "1.0",
    // Deterministic: the same transition of the same run (in the same segment: a run may pause
    // more than once) always has the same id, so a consumer can drop duplicates after a
    // redelivery.
    id: `${e.runId}:${eventKind(e.type)}${(e.scope.segment ?? 0) > 0 ? `:${e.scope.segment}` : ""}`,
    source: `/lineage-kit/${e.scope.pipeline.name}/${e.stage}`,
    type: e.type,
    subject: e.scope.docId,
    time: e.time.toISOString(),
    datacontenttype: "application/json",
    tenantid: e.scope.tenantId,
    correlationid: e.scope.correlationId,
    olrunid: e.runId,
    oleventtype: e.transition,
    partitionkey: e.scope.docId,
    data: e.data,
  };
  // Checked against the catalogue's schema for its type, so a drift between what the runner
  // passes here and docs/asyncapi.yaml fails the first test that emits it.
  assertValidCloudEvent(payload);
  return { channel: "cloudevents", runId: e.runId, payload };
};

/** The data fields every orchestration CloudEvent carries. */
export const baseData = (scope: PipelineRunScope): {
  job_id: string;
  tenant_id: string;
  correlation_id: string;
} => ({
  job_id: scope.jobId,
  tenant_id: scope.tenantId,
  correlation_id: scope.correlationId,
});

/** An OpenLineage run event for the outbox. */
export const runEvent = (input: {
  readonly transition: RunTransition;
  readonly time: Date;
  readonly runId: string;
  readonly runFacets: Readonly<Record<string, unknown>>;
  readonly job: { readonly namespace: string; readonly name: string };
  readonly jobFacets: Readonly<Record<string, unknown>>;
  readonly inputs: ReadonlyArray<unknown>;
  readonly outputs: ReadonlyArray<unknown>;
}): OutboxEvent => ({
  channel: "openlineage",
  runId: input.runId,
  payload: {
    eventType: input.transition,
    eventTime: input.time.toISOString(),
    producer: Facets.PRODUCER,
    schemaURL: Facets.RUN_EVENT_SCHEMA_URL,
    run: { runId: input.runId, facets: input.runFacets },
    job: { namespace: input.job.namespace, name: input.job.name, facets: input.jobFacets },
    inputs: input.inputs,
    outputs: input.outputs,
  },
});

/** The facets every job of the scope's pipeline carries: its owners and tags. */
const ownedJobFacets = (scope: PipelineRunScope): Record<string, Facets.Facet> => {
  const { owners, tags } = scope.pipeline;
  return {
    ...(owners && owners.length > 0 ? { ownership: Facets.ownership(owners) } : {}),
    ...(tags && tags.length > 0
      ? { tags: Facets.jobTags(tags.map((t) => ({ ...t, source: "PIPELINE" }))) }
      : {}),
  };
};

/** The job facets of a pipeline's events. */
export const pipelineJobFacets = (scope: PipelineRunScope): Record<string, Facets.Facet> => ({
  jobType: Facets.jobType("DAG"),
  documentation: Facets.jobDocumentation(scope.pipeline.description),
  ...(scope.pipeline.file
    ? {
      sourceCodeLocation: Facets.sourceCodeLocation(
        scope.pipeline.file,
        scope.pipeline.source ?? gitSourceOf(Facets.pipelineFilePath(scope.pipeline.file)),
      ),
    }
    : {}),
  ...ownedJobFacets(scope),
});

/** The job facets of a stage's events. */
export const stageJobFacets = (scope: PipelineRunScope): Record<string, Facets.Facet> => ({
  jobType: Facets.jobType("TASK"),
  ...ownedJobFacets(scope),
});

/** The `nominalTime` run facet of a scheduled run, else nothing. */
const nominal = (scope: PipelineRunScope): Record<string, Facets.Facet> =>
  scope.nominalTime
    ? { nominalTime: Facets.nominalTime(scope.nominalTime.start, scope.nominalTime.end) }
    : {};

/** Details of a pipeline transition. */
export interface PipelineTransition {
  /** The OpenLineage event type. */
  readonly transition: RunTransition;
  /** When the transition happened. */
  readonly time: Date;
  /** The CloudEvent type suffix: started, completed, failed, paused, resumed. */
  readonly event: "started" | "completed" | "failed" | "paused" | "resumed";
  /** What failed the run, with the stage and its policy. */
  readonly error?: StageErrorRecord & { readonly stage: string; readonly policy: string };
  /** Milliseconds since the run started (`duration_ms`). */
  readonly durationMs?: number;
  /** How many stages the pipeline has (`stage_count`). */
  readonly stageCount?: number;
  /** Why the run paused, resumed or ended (`reason`). */
  readonly reason?: string;
}

/** The paired events of a pipeline-run transition. */
export const pipelineEvents = (
  scope: PipelineRunScope,
  t: PipelineTransition,
): ReadonlyArray<OutboxEvent> => {
  const runId = pipelineRunId(scope);
  const runFacets = {
    ...(scope.parent
      ? {
        parent: Facets.parent({
          namespace: scope.parent.job.namespace,
          job: scope.parent.job.name,
          runId: scope.parent.runId,
          root: rootOf(scope),
        }),
      }
      : {}),
    // Sent once per run, with its START: the engine does not change within the run.
    ...(t.transition === "START"
      ? { processing_engine: Facets.processingEngine(KIT_VERSION) }
      : {}),
    ...nominal(scope),
    ...(t.error && t.transition === "FAIL"
      ? {
        errorMessage: Facets.errorMessage(`${t.error.stage}: ${t.error.type}: ${t.error.message}`),
      }
      : {}),
  };
  const data: Record<string, unknown> = {
    ...baseData(scope),
    pipeline: scope.pipeline.name,
    pipeline_version: scope.pipeline.version,
    run_number: scope.runNumber,
    ...(t.durationMs !== undefined ? { duration_ms: t.durationMs } : {}),
    ...(t.stageCount !== undefined ? { stage_count: t.stageCount } : {}),
    ...(t.error
      ? {
        error_type: t.error.type,
        error_message: t.error.message,
        stage: t.error.stage,
        policy_name: t.error.policy,
      }
      : {}),
    ...(t.reason ? { reason: t.reason } : {}),
  };
  return [
    runEvent({
      transition: t.transition,
      time: t.time,
      runId,
      runFacets,
      job: { namespace: scope.namespace, name: scope.pipeline.name },
      jobFacets: pipelineJobFacets(scope),
      inputs: [],
      outputs: [],
    }),
    cloudEvent({
      scope,
      type: `${CE_PREFIX}.pipeline.${t.event}`,
      stage: "pipeline",
      runId,
      transition: t.transition,
      time: t.time,
      data,
    }),
  ];
};

/** Details of a stage-attempt transition. */
export interface StageTransition {
  /** The OpenLineage event type. */
  readonly transition: RunTransition;
  /** When the transition happened. */
  readonly time: Date;
  /** The CloudEvent type suffix. */
  readonly event: "started" | "completed" | "failed" | "retrying";
  /** The attempt's error, when it failed. */
  readonly error?: StageErrorRecord;
  /** How many items the output holds (`output_count`, `outputStatistics`). */
  readonly outputCount?: number;
  /** How long the attempt ran, in milliseconds (`duration_ms`). @default 0 */
  readonly durationMs?: number;
  /** How many failed attempts came before this one (`retry_count`). @default 0 */
  readonly retryCount?: number;
  /** Milliseconds until the next attempt, when one follows (`backoff_ms`). @default 0 */
  readonly backoffMs?: number;
  /** Why the stage gave up (`reason` of `stage.failed`). @default "failed" */
  readonly reason?: string;
  /** Whether the implementation uses a GPU (`gpu_used`). @default false */
  readonly gpuUsed?: boolean;
  /** Output dataset facets to add (e.g. `schema` on the parse output). */
  readonly outputFacets?: Readonly<Record<string, unknown>>;
}

/** The run facets of a stage attempt's events. */
export const stageRunFacets = (
  scope: PipelineRunScope,
  a: StageAttempt,
  t: StageTransition,
): Record<string, Facets.Facet> => ({
  parent: Facets.parent({
    namespace: scope.namespace,
    job: scope.pipeline.name,
    runId: pipelineRunId(scope),
    root: rootOf(scope),
  }),
  ...(t.transition === "START" ? { processing_engine: Facets.processingEngine(KIT_VERSION) } : {}),
  ...nominal(scope),
  lineageKit_attempt: Facets.attempt({
    attempt: a.attempt,
    maxAttempts: a.maxAttempts,
    policy: a.policy,
    ...(a.attempt > 1 ? { retryOf: stageRunId(scope, a.stage, a.attempt - 1) } : {}),
    ...(t.backoffMs !== undefined ? { backoffMs: t.backoffMs } : {}),
    ...(t.error ? { errorType: t.error.type } : {}),
  }),
  ...(t.error && t.transition === "FAIL"
    ? { errorMessage: Facets.errorMessage(`${t.error.type}: ${t.error.message}`) }
    : {}),
});

const stageData = (scope: PipelineRunScope, a: StageAttempt, t: StageTransition) => ({
  ...baseData(scope),
  stage: a.stage,
  attempt: a.attempt,
  policy_name: a.policy,
  ...(t.event === "completed"
    ? {
      duration_ms: t.durationMs ?? 0,
      output_count: t.outputCount ?? 0,
      gpu_used: t.gpuUsed ?? false,
      retry_count: t.retryCount ?? 0,
    }
    : {}),
  ...(t.event === "failed"
    ? {
      error_type: t.error?.type ?? "Permanent",
      error_message: t.error?.message ?? "",
      retry_count: t.retryCount ?? 0,
      reason: t.reason ?? "failed",
      duration_ms: t.durationMs ?? 0,
    }
    : {}),
  ...(t.event === "retrying"
    ? {
      attempt_number: a.attempt,
      backoff_ms: t.backoffMs ?? 0,
      error_type: t.error?.type ?? "Transient",
      error_message: t.error?.message ?? "",
      retry_count: t.retryCount ?? 0,
      duration_ms: t.durationMs ?? 0,
    }
    : {}),
});

/** The paired events of a stage-attempt transition. */
export const stageEvents = (
  scope: PipelineRunScope,
  a: StageAttempt,
  t: StageTransition,
): ReadonlyArray<OutboxEvent> => {
  const runId = stageRunId(scope, a.stage, a.attempt);
  const complete = t.transition === "COMPLETE";
  const terminal = complete || t.transition === "FAIL" || t.transition === "ABORT";
  // Facets that cannot change within the run (the datasets' own, the engine) go on START only.
  const start = t.transition === "START";
  const columnLineage = complete ? declaredColumnLineage(a.columnLineage, a.inputs) : undefined;
  const details = complete
    ? {
      ...(t.outputCount !== undefined ? { rowCount: t.outputCount } : {}),
      facets: { ...t.outputFacets, ...(columnLineage ? { columnLineage } : {}) },
      overwrite: scope.force === true,
    }
    : undefined;
  return [
    runEvent({
      transition: t.transition,
      time: t.time,
      runId,
      runFacets: stageRunFacets(scope, a, t),
      job: { namespace: scope.namespace, name: `${scope.pipeline.name}.${a.stage}` },
      jobFacets: stageJobFacets(scope),
      inputs: a.inputs.map((d) => inputDataset(d, terminal, start)),
      outputs: a.outputs.map((d) => outputDataset(d, details, start)),
    }),
    cloudEvent({
      scope,
      type: `${CE_PREFIX}.stage.${t.event}`,
      stage: a.stage,
      runId,
      transition: t.transition,
      time: t.time,
      data: stageData(scope, a, t),
    }),
  ];
};
