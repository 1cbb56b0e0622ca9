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
  readonly transition: "START" | "RUNNING" | "COMPLETE" | "FAIL";
  /** `started` pairs with `stage.started`; the others with `gate.<event>`. */
  readonly event: "started" | "waiting" | "opened" | "timed_out";
  readonly time: Date;
  /** The condition in words, e.g. `pdf_ir_ready equals true`. */
  readonly condition: string;
  readonly timeoutSeconds: number;
  /** How long the job waited at the gate, once it stops waiting. */
  readonly waitedMs?: number;
  readonly error?: StageErrorRecord;
}

/** The paired events of a gate transition. */
export const gateEvents = (
  scope: PipelineRunScope,
  attempt: StageAttempt,
  t: GateTransition,
): ReadonlyArray<OutboxEvent> => {
  const runId = stageRunId(scope, attempt.stage, attempt.attempt);
  const data = t.event === "started"
    ? {
      ...baseData(scope),
      stage: attempt.stage,
      attempt: attempt.attempt,
      policy_name: attempt.policy,
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
        event: t.event === "timed_out" ? "failed" : "started",
        ...(t.error ? { error: t.error } : {}),
      }),
      job: { namespace: scope.namespace, name: `${scope.pipeline.name}.${attempt.stage}` },
      jobFacets: { jobType: Facets.jobType("TASK") },
      inputs: [],
      outputs: [],
    }),
    cloudEvent({
      scope,
      type: t.event === "started" ? `${CE_PREFIX}.stage.started` : `${CE_PREFIX}.gate.${t.event}`,
      stage: attempt.stage,
      runId,
      transition: t.transition,
      time: t.time,
      data,
    }),
  ];
};
