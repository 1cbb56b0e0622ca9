/**
 * Runs one stage of one job under its policy: each attempt is its own OpenLineage run (START,
 * then exactly one of COMPLETE, FAIL or ABORT), interrupted at the policy's timeout, retried only
 * for retryable errors with the policy's backoff. Every transition is written to the ledger with
 * its paired events in one transaction.
 *
 * @module
 */
import { Cause, Clock, type Context, Effect, Exit, Schedule } from "effect";
import type { StageContext } from "../stages/context.ts";
import type { AnyStageDefinition, StageInputs } from "../stages/contracts.ts";
import {
  isRetryable,
  isStageError,
  Permanent,
  type StageError,
  type StageErrorRecord,
  taggedError,
  type TaggedErrorClass,
  toErrorRecord,
} from "../stages/errors.ts";
import type { Policy } from "../policies/policy.ts";
import { policyScheduleBy } from "../policies/policy_schedule.ts";
import { guardAttempt, type Resilience } from "../policies/resilience.ts";
import type { StoreError } from "../lineage/outbox.ts";
import {
  type PipelineRunScope,
  type StageAttempt,
  stageEvents,
  type StageTransition,
} from "../lineage/run_events.ts";
import { JobLedger } from "./ledger.ts";
import { RunSuperseded } from "./run_superseded.ts";
import * as Facets from "../lineage/facets.ts";
import { describeIssues } from "../stages/schema_issues.ts";
import { observeAttempt, observeStage } from "./run_metrics.ts";

/** A stage gave up: its last error, where, and after how many attempts. */
export const StageFailedBase: TaggedErrorClass<"StageFailed", {
  readonly stage: string;
  readonly policy: string;
  readonly attempts: number;
  readonly error: StageErrorRecord;
}> = taggedError("StageFailed");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** A stage gave up under its policy: `stage`, `policy`, `attempts` made and the last `error`. */
export class StageFailed extends StageFailedBase {}

/** What one stage run needs. */
export interface StageRun {
  /** The pipeline run the stage belongs to; its events and ledger writes are made under it. */
  readonly scope: PipelineRunScope;
  /** The stage's implementation. */
  readonly definition: AnyStageDefinition;
  /** The attempt as lineage describes it; the attempt number is set for each attempt. */
  readonly attempt: Omit<StageAttempt, "attempt">;
  /** The stage's decoded `config:`, handed to every attempt. */
  readonly config: unknown;
  /** The resilience policy: attempts, backoff, timeout, breaker, rate limit and concurrency. */
  readonly policy: Policy;
  /**
   * What the stage reads: the job's request and the upstream outputs its definition declares
   * (resolving them fails the attempt when an output is missing or does not match).
   */
  readonly inputs: Effect.Effect<StageInputs, StageError>;
  /** The context the stage is given; the attempt number is set for each attempt. */
  readonly context: Omit<StageContext, "attempt">;
  /** The services the definition's attempts need. */
  readonly services?: Context.Context<never>;
}

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms));

/** A defect inside a stage is a bug, not an outside failure: it fails the stage without retry. */
const errorOf = (cause: Cause.Cause<unknown>): StageError => {
  const found = Cause.findErrorOption(cause);
  if (found._tag === "Some" && isStageError(found.value)) return found.value;
  const squashed = Cause.squash(cause);
  return new Permanent({
    message: `stage crashed: ${squashed instanceof Error ? squashed.message : String(squashed)}`,
  });
};

/**
 * An attempt that failed: its error, and whether its FAIL event is written already (a final
 * failure writes it at once; a failure that will be retried leaves it to the retry schedule,
 * which knows the delay).
 */
interface AttemptFailed {
  readonly _tag: "AttemptFailed";
  readonly n: number;
  readonly error: StageError;
  readonly record: StageErrorRecord;
  readonly time: Date;
  readonly durationMs: number;
  readonly final: boolean;
}

/** An output the definition's schema accepts, as the schema decodes it; else `Permanent`. */
const checkOutput = (run: StageRun, output: unknown): Effect.Effect<unknown, StageError> => {
  const checked = run.definition.output.safeParse(output);
  return checked.success ? Effect.succeed(checked.data) : Effect.fail(
    new Permanent({
      message:
        `stage "${run.attempt.stage}" (${run.definition.type}/${run.definition.implementation}) produced an output that does not match its schema: ${
          describeIssues(checked.error.issues)
        }`,
    }),
  );
};

// One attempt under the policy's breaker, rate limit, concurrency permit and timeout, in the
// order guardAttempt fixes; the retry around it is runStage's.
const guarded = (run: StageRun, n: number): Effect.Effect<unknown, StageError, Resilience> =>
  Effect.flatMap(run.inputs, (inputs) => {
    const ctx: StageContext = { ...run.context, attempt: n };
    const { definition } = run;
    const attempt = Effect.flatMap(
      definition.run(ctx, inputs, run.config) as Effect.Effect<unknown, StageError>,
      (output) => checkOutput(run, output),
    );
    const provided = run.services === undefined
      ? attempt
      : Effect.provideContext(attempt, run.services);
    const dependency: string | undefined = definition.dependency?.(ctx, inputs, run.config);
    return guardAttempt(run.policy, {
      stage: `${run.context.pipeline.name}.${run.attempt.stage}`,
      ...(dependency === undefined ? {} : { dependency }),
      attempt: n,
    }, provided);
  });

const attemptOnce = (
  run: StageRun,
  n: number,
): Effect.Effect<
  unknown,
  AttemptFailed | StoreError | RunSuperseded,
  JobLedger | Resilience
> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const ledger = yield* JobLedger;
      const { scope } = run;
      const attempt: StageAttempt = { ...run.attempt, attempt: n };
      // A refused write means the job was cancelled or taken over: the run stops here.
      const write = (kind: Parameters<typeof ledger.recordStage>[2], t: StageTransition) =>
        Effect.flatMap(
          ledger.recordStage(scope.jobId, scope.runNumber, kind, stageEvents(scope, attempt, t)),
          (owned) => owned ? Effect.void : Effect.fail(new RunSuperseded({ jobId: scope.jobId })),
        );
      const startedAt = yield* now;
      yield* write({ kind: "started", stage: attempt.stage, attempt: n }, {
        transition: "START",
        event: "started",
        time: startedAt,
      });
      const exit = yield* Effect.exit(restore(guarded(run, n)));
      const time = yield* now;
      const durationMs = time.getTime() - startedAt.getTime();
      // Records a failed attempt (FAIL when no retry follows) and fails with what the retry needs.
      const failAttempt = (error: StageError) =>
        Effect.gen(function* () {
          const record = toErrorRecord(error);
          // The same rule as the policy's schedule: another attempt is left and retrying can help.
          const final = !(isRetryable(error) && n < run.policy.maxAttempts);
          if (final) {
            yield* write(
              { kind: "failed", stage: attempt.stage, attempt: n, error: record, willRetry: false },
              {
                transition: "FAIL",
                event: "failed",
                time,
                durationMs,
                error: record,
                retryCount: n - 1,
                reason: failureReason(error),
              },
            );
          }
          const failed: AttemptFailed = {
            _tag: "AttemptFailed",
            n,
            error,
            record,
            time,
            durationMs,
            final,
          };
          return yield* Effect.fail(failed);
        });
      if (Exit.isSuccess(exit)) {
        const output = exit.value;
        const { definition } = run;
        const outputCount = definition.outputCount(output);
        // Ledger facts a success sets (a stored PDF's `pdf_downloaded`), for gates and bridges.
        const effects = definition.ledgerEffects?.(output);
        const stored = yield* Effect.exit(
          write({ kind: "succeeded", stage: attempt.stage, attempt: n, output, effects }, {
            transition: "COMPLETE",
            event: "completed",
            time,
            durationMs,
            outputCount,
            retryCount: n - 1,
            gpuUsed: definition.usesGpu === true,
            ...(definition.outputFields === undefined
              ? {}
              : { outputFacets: { schema: Facets.schema(definition.outputFields) } }),
          }),
        );
        if (Exit.isSuccess(stored)) return output;
        // The store refused the checkpoint for its data (a NUL in the JSON, say): the same write
        // would be refused again, so this document's stage fails for good; the store is fine and
        // the other documents go on. Any other store failure ends the run as before.
        const refused = Cause.findErrorOption(stored.cause);
        if (!(refused._tag === "Some" && isRefusedData(refused.value))) {
          return yield* Effect.failCause(stored.cause);
        }
        return yield* failAttempt(
          new Permanent({
            message: `${attempt.stage} output could not be stored: ${refused.value.message}`,
          }),
        );
      }
      if (Cause.hasInterrupts(exit.cause) && !Cause.hasFails(exit.cause)) {
        yield* Effect.ignore(write({ kind: "aborted", stage: attempt.stage, attempt: n }, {
          transition: "ABORT",
          event: "failed",
          time,
          durationMs,
          retryCount: n - 1,
          reason: "interrupted",
          error: { type: "Permanent", message: "interrupted: another stage of the job failed" },
        }));
        return yield* Effect.failCause(exit.cause as Cause.Cause<never>);
      }
      return yield* failAttempt(errorOf(exit.cause));
    })
  );

/** A store write refused for the data in it, not for the store's own trouble. */
const isRefusedData = (error: unknown): error is StoreError =>
  (error as { _tag?: unknown })?._tag === "StoreError" && (error as StoreError).dataFault === true;

/** The FAIL event of an attempt that will be retried after `delayMs`. */
const writeRetrying = (
  run: StageRun,
  failed: AttemptFailed,
  delayMs: number,
): Effect.Effect<void, StoreError, JobLedger> =>
  Effect.flatMap(Effect.service(JobLedger), (ledger) => {
    const { scope } = run;
    const attempt: StageAttempt = { ...run.attempt, attempt: failed.n };
    return ledger.recordStage(
      scope.jobId,
      scope.runNumber,
      {
        kind: "failed",
        stage: attempt.stage,
        attempt: failed.n,
        error: failed.record,
        willRetry: true,
      },
      stageEvents(scope, attempt, {
        transition: "FAIL",
        event: "retrying",
        time: failed.time,
        durationMs: failed.durationMs,
        error: failed.record,
        retryCount: failed.n - 1,
        backoffMs: delayMs,
      }),
    );
  });

/** The CloudEvent `reason` of a final failure. */
export const failureReason = (error: StageError): string => {
  switch (error._tag) {
    case "GpuUnavailable":
      return "no_gpu";
    case "GpuOutOfMemory":
      return "gpu_oom";
    case "Timeout":
      return "timeout";
    case "InvalidInput":
      return "invalid_input";
    case "GateTimedOut":
      return "gate_timed_out";
    case "CircuitOpen":
      return "circuit_open";
    default:
      return isRetryable(error) ? "retries_exhausted" : "permanent";
  }
};

/**
 * Runs a stage to success or until its policy gives up: each attempt under the policy's breaker,
 * rate limit, permit and timeout, retried through `Effect.retry` with the policy's schedule
 * ({@link policyScheduleBy}). The backoff sleep holds nothing: the attempt's run is closed (its
 * FAIL event written, with the delay, before the sleep) and no permit is taken.
 */
export const runStage = (
  run: StageRun,
): Effect.Effect<unknown, StageFailed | StoreError | RunSuperseded, JobLedger | Resilience> =>
  Effect.suspend(() => {
    let attempts = 0;
    // A retried failure whose FAIL event the schedule has not written yet: if the stage is
    // interrupted in between, its run still gets a terminal event.
    let unsettled: AttemptFailed | undefined;
    const metered = { pipeline: run.context.pipeline.name, stage: run.attempt.stage };
    const attempt = Effect.suspend(() => attemptOnce(run, ++attempts)).pipe(
      observeAttempt(metered),
      Effect.tapError((e) =>
        Effect.sync(() => {
          if (e._tag === "AttemptFailed" && !e.final) unsettled = e;
        })
      ),
    );
    const isFailure = (e: AttemptFailed | StoreError | RunSuperseded): e is AttemptFailed =>
      e._tag === "AttemptFailed";
    const schedule = policyScheduleBy(
      run.policy,
      (e: AttemptFailed | StoreError | RunSuperseded) =>
        isFailure(e) ? e.error : new Permanent({ message: e.message }),
    ).pipe(
      Schedule.tap((meta) =>
        isFailure(meta.input)
          ? Effect.uninterruptible(
            Effect.tap(
              writeRetrying(run, meta.input, meta.output),
              () => Effect.sync(() => unsettled = undefined),
            ),
          )
          : Effect.void
      ),
    );
    return Effect.retry(attempt, {
      schedule,
      while: (e) => isFailure(e) && !e.final && isRetryable(e.error),
    }).pipe(
      Effect.onInterrupt(() =>
        unsettled === undefined ? Effect.void : writeInterrupted(run, unsettled).pipe(
          Effect.catch(() => Effect.void),
        )
      ),
      Effect.mapError((e): StageFailed | StoreError | RunSuperseded =>
        isFailure(e)
          ? new StageFailed({
            stage: run.attempt.stage,
            policy: run.attempt.policy,
            attempts: e.n,
            error: e.record,
          })
          : e
      ),
      observeStage(metered),
    );
  });

/** Ends the run of an attempt interrupted after it failed and before its retry was recorded. */
const writeInterrupted = (
  run: StageRun,
  failed: AttemptFailed,
): Effect.Effect<void, StoreError, JobLedger> =>
  Effect.flatMap(Effect.service(JobLedger), (ledger) => {
    const attempt: StageAttempt = { ...run.attempt, attempt: failed.n };
    return ledger.recordStage(
      run.scope.jobId,
      run.scope.runNumber,
      {
        kind: "failed",
        stage: attempt.stage,
        attempt: failed.n,
        error: failed.record,
        willRetry: false,
      },
      stageEvents(run.scope, attempt, {
        transition: "FAIL",
        event: "failed",
        time: failed.time,
        durationMs: failed.durationMs,
        error: failed.record,
        retryCount: failed.n - 1,
        reason: "interrupted",
      }),
    );
  });
