/**
 * The sensor: resumes paused jobs whose gate condition holds, at the gate, exactly once (the
 * paused → running transition is the lock, so several sensors may run at once), and fails jobs
 * that waited at a gate past its `timeout_seconds` with GateTimedOut. It polls every
 * `poll_interval_seconds` and, where the store can notify (PostgreSQL LISTEN/NOTIFY), wakes as
 * soon as a ledger field changes.
 *
 * @module
 */
import { Clock, Deferred, Duration, Effect } from "effect";
import type { StoreError } from "../lineage/outbox.ts";
import { pipelineEvents } from "../lineage/run_events.ts";
import type { CompiledPipeline, Config } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import { PipelineRuntime } from "./runtime.ts";
import type { Resilience } from "../policies/resilience.ts";
import { type JobOutcome, runJob } from "./runner.ts";
import { runScope } from "./run_claim.ts";
import { evaluateCondition, ledgerFieldsOf } from "./topology.ts";
import { gateTimeLeftMs } from "./gate.ts";
import { gateTimedOutEvents } from "./gate_stage.ts";
import { countSensorPass, observeGateWait } from "./run_metrics.ts";

/** What one sensor pass did. */
export interface SensorReport {
  /** The outcome of each job resumed because its gate condition held. */
  readonly resumed: ReadonlyArray<JobOutcome>;
  /** The ids of the jobs failed with GateTimedOut for waiting past their gate's timeout. */
  readonly timedOut: ReadonlyArray<string>;
  /** Jobs still waiting, with their gate and milliseconds left. */
  readonly waiting: ReadonlyArray<
    { readonly jobId: string; readonly gate: string; readonly leftMs: number }
  >;
  /** What started the pass: the first pass, the poll timer, or a ledger change notification. */
  readonly trigger?: "start" | "poll" | "notify";
}

// Looked up without throwing: a job may wait at a gate a later configuration renamed; it is
// left alone (status shows it) rather than stopping the pass for every other job.
const gateOf = (job: Job, pipeline: CompiledPipeline) => {
  const spec = pipeline.stages.find((s) => s.name === job.currentStage);
  return spec?.gate ? { name: spec.name, spec, gate: spec.gate } : undefined;
};

/** Fails a job that waited too long at its gate; false when another process got there first. */
const timeOut = (job: Job, pipeline: CompiledPipeline, gateName: string, nowMs: number) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    const spec = pipeline.stage(gateName);
    const gate = spec.gate!;
    const policy = pipeline.policyOf(gateName);
    const time = new Date(nowMs);
    const scope = runScope(
      job,
      pipeline,
      runtime,
      job.runNumber,
      job.runCreatedAt ?? time,
      job.resumes,
    );
    const waitedMs = nowMs - (job.pausedAt?.getTime() ?? nowMs);
    const events = gateTimedOutEvents(
      scope,
      {
        stage: gateName,
        type: "Gate",
        attempt: 1,
        maxAttempts: 1,
        policy: policy.name,
        implementation: "ledger-gate",
        inputs: [],
        outputs: [],
      },
      gate,
      time,
      waitedMs,
    );
    const error = {
      type: "GateTimedOut" as const,
      message: `waited ${
        Math.round(waitedMs / 1000)
      }s at gate ${gateName} (timeout ${gate.timeoutSeconds}s)`,
      stage: gateName,
      policy: policy.name,
      attempts: 1,
    };
    return yield* ledger.finishRun(
      {
        jobId: job.jobId,
        runNumber: job.runNumber,
        status: "failed",
        error,
        stage: gateName,
        reason: `gate ${gateName} timed out`,
        at: time,
        from: ["paused"],
      },
      [
        ...events,
        ...pipelineEvents(scope, {
          transition: "FAIL",
          event: "failed",
          time,
          durationMs: nowMs - scope.runCreatedAt.getTime(),
          error,
          reason: "gate_timed_out",
        }),
      ],
    );
  });

/** One pass over the paused jobs. */
export const sensorTick = (
  config: Config,
): Effect.Effect<SensorReport, StoreError, JobLedger | PipelineRuntime | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const paused = yield* ledger.list({ statuses: ["paused"] });
    const resumed: JobOutcome[] = [];
    const timedOut: string[] = [];
    const waiting: Array<{ jobId: string; gate: string; leftMs: number }> = [];
    yield* Effect.forEach(paused, (job) =>
      Effect.gen(function* () {
        const pipeline = config.pipeline(job.pipeline);
        const found = pipeline && gateOf(job, pipeline);
        if (!pipeline || !found) return;
        if (evaluateCondition(found.gate.condition, ledgerFieldsOf(job))) {
          const outcome = yield* runJob(job, pipeline, { resume: true });
          if (!outcome.notRun) resumed.push(outcome);
          return;
        }
        const nowMs = yield* Clock.currentTimeMillis;
        const leftMs = gateTimeLeftMs(found.gate, job.pausedAt ?? new Date(nowMs), nowMs);
        if (leftMs > 0) {
          waiting.push({ jobId: job.jobId, gate: found.name, leftMs });
        } else if (yield* timeOut(job, pipeline, found.name, nowMs)) {
          timedOut.push(job.jobId);
          const waitedMs = nowMs - (job.pausedAt?.getTime() ?? nowMs);
          yield* observeGateWait({
            pipeline: pipeline.name,
            gate: found.name,
            outcome: "timed_out",
          }, waitedMs);
        }
      }), { concurrency: 8, discard: true });
    return { resumed, timedOut, waiting };
  });

/** The shortest poll interval of any gate in the configuration (the sensor's floor). */
export const pollIntervalMs = (config: Config): number =>
  Math.min(
    ...config.pipelines.flatMap((p) =>
      p.stages.flatMap((s) => (s.gate ? [s.gate.pollIntervalSeconds * 1000] : []))
    ),
    60_000,
  );

/** Options of {@link runSensor}. */
export interface SensorOptions {
  /** Stop after this many passes (`--once` is 1). @default unbounded */
  readonly passes?: number;
  /** Sees each pass's report. */
  readonly onPass?: (report: SensorReport) => void;
}

/** Runs sensor passes: on every ledger change notification and at least every poll interval. */
export const runSensor = (
  config: Config,
  options: SensorOptions = {},
): Effect.Effect<void, StoreError, JobLedger | PipelineRuntime | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const wake = { current: yield* Deferred.make<void>() };
    const poll = Duration.millis(pollIntervalMs(config));
    const passes = Effect.gen(function* () {
      for (let pass = 0; options.passes === undefined || pass < options.passes; pass++) {
        let trigger: "start" | "poll" | "notify" = "start";
        if (pass > 0) {
          trigger = yield* Effect.race(
            Effect.as(Effect.sleep(poll), "poll" as const),
            Effect.as(Deferred.await(wake.current), "notify" as const),
          );
          wake.current = yield* Deferred.make<void>();
        }
        const report = yield* sensorTick(config);
        yield* countSensorPass(trigger);
        options.onPass?.({ ...report, trigger });
      }
    });
    yield* Effect.acquireUseRelease(
      ledger.watch(() => {
        Deferred.doneUnsafe(wake.current, Effect.void);
      }),
      () => passes,
      (stop) => Effect.promise(() => stop()),
    );
  });
