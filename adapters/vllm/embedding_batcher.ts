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
 * Time is read through Effect's `Clock`, so tests drive the linger with `TestClock`.
 *
 * @module
 */
import { Cause, Clock, Deferred, Duration, Effect, Exit, Option, Scope } from "effect";
import { Permanent, type StageError, Transient } from "../../stages/errors.ts";
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

type Vectors = ReadonlyArray<ReadonlyArray<number>>;

interface Caller {
  readonly deferred: Deferred.Deferred<Vectors, StageError>;
  readonly vectors: Array<ReadonlyArray<number>>;
  remaining: number;
  // Answered, failed or interrupted: its texts are no longer sent and its results are dropped.
  settled: boolean;
}

interface Queued {
  readonly caller: Caller;
  readonly index: number;
  readonly input: EmbeddingInput;
  readonly queuedAt: number;
}

interface State {
  queue: Array<Queued>;
  inFlight: number;
  dispatchScheduled: boolean;
  timerArmed: boolean;
  closed: boolean;
  readonly waiting: Set<Caller>;
}

const settle = (state: State, caller: Caller, exit: Exit.Exit<Vectors, StageError>): void => {
  if (caller.settled) return;
  caller.settled = true;
  state.waiting.delete(caller);
  state.queue = state.queue.filter((queued) => queued.caller !== caller);
  Deferred.doneUnsafe(caller.deferred, exit);
};

const deliver = (state: State, sent: ReadonlyArray<Queued>, vectors: Vectors): void => {
  sent.forEach((queued, i) => {
    const { caller } = queued;
    if (caller.settled) return;
    caller.vectors[queued.index] = vectors[i];
    caller.remaining -= 1;
    if (caller.remaining === 0) settle(state, caller, Exit.succeed(caller.vectors));
  });
};

const callersOf = (sent: ReadonlyArray<Queued>): ReadonlyArray<Caller> => [
  ...new Set(sent.map((queued) => queued.caller)),
];

// Halves by caller, so that each half keeps whole callers and a single caller is reached in
// log2(callers) rounds.
const halves = (
  sent: ReadonlyArray<Queued>,
): readonly [ReadonlyArray<Queued>, ReadonlyArray<Queued>] => {
  const callers = callersOf(sent);
  const first = new Set(callers.slice(0, Math.ceil(callers.length / 2)));
  return [
    sent.filter((queued) => first.has(queued.caller)),
    sent.filter((queued) => !first.has(queued.caller)),
  ];
};

const isolatable = (error: StageError, sent: ReadonlyArray<Queued>): boolean =>
  error._tag === "InvalidInput" && callersOf(sent).length > 1 &&
  sent.some((queued) => queued.input.id === error.path);

const makeBatcherIn = (
  scope: Scope.Scope,
  options: EmbeddingBatcherOptions,
): { readonly batcher: EmbeddingBatcher; readonly close: Effect.Effect<void> } => {
  const maxBatchSize = options.maxBatchSize ?? defaultMaxBatchSize;
  const lingerMs = options.lingerMs ?? defaultLingerMs;
  const maxConcurrent = options.maxConcurrentRequests ?? defaultMaxConcurrentRequests;
  const state: State = {
    queue: [],
    inFlight: 0,
    dispatchScheduled: false,
    timerArmed: false,
    closed: false,
    waiting: new Set(),
  };

  const sendPart = (part: ReadonlyArray<Queued>): Effect.Effect<void> =>
    Effect.suspend(() => {
      const live = part.filter((queued) => !queued.caller.settled);
      if (live.length === 0) return Effect.void;
      return Effect.exit(options.send(live.map((queued) => queued.input))).pipe(
        Effect.flatMap((exit) => {
          if (Exit.isSuccess(exit)) return Effect.sync(() => deliver(state, live, exit.value));
          const error = Cause.findErrorOption(exit.cause);
          if (Option.isSome(error) && isolatable(error.value, live)) {
            const [a, b] = halves(live);
            return Effect.andThen(sendPart(a), sendPart(b));
          }
          return Effect.sync(() => {
            for (const caller of callersOf(live)) settle(state, caller, Exit.failCause(exit.cause));
          });
        }),
      );
    });

  const takeReady = (now: number): ReadonlyArray<ReadonlyArray<Queued>> => {
    const batches: Array<ReadonlyArray<Queued>> = [];
    while (state.inFlight < maxConcurrent && state.queue.length > 0) {
      const ready = state.queue.length >= maxBatchSize || state.inFlight === 0 ||
        now - state.queue[0].queuedAt >= lingerMs;
      if (!ready) break;
      batches.push(state.queue.slice(0, maxBatchSize));
      state.queue = state.queue.slice(maxBatchSize);
      state.inFlight += 1;
    }
    return batches;
  };

  const dispatch: Effect.Effect<void> = Effect.gen(function* () {
    if (state.closed) return;
    const now = yield* Clock.currentTimeMillis;
    for (const batch of takeReady(now)) {
      const request = sendPart(batch).pipe(
        Effect.ensuring(Effect.suspend(() => {
          state.inFlight -= 1;
          return dispatch;
        })),
      );
      yield* Effect.forkIn(request, scope);
    }
    if (state.queue.length > 0 && !state.timerArmed && state.inFlight < maxConcurrent) {
      state.timerArmed = true;
      const wait = Math.max(0, state.queue[0].queuedAt + lingerMs - now);
      const timer = Effect.sleep(Duration.millis(wait)).pipe(
        Effect.andThen(Effect.sync(() => {
          state.timerArmed = false;
        })),
        Effect.andThen(dispatch),
      );
      yield* Effect.forkIn(timer, scope);
    }
  });

  // One dispatch per scheduler turn: callers queued in the same turn share its first request.
  const scheduleDispatch: Effect.Effect<void> = Effect.suspend(() => {
    if (state.dispatchScheduled) return Effect.void;
    state.dispatchScheduled = true;
    const turn = Effect.yieldNow.pipe(
      Effect.andThen(Effect.sync(() => {
        state.dispatchScheduled = false;
      })),
      Effect.andThen(dispatch),
    );
    return Effect.asVoid(Effect.forkIn(turn, scope));
  });

  const enqueue = (inputs: ReadonlyArray<EmbeddingInput>) =>
    Effect.gen(function* () {
      const deferred = yield* Deferred.make<Vectors, StageError>();
      const queuedAt = yield* Clock.currentTimeMillis;
      const caller: Caller = { deferred, vectors: [], remaining: inputs.length, settled: false };
      state.waiting.add(caller);
      state.queue.push(...inputs.map((input, index) => ({ caller, index, input, queuedAt })));
      yield* scheduleDispatch;
      return caller;
    });

  const problems = validateBatchingOptions(options);
  const embed = (inputs: ReadonlyArray<EmbeddingInput>): Effect.Effect<Vectors, StageError> => {
    if (problems.length > 0) {
      const message = `invalid embedding batcher options: ${problems.join("; ")}`;
      return Effect.fail(new Permanent({ message }));
    }
    if (inputs.length === 0) return Effect.succeed([]);
    return Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        if (state.closed) {
          return yield* Effect.fail(new Transient({ message: "the embedding batcher is closed" }));
        }
        const caller = yield* enqueue(inputs);
        return yield* restore(Deferred.await(caller.deferred)).pipe(
          Effect.onInterrupt(() => Effect.sync(() => settle(state, caller, Exit.interrupt()))),
        );
      })
    );
  };

  const close = Effect.sync(() => {
    state.closed = true;
    const error = new Transient({ message: "the embedding batcher closed before answering" });
    for (const caller of [...state.waiting]) settle(state, caller, Exit.fail(error));
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
