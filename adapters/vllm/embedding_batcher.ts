/**
 * One embedding queue per server and model, shared by every document of the process: the texts
 * of all concurrent callers are coalesced into requests of up to `maxBatchSize` texts, with at most
 * `maxConcurrentRequests` requests in flight. A GPU embeds a full batch in little more time than a
 * small one, so a server fed full batches serves several times the texts per second of one fed a
 * document at a time.
 *
 * When a request goes out: at once when the queue holds a full batch; at once when nothing is in
 * flight (an idle server gains nothing from waiting); otherwise once the oldest queued text has
 * waited `lingerMs`, or, when every request slot is taken, as soon as one frees. Callers queued in
 * the same scheduler turn share the first request.
 *
 * Failures are shared as fairly as vLLM allows. vLLM rejects a whole request for one over-long
 * text, so a request that fails with `InvalidInput` naming one of its texts is split in two halves
 * of callers and each half is sent again, until the request holds a single caller: only that
 * caller fails. Every other failure fails every caller of the request at once, and nothing is
 * retried here: GPU failures (`GpuOutOfMemory`, `GpuUnavailable`) must reach the policy, which
 * never retries them, and transient ones are retried by the policy of each stage. A caller
 * interrupted while waiting leaves the queue; requests it shares with others go on.
 *
 * Time is read through Effect's `Clock`, so tests drive the linger with `TestClock`. Effect's own
 * request batching groups the requests of one scheduler turn; it has no linger, no bound on
 * requests in flight and no way to spare the other callers of a rejected request, hence this queue.
 *
 * @module
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Option, Scope } from "effect";
import { Permanent, type StageError, Transient } from "../../stages/errors.ts";
import {
  type BatchLimits,
  type BatchState,
  type Caller,
  callersOf,
  deliver,
  emptyState,
  enqueue,
  halves,
  isolatable,
  lingerLeft,
  type Queued,
  settle,
  takeReady,
  type Vectors,
} from "./_batch_queue.ts";
import type { EmbeddingInput, EmbedRequest } from "./embedding_input.ts";

/**
 * How a batcher coalesces texts and how many requests it keeps in flight.
 *
 * @category models
 */
export interface BatchingOptions {
  /**
   * Texts per request.
   * @default 64
   */
  readonly maxBatchSize?: number;
  /**
   * Milliseconds a partial batch waits for more texts while other requests are in flight.
   * @default 5
   */
  readonly lingerMs?: number;
  /**
   * Requests in flight at once; the rest wait in the queue, where they keep growing.
   * @default 4
   */
  readonly maxConcurrentRequests?: number;
}

/**
 * A batcher's options: its batching and the request it sends each batch with.
 *
 * @category models
 */
export interface EmbeddingBatcherOptions extends BatchingOptions {
  /** Sends one batch (one HTTP request to the server). */
  readonly send: EmbedRequest;
}

/**
 * Embeds texts together with those of every other concurrent caller.
 *
 * @category services
 */
export interface EmbeddingBatcher {
  /** One vector per input, in input order; fails with the error of the request that failed it. */
  readonly embed: (
    inputs: ReadonlyArray<EmbeddingInput>,
  ) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, StageError>;
}

/**
 * Texts per request when `maxBatchSize` is not set.
 *
 * @category constructors
 */
export const defaultMaxBatchSize = 64;

/**
 * Milliseconds a partial batch waits when `lingerMs` is not set.
 *
 * @category constructors
 */
export const defaultLingerMs = 5;

/**
 * Requests in flight when `maxConcurrentRequests` is not set.
 *
 * @category constructors
 */
export const defaultMaxConcurrentRequests = 4;

const positiveInteger = (name: string, value: number | undefined): ReadonlyArray<string> =>
  value === undefined || (Number.isInteger(value) && value >= 1)
    ? []
    : [`${name} must be a positive integer (got ${value})`];

/**
 * Checks batching options and returns one message per problem (empty when valid).
 *
 * @category constructors
 */
export const validateBatchingOptions = (options: BatchingOptions): ReadonlyArray<string> => [
  ...positiveInteger("maxBatchSize", options.maxBatchSize),
  ...(options.lingerMs === undefined || (Number.isFinite(options.lingerMs) && options.lingerMs >= 0)
    ? []
    : [`lingerMs must be a number of milliseconds ≥ 0 (got ${options.lingerMs})`]),
  ...positiveInteger("maxConcurrentRequests", options.maxConcurrentRequests),
];

interface Batcher {
  readonly state: BatchState;
  readonly limits: BatchLimits;
  readonly send: EmbedRequest;
  readonly scope: Scope.Scope;
}

// Sends a part of a batch; on an over-long text shared with other callers, sends each half again.
const sendPart = (b: Batcher, part: ReadonlyArray<Queued>): Effect.Effect<void> =>
  Effect.suspend(() => {
    const live = part.filter((queued) => !queued.caller.settled);
    if (live.length === 0) return Effect.void;
    return Effect.exit(b.send(live.map((queued) => queued.input))).pipe(
      Effect.flatMap((exit) => {
        if (Exit.isSuccess(exit)) return Effect.sync(() => deliver(b.state, live, exit.value));
        const error = Cause.findErrorOption(exit.cause);
        if (Option.isSome(error) && isolatable(error.value, live)) {
          const [first, second] = halves(live);
          return Effect.andThen(sendPart(b, first), sendPart(b, second));
        }
        // Not retried here: GPU failures must reach the policy as they are.
        return Effect.sync(() => {
          for (const caller of callersOf(live)) settle(b.state, caller, Exit.failCause(exit.cause));
        });
      }),
    );
  });

// Starts every batch that may go, and a timer for the partial batch that may not go yet.
const dispatch = (b: Batcher): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (b.state.closed) return;
    const now = yield* Clock.currentTimeMillis;
    for (const batch of takeReady(b.state, b.limits, now)) {
      const request = sendPart(b, batch).pipe(
        Effect.ensuring(Effect.suspend(() => {
          b.state.inFlight -= 1;
          return dispatch(b);
        })),
      );
      yield* Effect.forkIn(request, b.scope);
    }
    const wait = lingerLeft(b.state, b.limits, now);
    if (wait === undefined) return;
    b.state.timerArmed = true;
    const timer = Effect.sleep(Duration.millis(wait)).pipe(
      Effect.andThen(Effect.sync(() => {
        b.state.timerArmed = false;
      })),
      Effect.andThen(dispatch(b)),
    );
    yield* Effect.forkIn(timer, b.scope);
  });

// One dispatch per scheduler turn: callers queued in the same turn share its first request.
const scheduleDispatch = (b: Batcher): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (b.state.dispatchScheduled) return Effect.void;
    b.state.dispatchScheduled = true;
    const turn = Effect.yieldNow.pipe(
      Effect.andThen(Effect.sync(() => {
        b.state.dispatchScheduled = false;
      })),
      Effect.andThen(dispatch(b)),
    );
    return Effect.asVoid(Effect.forkIn(turn, b.scope));
  });

const waitFor = (
  b: Batcher,
  inputs: ReadonlyArray<EmbeddingInput>,
): Effect.Effect<Vectors, StageError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function* () {
      if (b.state.closed) {
        return yield* Effect.fail(new Transient({ message: "the embedding batcher is closed" }));
      }
      const deferred = yield* Deferred.make<Vectors, StageError>();
      const caller: Caller = { deferred, vectors: [], remaining: inputs.length, settled: false };
      enqueue(b.state, caller, inputs, yield* Clock.currentTimeMillis);
      yield* scheduleDispatch(b);
      return yield* restore(Deferred.await(deferred)).pipe(
        Effect.onInterrupt(() => Effect.sync(() => settle(b.state, caller, Exit.interrupt()))),
      );
    })
  );

const makeBatcherIn = (
  scope: Scope.Scope,
  options: EmbeddingBatcherOptions,
): { readonly batcher: EmbeddingBatcher; readonly close: Effect.Effect<void> } => {
  const b: Batcher = {
    state: emptyState(),
    limits: {
      maxBatchSize: options.maxBatchSize ?? defaultMaxBatchSize,
      lingerMs: options.lingerMs ?? defaultLingerMs,
      maxConcurrentRequests: options.maxConcurrentRequests ?? defaultMaxConcurrentRequests,
    },
    send: options.send,
    scope,
  };
  const problems = validateBatchingOptions(options);
  const embed = (inputs: ReadonlyArray<EmbeddingInput>): Effect.Effect<Vectors, StageError> => {
    if (problems.length > 0) {
      const message = `invalid embedding batcher options: ${problems.join("; ")}`;
      return Effect.fail(new Permanent({ message }));
    }
    return inputs.length === 0 ? Effect.succeed([]) : waitFor(b, inputs);
  };
  const close = Effect.sync(() => {
    b.state.closed = true;
    const error = new Transient({ message: "the embedding batcher closed before answering" });
    for (const caller of [...b.state.waiting]) settle(b.state, caller, Exit.fail(error));
  });
  return { batcher: { embed }, close };
};

/**
 * A batcher whose requests live in the current scope: closing the scope interrupts the requests
 * in flight and fails every waiting caller with `Transient`. Invalid options fail every `embed`
 * with `Permanent`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeEmbeddingBatcher } from "./embedding_batcher.ts";
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const batcher = yield* makeEmbeddingBatcher({
 *     // A stand-in request: the vector of a text is its length.
 *     send: (inputs) => Effect.succeed(inputs.map((input) => [input.text.length])),
 *     maxBatchSize: 32,
 *   });
 *   return yield* Effect.all([
 *     batcher.embed([{ id: "a:0", text: "aspirin" }, { id: "a:1", text: "fever" }]),
 *     batcher.embed([{ id: "b:0", text: "gefitinib" }]),
 *   ], { concurrency: "unbounded" });
 * }));
 * ```
 *
 * @category constructors
 */
export const makeEmbeddingBatcher = (
  options: EmbeddingBatcherOptions,
): Effect.Effect<EmbeddingBatcher, never, Scope.Scope> =>
  Effect.gen(function* () {
    // Requests run in a child scope, closed after `close` (finalizers run last-added first):
    // waiting callers are answered before their requests are interrupted.
    const requests = yield* Scope.fork(yield* Effect.scope);
    const { batcher, close } = makeBatcherIn(requests, options);
    yield* Effect.addFinalizer(() => close);
    return batcher;
  });
