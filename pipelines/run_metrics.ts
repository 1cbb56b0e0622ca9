/**
 * What the runner, the sensor and the MinerU bridge record in the {@link Metrics} service: job
 * and stage durations, attempts and retries, gate waits, sensor passes and PDF parses. Each is a
 * combinator or a single effect so that an instrumented site reads as one line. With the default
 * (disabled) service they return the step unchanged: no clock reads, no bookkeeping.
 *
 * @module
 */
import { Cause, Clock, Effect, Exit } from "effect";
import { Metrics, type MetricsShape } from "./metrics.ts";
import {
  activeJobs,
  gateWait,
  jobDuration,
  pdfParseDuration,
  sensorPasses,
  stageAttempts,
  stageDuration,
  stageRetries,
} from "./metric_instruments.ts";

/**
 * How a stage or an attempt ended, as the `outcome` label says it.
 *
 * @category models
 */
export type StepOutcome = "succeeded" | "failed" | "aborted" | "error";

const failureOf = (cause: Cause.Cause<unknown>): unknown => {
  const found = cause.reasons.find((r) => r._tag === "Fail");
  return found?._tag === "Fail" ? found.error : undefined;
};

const tagOf = (u: unknown): string | undefined =>
  typeof u === "object" && u !== null && typeof (u as { _tag?: unknown })._tag === "string"
    ? (u as { _tag: string })._tag
    : undefined;

const interruptedOnly = (cause: Cause.Cause<unknown>): boolean =>
  Cause.hasInterrupts(cause) && !Cause.hasFails(cause);

/**
 * The outcome of a step: `failed` when it failed with an error tagged `failedTag` (the stage gave
 * up), `aborted` when it was only interrupted, `error` for anything else (the store failed).
 */
const outcomeOf = (exit: Exit.Exit<unknown, unknown>, failedTag: string): StepOutcome => {
  if (Exit.isSuccess(exit)) return "succeeded";
  if (interruptedOnly(exit.cause)) return "aborted";
  return tagOf(failureOf(exit.cause)) === failedTag ? "failed" : "error";
};

// Runs `self` as it is when metrics are disabled, else through `instrumented`.
const whenEnabled = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  instrumented: (metrics: MetricsShape) => Effect.Effect<A, E, R>,
): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.service(Metrics), (m) => (m.enabled ? instrumented(m) : self));

// Runs `self` timed by the Clock; `record` sees its exit and the seconds it took. `bracket`
// runs before the step starts and again (with -1) once it ended, interrupted or not.
const timed = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  record: (exit: Exit.Exit<A, E>, seconds: number) => Effect.Effect<void>,
  bracket: (delta: 1 | -1) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.andThen(bracket(1), Clock.currentTimeMillis),
    () => self,
    (start, exit) =>
      Effect.gen(function* () {
        yield* bracket(-1);
        const end = yield* Clock.currentTimeMillis;
        yield* record(exit, (end - start) / 1000);
      }),
  );

/**
 * The labels that name a stage: its pipeline and its name in it.
 *
 * @category models
 */
export interface StageLabels {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The stage's name in the pipeline. */
  readonly stage: string;
}

/**
 * What a job's run returns, as far as its metrics need it.
 *
 * @category models
 */
export interface JobRunResult {
  /** How the run ended. */
  readonly status: string;
  /** How long the run took; 0 with `skipped` when there was nothing to run. */
  readonly durationMs: number;
}

/**
 * Counts a job's run in flight (`lineagekit_active_jobs`) and records its duration by status
 * (`lineagekit_job_duration_seconds`). A run that found nothing to do is not timed; a run that
 * failed in the store is `error`, an interrupted one `aborted`.
 *
 * @category combinators
 */
export const observeJob = (
  pipeline: string,
): <A extends JobRunResult, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> =>
<A extends JobRunResult, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  whenEnabled(self, (metrics) =>
    timed(
      self,
      (exit, seconds) => {
        if (Exit.isSuccess(exit)) {
          const { status, durationMs } = exit.value;
          return status === "skipped" && durationMs === 0
            ? Effect.void
            : metrics.update(jobDuration, { pipeline, status }, durationMs / 1000);
        }
        const status = interruptedOnly(exit.cause) ? "aborted" : "error";
        return metrics.update(jobDuration, { pipeline, status }, seconds);
      },
      (delta) => metrics.modify(activeJobs, {}, delta),
    ));

/**
 * Records a stage's duration, every attempt and backoff sleep included, by outcome
 * (`lineagekit_stage_duration_seconds`); `failed` is the stage giving up (`StageFailed`).
 *
 * @category combinators
 */
export const observeStage = (
  labels: StageLabels,
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  whenEnabled(self, (metrics) =>
    timed(self, (exit, seconds) =>
      metrics.update(
        stageDuration,
        { ...labels, outcome: outcomeOf(exit, "StageFailed") },
        seconds,
      )));

/** An attempt's failure as the runner reports it, as far as its metrics need it. */
interface AttemptFailure {
  readonly _tag: "AttemptFailed";
  /** False when the attempt will be retried. */
  readonly final: boolean;
  /** The attempt's error. */
  readonly error: { readonly _tag: string };
}

const isAttemptFailure = (u: unknown): u is AttemptFailure => tagOf(u) === "AttemptFailed";

/**
 * Counts an attempt by outcome (`lineagekit_stage_attempts_total`) and, when it failed and will
 * be retried, the retry by its error's tag (`lineagekit_stage_retries_total`).
 *
 * @category combinators
 */
export const observeAttempt = (
  labels: StageLabels,
): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  whenEnabled(self, (metrics) =>
    Effect.onExit(self, (exit) => {
      const counted = metrics.update(
        stageAttempts,
        { ...labels, outcome: outcomeOf(exit, "AttemptFailed") },
        1,
      );
      const failure = Exit.isFailure(exit) ? failureOf(exit.cause) : undefined;
      return isAttemptFailure(failure) && !failure.final
        ? Effect.andThen(
          counted,
          metrics.update(stageRetries, { ...labels, error_type: failure.error._tag }, 1),
        )
        : counted;
    }));

/**
 * Records how long a job waited at a gate (`lineagekit_gate_wait_seconds`), when it opened or
 * when it timed out.
 *
 * @category combinators
 */
export const observeGateWait = (
  labels: {
    readonly pipeline: string;
    readonly gate: string;
    readonly outcome: "opened" | "timed_out";
  },
  waitedMs: number,
): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.service(Metrics),
    (m) => m.update(gateWait, labels, Math.max(0, waitedMs) / 1000),
  );

/**
 * Counts a sensor pass by what started it (`lineagekit_sensor_passes_total`).
 *
 * @category combinators
 */
export const countSensorPass = (trigger: string): Effect.Effect<void> =>
  Effect.flatMap(Effect.service(Metrics), (m) => m.update(sensorPasses, { trigger }, 1));

/**
 * Records a PDF parse of the MinerU bridge by outcome (`lineagekit_pdf_parse_duration_seconds`).
 *
 * @category combinators
 */
export const observePdfParse = (
  outcome: "parsed" | "failed",
  durationMs: number,
): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.service(Metrics),
    (m) => m.update(pdfParseDuration, { outcome }, Math.max(0, durationMs) / 1000),
  );
