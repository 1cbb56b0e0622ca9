/**
 * The typed failures a stage can end with. One tagged class per kind; whether a kind is retried is
 * decided here, by its tag, and nowhere else.
 *
 * @module
 */
import { Data } from "effect";

/** A failure that may go away on its own (network blip, 5xx, lock contention). */
export class Transient extends Data.TaggedError("Transient")<{
  readonly message: string;
  readonly retryAfterMs?: number;
}> {}

/** A failure that will not go away by retrying (a 4xx, a logic error in a stage). */
export class Permanent extends Data.TaggedError("Permanent")<{ readonly message: string }> {}

/** The input record is malformed; `path` points into the offending record or file. */
export class InvalidInput extends Data.TaggedError("InvalidInput")<{
  readonly message: string;
  readonly path: string;
}> {}

/** The GPU service is down, unhealthy or unreachable. Never retried, never replaced by a CPU path. */
export class GpuUnavailable extends Data.TaggedError("GpuUnavailable")<{
  readonly message: string;
}> {}

/** The GPU ran out of memory serving the request. Never retried. */
export class GpuOutOfMemory extends Data.TaggedError("GpuOutOfMemory")<{
  readonly message: string;
}> {}

/** An attempt ran past its policy's `timeout_seconds` and was interrupted. */
export class Timeout extends Data.TaggedError("Timeout")<{
  readonly message: string;
  readonly timeoutMs: number;
}> {}

/** The dependency asked us to slow down; wait `retryAfterMs` before the next attempt. */
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly message: string;
  readonly retryAfterMs: number;
}> {}

/** The dependency's circuit breaker is open; no call was made. */
export class CircuitOpen extends Data.TaggedError("CircuitOpen")<{
  readonly message: string;
  readonly retryAfterMs: number;
}> {}

/** A gate's condition did not hold within its `timeout_seconds`. */
export class GateTimedOut extends Data.TaggedError("GateTimedOut")<{
  readonly message: string;
  readonly gate: string;
}> {}

/** Every failure a stage may end with. */
export type StageError =
  | Transient
  | Permanent
  | InvalidInput
  | GpuUnavailable
  | GpuOutOfMemory
  | Timeout
  | RateLimited
  | CircuitOpen
  | GateTimedOut;

/** The tag of a {@link StageError}. */
export type StageErrorType = StageError["_tag"];

/** Every error tag, in a stable order (for documentation and schemas). */
export const stageErrorTypes: ReadonlyArray<StageErrorType> = [
  "Transient",
  "Permanent",
  "InvalidInput",
  "GpuUnavailable",
  "GpuOutOfMemory",
  "Timeout",
  "RateLimited",
  "CircuitOpen",
  "GateTimedOut",
];

const retryable: Record<StageErrorType, boolean> = {
  Transient: true,
  Timeout: true,
  RateLimited: true,
  CircuitOpen: true,
  Permanent: false,
  InvalidInput: false,
  GpuUnavailable: false,
  GpuOutOfMemory: false,
  GateTimedOut: false,
};

/** Whether a retry policy may try again after this error. The only place that decides it. */
export const isRetryable = (error: StageError): boolean => retryable[error._tag];

/** Whether the error came from a GPU service (fail fast, counted by the breaker). */
export const isGpuError = (error: StageError): error is GpuUnavailable | GpuOutOfMemory =>
  error._tag === "GpuUnavailable" || error._tag === "GpuOutOfMemory";

/** How long the remote asked us to wait before retrying, when it said so. */
export const retryAfterMs = (error: StageError): number | undefined =>
  "retryAfterMs" in error ? error.retryAfterMs : undefined;

/** The persisted and rendered form of a stage error (ledger rows, FAIL facets, CloudEvents). */
export interface StageErrorRecord {
  readonly type: StageErrorType;
  readonly message: string;
  readonly path?: string;
}

/** Renders a stage error for the ledger and events. */
export const toErrorRecord = (error: StageError): StageErrorRecord =>
  error._tag === "InvalidInput"
    ? { type: error._tag, message: error.message, path: error.path }
    : { type: error._tag, message: error.message };

/** Whether an unknown value is one of the kit's stage errors. */
export const isStageError = (u: unknown): u is StageError =>
  typeof u === "object" && u !== null && "_tag" in u &&
  (stageErrorTypes as ReadonlyArray<unknown>).includes((u as { _tag: unknown })._tag);
