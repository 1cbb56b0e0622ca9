/**
 * The typed failures a stage can end with. One tagged class per kind; whether a kind is retried is
 * decided here, by its tag, and nowhere else.
 *
 * @module
 */
import { type Cause, Data } from "effect";

/** The constructor type of a kit error class: JSR needs super classes with explicit types. */
export type TaggedErrorClass<Tag extends string, Fields> = new (
  args: Fields,
) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<Fields>;

/** `Data.TaggedError` with the explicit constructor type JSR's public API needs. */
export const taggedError = <Tag extends string, Fields>(tag: Tag): TaggedErrorClass<Tag, Fields> =>
  Data.TaggedError(tag) as unknown as TaggedErrorClass<Tag, Fields>;

/** The base class of {@link Transient}, typed explicitly for JSR: extend or use {@link Transient}. */
export const TransientBase: TaggedErrorClass<"Transient", {
  readonly message: string;
  readonly retryAfterMs?: number;
}> = taggedError("Transient");
/** A failure that may go away on its own (network blip, 5xx, lock contention). */
export class Transient extends TransientBase {}

/** The base class of {@link Permanent}, typed explicitly for JSR: extend or use {@link Permanent}. */
export const PermanentBase: TaggedErrorClass<"Permanent", { readonly message: string }> =
  taggedError(
    "Permanent",
  );
/** A failure that will not go away by retrying (a 4xx, a logic error in a stage). */
export class Permanent extends PermanentBase {}

/** The base class of {@link InvalidInput}, typed explicitly for JSR: extend or use {@link InvalidInput}. */
export const InvalidInputBase: TaggedErrorClass<"InvalidInput", {
  readonly message: string;
  readonly path: string;
}> = taggedError("InvalidInput");
/** The input record is malformed; `path` points into the offending record or file. */
export class InvalidInput extends InvalidInputBase {}

/** The base class of {@link GpuUnavailable}, typed explicitly for JSR: extend or use {@link GpuUnavailable}. */
export const GpuUnavailableBase: TaggedErrorClass<"GpuUnavailable", {
  readonly message: string;
}> = taggedError("GpuUnavailable");
/** The GPU service is down, unhealthy or unreachable. Never retried, never replaced by a CPU path. */
export class GpuUnavailable extends GpuUnavailableBase {}

/** The base class of {@link GpuOutOfMemory}, typed explicitly for JSR: extend or use {@link GpuOutOfMemory}. */
export const GpuOutOfMemoryBase: TaggedErrorClass<"GpuOutOfMemory", {
  readonly message: string;
}> = taggedError("GpuOutOfMemory");
/** The GPU ran out of memory serving the request. Never retried. */
export class GpuOutOfMemory extends GpuOutOfMemoryBase {}

/** The base class of {@link Timeout}, typed explicitly for JSR: extend or use {@link Timeout}. */
export const TimeoutBase: TaggedErrorClass<"Timeout", {
  readonly message: string;
  readonly timeoutMs: number;
}> = taggedError("Timeout");
/** An attempt ran past its policy's `timeout_seconds` and was interrupted. */
export class Timeout extends TimeoutBase {}

/** The base class of {@link RateLimited}, typed explicitly for JSR: extend or use {@link RateLimited}. */
export const RateLimitedBase: TaggedErrorClass<"RateLimited", {
  readonly message: string;
  readonly retryAfterMs: number;
}> = taggedError("RateLimited");
/** The dependency asked us to slow down; wait `retryAfterMs` before the next attempt. */
export class RateLimited extends RateLimitedBase {}

/** The base class of {@link CircuitOpen}, typed explicitly for JSR: extend or use {@link CircuitOpen}. */
export const CircuitOpenBase: TaggedErrorClass<"CircuitOpen", {
  readonly message: string;
  readonly retryAfterMs: number;
}> = taggedError("CircuitOpen");
/** The dependency's circuit breaker is open; no call was made. */
export class CircuitOpen extends CircuitOpenBase {}

/** The base class of {@link GateTimedOut}, typed explicitly for JSR: extend or use {@link GateTimedOut}. */
export const GateTimedOutBase: TaggedErrorClass<"GateTimedOut", {
  readonly message: string;
  readonly gate: string;
}> = taggedError("GateTimedOut");
/** A gate's condition did not hold within its `timeout_seconds`. */
export class GateTimedOut extends GateTimedOutBase {}

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
  /** The error's tag. */
  readonly type: StageErrorType;
  /** What went wrong, for people. */
  readonly message: string;
  /** For `InvalidInput`: where in the record or file the problem is. */
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
