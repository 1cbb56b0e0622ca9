/**
 * Runs one stage of one job under its policy: each attempt is its own OpenLineage run (START,
 * then exactly one of COMPLETE, FAIL or ABORT), interrupted at the policy's timeout, retried only
 * for retryable errors with the policy's backoff. Every transition is written to the ledger with
 * its paired events in one transaction.
 *
 * @module
 */
import { Cause, Clock, Duration, Effect, Exit } from "effect";
import type { StageContext } from "../stages/context.ts";
import type { AnyStageDefinition, StageInputs } from "../stages/contracts.ts";
import type { PdfReceipt } from "../stages/ir.ts";
import {
  isRetryable,
  isStageError,
  Permanent,
  retryAfterMs,
  type StageError,
  type StageErrorRecord,
  taggedError,
  type TaggedErrorClass,
  toErrorRecord,
} from "../stages/errors.ts";
import type { Policy } from "../policies/policy.ts";
import { retryDelayMs } from "../policies/backoff.ts";
import { guardAttempt, type Resilience } from "../policies/resilience.ts";
import type { StoreError } from "../lineage/outbox.ts";
import {
  type PipelineRunScope,
  type StageAttempt,
  stageEvents,
  type StageTransition,
} from "../lineage/run_events.ts";
import { JobLedger } from "./ledger.ts";
import { documentSchemaFields } from "../lineage/datasets.ts";
import * as Facets from "../lineage/facets.ts";

/** A stage gave up: its last error, where, and after how many attempts. */
const StageFailedBase: TaggedErrorClass<"StageFailed", {
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
  /** The resilience policy: attempts, backoff, timeout, breaker, rate limit and concurrency. */
  readonly policy: Policy;
  /** What the stage reads: the job's request and the outputs of the stages before it. */
  readonly inputs: StageInputs;
  /** The context the stage is given; the attempt number is set for each attempt. */
  readonly context: Omit<StageContext, "attempt">;
  /** The outside service the stage calls (breaker and rate-limit key); absent for pure stages. */
  readonly dependency?: string;
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

type AttemptResult =
  | { readonly _tag: "done"; readonly output: unknown }
  | { readonly _tag: "retry"; readonly delayMs: number }
  | { readonly _tag: "gaveUp"; readonly error: StageErrorRecord };

// One attempt under the policy's breaker, rate limit, concurrency permit and timeout, in the
// order guardAttempt fixes; the retry around it is runStage's loop.
const guarded = (run: StageRun, n: number): Effect.Effect<unknown, StageError, Resilience> => {
  const ctx: StageContext = { ...run.context, attempt: n };
  // The definition's union of stage types collapses here; every branch returns its own output.
  const effect = (run.definition.run as (
    c: StageContext,
    i: StageInputs,
  ) => Effect.Effect<unknown, StageError>)(ctx, run.inputs);
  return guardAttempt(run.policy, {
    stage: `${run.context.pipeline.name}.${run.attempt.stage}`,
    ...(run.dependency === undefined ? {} : { dependency: run.dependency }),
    attempt: n,
  }, effect);
};

const attemptOnce = (
  run: StageRun,
  n: number,
): Effect.Effect<AttemptResult, StoreError, JobLedger | Resilience> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      const ledger = yield* JobLedger;
      const { scope } = run;
      const attempt: StageAttempt = { ...run.attempt, attempt: n };
      const write = (kind: Parameters<typeof ledger.recordStage>[2], t: StageTransition) =>
        ledger.recordStage(scope.jobId, scope.runNumber, kind, stageEvents(scope, attempt, t));
      const startedAt = yield* now;
      yield* write({ kind: "started", stage: attempt.stage, attempt: n }, {
        transition: "START",
        event: "started",
        time: startedAt,
      });
      const exit = yield* Effect.exit(restore(guarded(run, n)));
      const time = yield* now;
      const durationMs = time.getTime() - startedAt.getTime();
      if (Exit.isSuccess(exit)) {
        const output = exit.value;
        const outputCount = (run.definition.outputCount as (o: unknown) => number)(output);
        // A stored PDF is a ledger fact (`pdf_downloaded`) that gates and the MinerU bridge read.
        const effects = attempt.type === "Download"
          ? { pdfDownloaded: true, pdf: output as PdfReceipt }
          : undefined;
        yield* write({ kind: "succeeded", stage: attempt.stage, attempt: n, output, effects }, {
          transition: "COMPLETE",
          event: "completed",
          time,
          durationMs,
          outputCount,
          retryCount: n - 1,
          gpuUsed: run.definition.usesGpu === true,
          ...(attempt.type === "Parse"
            ? { outputFacets: { schema: Facets.schema(documentSchemaFields) } }
            : {}),
        });
        return { _tag: "done", output } as const;
      }
      if (Cause.hasInterrupts(exit.cause) && !Cause.hasFails(exit.cause)) {
        yield* write({ kind: "aborted", stage: attempt.stage, attempt: n }, {
          transition: "ABORT",
          event: "failed",
          time,
          durationMs,
          retryCount: n - 1,
          reason: "interrupted",
          error: { type: "Permanent", message: "interrupted: another stage of the job failed" },
        });
        return yield* Effect.failCause(exit.cause as Cause.Cause<never>);
      }
      const error = errorOf(exit.cause);
      const record = toErrorRecord(error);
      const willRetry = isRetryable(error) && n < run.policy.maxAttempts;
      const delayMs = willRetry ? yield* retryDelayMs(run.policy, n, retryAfterMs(error)) : 0;
      yield* write(
        { kind: "failed", stage: attempt.stage, attempt: n, error: record, willRetry },
        {
          transition: "FAIL",
          event: willRetry ? "retrying" : "failed",
          time,
          durationMs,
          error: record,
          retryCount: n - 1,
          ...(willRetry ? { backoffMs: delayMs } : { reason: failureReason(error) }),
        },
      );
      return willRetry
        ? ({ _tag: "retry", delayMs } as const)
        : ({ _tag: "gaveUp", error: record } as const);
    })
  );

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

/** Runs a stage to success or until its policy gives up. */
export const runStage = (
  run: StageRun,
): Effect.Effect<unknown, StageFailed | StoreError, JobLedger | Resilience> => {
  const loop = (
    n: number,
  ): Effect.Effect<unknown, StageFailed | StoreError, JobLedger | Resilience> =>
    Effect.flatMap(attemptOnce(run, n), (result) => {
      switch (result._tag) {
        case "done":
          return Effect.succeed(result.output);
        case "retry":
          // The backoff sleep holds nothing: the attempt's run is closed and no permit is taken.
          return Effect.andThen(Effect.sleep(Duration.millis(result.delayMs)), loop(n + 1));
        case "gaveUp":
          return Effect.fail(
            new StageFailed({
              stage: run.attempt.stage,
              policy: run.attempt.policy,
              attempts: n,
              error: result.error,
            }),
          );
      }
    });
  return loop(1);
};
