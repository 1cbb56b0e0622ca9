/**
 * The paired events of a gate. A gate is a stage run that may stay open across a pause: START
 * when the job reaches it, RUNNING (`gate.waiting`) when its condition does not hold yet,
 * COMPLETE (`gate.opened`) when it does, FAIL (`gate.timed_out`) when it waited too long.
 *
 * @module
 */
import type { StageErrorRecord } from "../stages/errors.ts";
import * as Facets from "./facets.ts";
import type { OutboxEvent } from "./outbox.ts";
import {
  baseData,
  CE_PREFIX,
  cloudEvent,
  type PipelineRunScope,
  runEvent,
  type StageAttempt,
  stageRunFacets,
  stageRunId,
} from "./run_events.ts";

/** A gate transition. */
export interface GateTransition {
  /** The OpenLineage event type. */
  readonly transition: "START" | "RUNNING" | "COMPLETE" | "FAIL";
  /**
   * `started` pairs with `stage.started` and `failed` (the job failed while waiting, e.g. MinerU
   * could not parse its PDF) with `stage.failed`; the others with `gate.<event>`.
   */
  readonly event: "started" | "waiting" | "opened" | "timed_out" | "failed";
  /** When the transition happened. */
  readonly time: Date;
  /** The condition in words, e.g. `pdf_ir_ready equals true`. */
  readonly condition: string;
  /** How long the job may wait at the gate, in seconds. */
  readonly timeoutSeconds: number;
  /** How long the job waited at the gate, once it stops waiting. */
  readonly waitedMs?: number;
  /** What went wrong, when the gate timed out or the job failed while waiting. */
  readonly error?: StageErrorRecord;
}

/** The paired events of a gate transition. */
export const gateEvents = (
  scope: PipelineRunScope,
  attempt: StageAttempt,
  t: GateTransition,
): ReadonlyArray<OutboxEvent> => {
  // A gate is one run across the pauses it causes: its id does not depend on the segment.
  const runId = stageRunId({ ...scope, segment: 0 }, attempt.stage, attempt.attempt);
  const stage = {
    ...baseData(scope),
    stage: attempt.stage,
    attempt: attempt.attempt,
    policy_name: attempt.policy,
  };
  const data = t.event === "started" ? stage : t.event === "failed"
    ? {
      ...stage,
      error_type: t.error?.type ?? "Permanent",
      error_message: t.error?.message ?? "",
      retry_count: 0,
      reason: "upstream_failed",
      duration_ms: t.waitedMs ?? 0,
    }
    : {
      ...baseData(scope),
      gate: attempt.stage,
      condition: t.condition,
      timeout_seconds: t.timeoutSeconds,
      ...(t.waitedMs !== undefined ? { waited_ms: t.waitedMs } : {}),
    };
  return [
    runEvent({
      transition: t.transition,
      time: t.time,
      runId,
      runFacets: stageRunFacets(scope, attempt, {
        transition: t.transition,
        time: t.time,
        event: t.event === "timed_out" || t.event === "failed" ? "failed" : "started",
        ...(t.error ? { error: t.error } : {}),
      }),
      job: { namespace: scope.namespace, name: `${scope.pipeline.name}.${attempt.stage}` },
      jobFacets: { jobType: Facets.jobType("TASK") },
      inputs: [],
      outputs: [],
    }),
    cloudEvent({
      scope,
      type: t.event === "started" || t.event === "failed"
        ? `${CE_PREFIX}.stage.${t.event}`
        : `${CE_PREFIX}.gate.${t.event}`,
      stage: attempt.stage,
      runId,
      transition: t.transition,
      time: t.time,
      data,
    }),
  ];
};
