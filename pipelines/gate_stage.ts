/**
 * Runs a gate stage: reads the job's ledger fields, and either opens (checkpointing the documents
 * made while the job waited) or pauses the job. A gate is one stage run that stays open across
 * the pause: START when reached, RUNNING while waiting, COMPLETE when opened.
 *
 * @module
 */
import { Clock, Effect } from "effect";
import { defineStage, type StageDefinition } from "../stages/contracts.ts";
import type { GateOutcome } from "../stages/ir.ts";
import { gateOutcomeSchema } from "../stages/ir_schemas.ts";
import type { Document } from "../stages/ir.ts";
import type { StoreError } from "../lineage/outbox.ts";
import { gateEvents, type GateTransition } from "../lineage/gate_events.ts";
import type { PipelineRunScope, StageAttempt } from "../lineage/run_events.ts";
import { JobLedger } from "./ledger.ts";
import { evaluateCondition, ledgerFieldsOf, type StageSpec } from "./topology.ts";
import { describeCondition, GatePaused } from "./gate.ts";
import { RunSuperseded } from "./run_superseded.ts";
import { observeGateWait } from "./run_metrics.ts";

/**
 * The ledger gate as a stage type: the runner evaluates its `condition` against the job's ledger
 * fields and pauses the job until it holds ({@link runGate}); its definition never runs on its
 * own. An opened gate hands on the document made while the job waited as a `Parse` output.
 *
 * @category constructors
 */
export const gateStage: StageDefinition<GateOutcome, Record<string, never>, Record<never, never>> =
  defineStage({
    type: "Gate",
    implementation: "ledger-gate",
    description: "pauses the job until a ledger condition holds (e.g. pdf_ir_ready)",
    output: gateOutcomeSchema,
    provides: { Parse: (outcome) => outcome.document },
    control: "gate",
    run: () => Effect.die(new Error("a gate is evaluated by the runner, not run as a stage")),
  });

/** What a gate run needs. */
export interface GateRun {
  readonly scope: PipelineRunScope;
  readonly spec: StageSpec;
  readonly attempt: StageAttempt;
  /** The job was paused at this gate and is being resumed (its START was written then). */
  readonly resumed: boolean;
  /** Open regardless of the condition. */
  readonly force: boolean;
}

/** Evaluates the gate; opens it or fails with {@link GatePaused}. */
export const runGate = (
  run: GateRun,
): Effect.Effect<GateOutcome, GatePaused | StoreError | RunSuperseded, JobLedger> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const gate = run.spec.gate!;
    const { scope, attempt } = run;
    const now = new Date(yield* Clock.currentTimeMillis);
    const transition = (
      t: Pick<GateTransition, "transition" | "event"> & { waitedMs?: number },
    ): GateTransition => ({
      ...t,
      time: now,
      condition: describeCondition(gate.condition),
      timeoutSeconds: gate.timeoutSeconds,
    });
    if (!run.resumed) {
      const owned = yield* ledger.recordStage(
        scope.jobId,
        scope.runNumber,
        { kind: "started", stage: attempt.stage, attempt: 1 },
        gateEvents(scope, attempt, transition({ transition: "START", event: "started" })),
      );
      if (!owned) return yield* Effect.fail(new RunSuperseded({ jobId: scope.jobId }));
    }
    const job = yield* ledger.get(scope.jobId);
    const open = run.force || (job !== undefined &&
      evaluateCondition(gate.condition, ledgerFieldsOf(job)));
    if (!open) {
      yield* ledger.appendEvents(
        scope.jobId,
        gateEvents(scope, attempt, transition({ transition: "RUNNING", event: "waiting" })),
      );
      return yield* Effect.fail(new GatePaused({ gate: attempt.stage }));
    }
    const artifacts = yield* ledger.artifacts(scope.jobId);
    const document = artifacts.get("document") as Document | undefined;
    const output: GateOutcome = {
      gate: attempt.stage,
      open: true,
      ...(document ? { document } : {}),
    };
    const waitedMs = run.resumed && job?.pausedAt ? now.getTime() - job.pausedAt.getTime() : 0;
    yield* observeGateWait({
      pipeline: scope.pipeline.name,
      gate: attempt.stage,
      outcome: "opened",
    }, waitedMs);
    const owned = yield* ledger.recordStage(
      scope.jobId,
      scope.runNumber,
      { kind: "succeeded", stage: attempt.stage, attempt: 1, output },
      gateEvents(scope, attempt, transition({ transition: "COMPLETE", event: "opened", waitedMs })),
    );
    if (!owned) return yield* Effect.fail(new RunSuperseded({ jobId: scope.jobId }));
    return output;
  });

/** Fails a job whose gate waited past its timeout: GateTimedOut on the gate and the pipeline. */
export const gateTimedOutEvents = (
  scope: PipelineRunScope,
  attempt: StageAttempt,
  gate: NonNullable<StageSpec["gate"]>,
  time: Date,
  waitedMs: number,
) =>
  gateEvents(scope, attempt, {
    transition: "FAIL",
    event: "timed_out",
    time,
    condition: describeCondition(gate.condition),
    timeoutSeconds: gate.timeoutSeconds,
    waitedMs,
    error: {
      type: "GateTimedOut",
      message: `gate ${attempt.stage} waited ${Math.round(waitedMs / 1000)}s for ${
        describeCondition(gate.condition)
      } (timeout ${gate.timeoutSeconds}s)`,
    },
  });
