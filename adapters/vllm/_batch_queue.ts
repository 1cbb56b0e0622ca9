/**
 * The embedding batcher's state and its synchronous steps: who waits for which texts, which
 * texts are queued, and which batches are ready to go. No I/O and no fibers here; the batcher
 * calls these between its effects, so each step runs without interleaving.
 *
 * @module
 */
import { Deferred, Exit } from "effect";
import type { StageError } from "../../stages/errors.ts";
import type { EmbeddingInput } from "./embedding_input.ts";

/** One vector per text, in the caller's order. */
export type Vectors = ReadonlyArray<ReadonlyArray<number>>;

/** One `embed` call waiting for its vectors. */
export interface Caller {
  readonly deferred: Deferred.Deferred<Vectors, StageError>;
  readonly vectors: Array<ReadonlyArray<number>>;
  remaining: number;
  /** Answered, failed or interrupted: its texts are no longer sent and its results dropped. */
  settled: boolean;
}

/** One text in the queue or in a request, with its caller and place. */
export interface Queued {
  readonly caller: Caller;
  readonly index: number;
  readonly input: EmbeddingInput;
  /** Clock time when it was queued, for the linger. */
  readonly queuedAt: number;
}

/** The batcher's mutable state. */
export interface BatchState {
  queue: Array<Queued>;
  inFlight: number;
  dispatchScheduled: boolean;
  timerArmed: boolean;
  closed: boolean;
  readonly waiting: Set<Caller>;
}

/** How big a batch is and how many go at once. */
export interface BatchLimits {
  readonly maxBatchSize: number;
  readonly lingerMs: number;
  readonly maxConcurrentRequests: number;
}

/** An empty state. */
export const emptyState = (): BatchState => ({
  queue: [],
  inFlight: 0,
  dispatchScheduled: false,
  timerArmed: false,
  closed: false,
  waiting: new Set(),
});

/** Queues a caller's texts. */
export const enqueue = (
  state: BatchState,
  caller: Caller,
  inputs: ReadonlyArray<EmbeddingInput>,
  queuedAt: number,
): void => {
  state.waiting.add(caller);
  state.queue.push(...inputs.map((input, index) => ({ caller, index, input, queuedAt })));
};

/** Ends a caller's wait with `exit` (once) and takes its texts out of the queue. */
export const settle = (
  state: BatchState,
  caller: Caller,
  exit: Exit.Exit<Vectors, StageError>,
): void => {
  if (caller.settled) return;
  caller.settled = true;
  state.waiting.delete(caller);
  state.queue = state.queue.filter((queued) => queued.caller !== caller);
  Deferred.doneUnsafe(caller.deferred, exit);
};

/** Hands each sent text its vector; a caller with all its vectors is answered. */
export const deliver = (state: BatchState, sent: ReadonlyArray<Queued>, vectors: Vectors): void => {
  sent.forEach((queued, i) => {
    const { caller } = queued;
    if (caller.settled) return;
    caller.vectors[queued.index] = vectors[i];
    caller.remaining -= 1;
    if (caller.remaining === 0) settle(state, caller, Exit.succeed(caller.vectors));
  });
};

/** The distinct callers of some texts, in order of first appearance. */
export const callersOf = (sent: ReadonlyArray<Queued>): ReadonlyArray<Caller> => [
  ...new Set(sent.map((queued) => queued.caller)),
];

/**
 * Splits texts into two halves of callers, so that each half keeps whole callers and a single
 * caller is reached in log2(callers) rounds.
 */
export const halves = (
  sent: ReadonlyArray<Queued>,
): readonly [ReadonlyArray<Queued>, ReadonlyArray<Queued>] => {
  const callers = callersOf(sent);
  const first = new Set(callers.slice(0, Math.ceil(callers.length / 2)));
  return [
    sent.filter((queued) => first.has(queued.caller)),
    sent.filter((queued) => !first.has(queued.caller)),
  ];
};

/**
 * Whether a failed request can be split to spare some of its callers: it failed for one of its
 * own texts (`InvalidInput` whose path is that text's id) and holds more than one caller.
 */
export const isolatable = (error: StageError, sent: ReadonlyArray<Queued>): boolean =>
  error._tag === "InvalidInput" && callersOf(sent).length > 1 &&
  sent.some((queued) => queued.input.id === error.path);

/**
 * Takes the batches that may go now, counting them in flight: full ones, a partial one when
 * nothing is in flight or its oldest text has waited `lingerMs`, while request slots are free.
 */
export const takeReady = (
  state: BatchState,
  limits: BatchLimits,
  now: number,
): ReadonlyArray<ReadonlyArray<Queued>> => {
  const batches: Array<ReadonlyArray<Queued>> = [];
  while (state.inFlight < limits.maxConcurrentRequests && state.queue.length > 0) {
    const ready = state.queue.length >= limits.maxBatchSize || state.inFlight === 0 ||
      now - state.queue[0].queuedAt >= limits.lingerMs;
    if (!ready) break;
    batches.push(state.queue.slice(0, limits.maxBatchSize));
    state.queue = state.queue.slice(limits.maxBatchSize);
    state.inFlight += 1;
  }
  return batches;
};

/**
 * Milliseconds until the queued partial batch may go, when a timer is needed for it: texts are
 * queued, no timer is armed, and a request slot is free (a busy slot wakes the batcher anyway).
 */
export const lingerLeft = (
  state: BatchState,
  limits: BatchLimits,
  now: number,
): number | undefined =>
  state.queue.length > 0 && !state.timerArmed && state.inFlight < limits.maxConcurrentRequests
    ? Math.max(0, state.queue[0].queuedAt + limits.lingerMs - now)
    : undefined;
