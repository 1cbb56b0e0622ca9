/**
 * Circuit breakers keyed per dependency (a service host such as `clinicaltrials.gov` or
 * `vllm:8000`), shared by every stage and job of the process that calls it. Built on
 * `effect/persistence`'s `CircuitBreaker` with an in-process store; this module fixes what counts
 * as a failure, turns rejections into the kit's {@link CircuitOpen} error, and records every
 * transition with its time for run summaries.
 *
 * Semantics: `failure_threshold` consecutive failures open the circuit for
 * `reset_timeout_seconds`; calls then fail at once without running. The first call after that time
 * moves the circuit to half-open and is the single probe (concurrent callers fail fast); a
 * successful probe closes it, a failed one opens it again, and an interrupted probe frees the slot.
 *
 * @module
 */
import {
  Cause,
  Clock,
  Duration,
  Effect,
  Exit,
  PubSub,
  Scope,
  Semaphore,
  Stream,
  type Take,
} from "effect";
import { CircuitBreaker as Persisted } from "effect/persistence";
import { CircuitOpen, type StageError, type StageErrorType, Transient } from "../stages/errors.ts";
import type { CircuitBreakerSpec } from "./policy.ts";

/** Where a circuit stands. */
export type BreakerState = "closed" | "open" | "half_open";

/** One change of a circuit's state, stamped with the Clock time it happened at. */
export interface BreakerTransition {
  /** The dependency the circuit guards. */
  readonly key: string;
  /** The state before. */
  readonly from: BreakerState;
  /** The state after. */
  readonly to: BreakerState;
  /** When it changed; open → half-open happens on the first call after the reset timeout. */
  readonly at: Date;
}

/**
 * A circuit as seen now. A circuit past its reset timeout reads `half_open` with no probe running:
 * the next call will be the probe.
 */
export type BreakerStatus =
  | { readonly state: "closed" }
  | { readonly state: "open"; readonly retryAfterMs: number }
  | { readonly state: "half_open"; readonly probing: boolean };

/** What one circuit did since the process started, for run summaries. */
export interface BreakerCounts {
  /** The dependency the circuit guards. */
  readonly key: string;
  /** Trips: the failure threshold was reached. */
  readonly closedToOpen: number;
  /** Probes admitted after the reset timeout. */
  readonly openToHalfOpen: number;
  /** Probes that succeeded. */
  readonly halfOpenToClosed: number;
  /** Probes that failed. */
  readonly halfOpenToOpen: number;
  /** Every opening: a trip from closed plus a failed probe. */
  readonly opens: number;
  /** Calls rejected without running, while open or while a probe ran. */
  readonly fastFailed: number;
}

/** The process's circuit breakers, one circuit per dependency key. */
export interface CircuitBreakers {
  /**
   * Runs the effect through the key's circuit, or fails at once with {@link CircuitOpen}. The
   * first spec given for a key is the one it keeps for the life of the process.
   */
  readonly execute: <A, R>(
    key: string,
    spec: CircuitBreakerSpec,
    effect: Effect.Effect<A, StageError, R>,
  ) => Effect.Effect<A, StageError, R>;
  /** The key's circuit now. */
  readonly status: (key: string) => Effect.Effect<BreakerStatus>;
  /** Transitions as they happen, from subscription on; ends when the breakers' scope closes. */
  readonly transitions: Stream.Stream<BreakerTransition>;
  /** The most recent transitions of every key, oldest first (at most {@link historyLimit}). */
  readonly history: Effect.Effect<ReadonlyArray<BreakerTransition>>;
  /** Counters of every key that has transitioned or rejected a call, by key. */
  readonly counts: Effect.Effect<ReadonlyArray<BreakerCounts>>;
}

/** How many transitions {@link CircuitBreakers.history} keeps; counters are never truncated. */
export const historyLimit = 1000;

// Errors that indict the dependency. A bad document (InvalidInput, Permanent) says nothing about
// the service's health, so it neither counts nor resets the streak.
const indicting: ReadonlySet<StageErrorType> = new Set<StageErrorType>([
  "Transient",
  "Timeout",
  "RateLimited",
  "GpuUnavailable",
  "GpuOutOfMemory",
]);

/** Whether the error counts as a failure of the dependency for its circuit breaker. */
export const countsAgainst = (error: StageError): boolean => indicting.has(error._tag);

const classify = <A>(exit: Exit.Exit<A, StageError>): Persisted.Outcome => {
  if (Exit.isSuccess(exit)) return Persisted.success;
  const error = Cause.findErrorOption(exit.cause);
  // No retryAfter hint: the circuit stays open exactly reset_timeout_seconds.
  return error._tag === "Some" && countsAgainst(error.value)
    ? Persisted.failure()
    : Persisted.ignored;
};

const stateNames = { Closed: "closed", Open: "open", HalfOpen: "half_open" } as const;

type Counter = { -readonly [K in keyof BreakerCounts]: BreakerCounts[K] };

const emptyCounts = (key: string): Counter => ({
  key,
  closedToOpen: 0,
  openToHalfOpen: 0,
  halfOpenToClosed: 0,
  halfOpenToOpen: 0,
  opens: 0,
  fastFailed: 0,
});

const counterField = (
  t: BreakerTransition,
): Exclude<keyof Counter, "key" | "opens" | "fastFailed"> =>
  t.from === "closed"
    ? "closedToOpen"
    : t.from === "open"
    ? "openToHalfOpen"
    : t.to === "closed"
    ? "halfOpenToClosed"
    : "halfOpenToOpen";

/** Where transitions and rejections are recorded. */
interface Recorder {
  readonly counter: (key: string) => Counter;
  readonly observe: (t: Persisted.Transition | undefined) => Effect.Effect<void>;
  readonly history: Array<BreakerTransition>;
  readonly counters: Map<string, Counter>;
  readonly pubsub: PubSub.PubSub<Take.Take<BreakerTransition>>;
}

const makeRecorder: Effect.Effect<Recorder, never, Scope.Scope> = Effect.gen(function* () {
  const pubsub = yield* PubSub.sliding<Take.Take<BreakerTransition>>(1024);
  yield* Effect.addFinalizer(() => PubSub.end(pubsub, Exit.void));
  const counters = new Map<string, Counter>();
  const history: Array<BreakerTransition> = [];
  const counter = (key: string): Counter => {
    const found = counters.get(key) ?? emptyCounts(key);
    counters.set(key, found);
    return found;
  };
  const observe = (raw: Persisted.Transition | undefined): Effect.Effect<void> =>
    raw === undefined ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const t: BreakerTransition = {
        key: raw.key,
        from: stateNames[raw.from],
        to: stateNames[raw.to],
        at: new Date(now),
      };
      const c = counter(t.key);
      c[counterField(t)] += 1;
      if (t.to === "open") c.opens += 1;
      history.push(t);
      if (history.length > historyLimit) history.shift();
      return Effect.asVoid(PubSub.publish(pubsub, [t]));
    });
  return { counter, observe, history, counters, pubsub };
});

// The persisted store, wrapped so that each transition is recorded the moment the store makes it
// (the breaker's own transitions stream is a sliding buffer and carries no time).
const observedStore = (
  base: Persisted.CircuitBreakerStore["Service"],
  recorder: Recorder,
): Persisted.CircuitBreakerStore["Service"] => ({
  admit: (key) =>
    Effect.tap(base.admit(key), (admission) => recorder.observe(admission.transition)),
  record: (options) => Effect.tap(base.record(options), recorder.observe),
  state: base.state,
});

const rejection = (
  key: string,
  error: Persisted.CircuitBreakerError,
  lastFailure: string | undefined,
): StageError => {
  const reason = error.reason;
  // The failure that opened it, so a job failed fast still says why (a GPU out of memory …).
  const after = lastFailure === undefined ? "" : ` after ${lastFailure}`;
  switch (reason._tag) {
    case "CircuitOpen": {
      const retryAfterMs = Duration.toMillis(reason.retryAfter);
      return new CircuitOpen({
        message: `circuit ${JSON.stringify(key)} is open${after}; retry in ${retryAfterMs} ms`,
        retryAfterMs,
      });
    }
    case "CircuitHalfOpen":
      return new CircuitOpen({
        message: `circuit ${JSON.stringify(key)} is half-open${after}; a probe is in flight`,
        retryAfterMs: 0,
      });
    case "CircuitBreakerStoreError":
      // The in-process store does not fail; kept total so a future store cannot crash a stage.
      return new Transient({ message: `circuit ${JSON.stringify(key)}: ${reason.message}` });
  }
};

const toStatus = (state: Persisted.State): BreakerStatus => {
  switch (state._tag) {
    case "Closed":
      return { state: "closed" };
    case "Open": {
      const retryAfterMs = Duration.toMillis(state.retryAfter);
      return retryAfterMs > 0 ? { state: "open", retryAfterMs } : {
        state: "half_open",
        probing: false,
      };
    }
    case "HalfOpen":
      return { state: "half_open", probing: state.probing };
  }
};

/**
 * Builds the process's circuit breakers with fresh state; transitions end with the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const breakers = yield* make;
 *   const spec = { failureThreshold: 5, resetTimeoutSeconds: 60 };
 *   return yield* breakers.execute("vllm:8000", spec, Effect.succeed("embedded"));
 * }));
 * ```
 */
export const make: Effect.Effect<CircuitBreakers, never, Scope.Scope> = Effect.gen(function* () {
  const scope = yield* Effect.scope;
  const recorder = yield* makeRecorder;
  // Keys are few (one per dependency) and must never be forgotten: an idle key dropped by the
  // store would come back closed and lose an open circuit or a failure streak.
  const base = yield* Effect.provide(
    Persisted.CircuitBreakerStore,
    Persisted.layerStoreMemory({ idleTimeToLive: Duration.infinity }),
    { local: true },
  );
  const store = observedStore(base, recorder);
  const breakers = new Map<string, Persisted.CircuitBreaker>();
  // The latest failure each circuit counted, named when it rejects a call.
  const lastFailures = new Map<string, string>();
  const lock = yield* Semaphore.make(1);
  // Made once per key, under a lock so that concurrent first calls share one breaker.
  const create = (key: string, spec: CircuitBreakerSpec) =>
    lock.withPermits(1)(Effect.suspend(() => {
      const found = breakers.get(key);
      if (found !== undefined) return Effect.succeed(found);
      return Persisted.make({
        tripPolicy: Persisted.consecutive(spec.failureThreshold),
        openDuration: Duration.seconds(spec.resetTimeoutSeconds),
      }).pipe(
        Effect.provideService(Persisted.CircuitBreakerStore, store),
        Scope.provide(scope),
        Effect.tap((made) => Effect.sync(() => breakers.set(key, made))),
      );
    }));
  const execute = <A, R>(
    key: string,
    spec: CircuitBreakerSpec,
    effect: Effect.Effect<A, StageError, R>,
  ): Effect.Effect<A, StageError, R> =>
    Effect.flatMap(
      Effect.suspend(() => {
        const found = breakers.get(key);
        return found === undefined ? create(key, spec) : Effect.succeed(found);
      }),
      (breaker) =>
        breaker.execute(
          Effect.tapError(effect, (error) =>
            Effect.sync(() => {
              if (countsAgainst(error)) {
                lastFailures.set(key, `${error._tag}: ${error.message.split("\n")[0]}`);
              }
            })),
          { key, classify },
        ).pipe(
          Effect.catchTag("CircuitBreakerError", (error) =>
            Effect.suspend(() => {
              recorder.counter(key).fastFailed += 1;
              return Effect.fail(rejection(key, error, lastFailures.get(key)));
            })),
        ),
    );
  return {
    execute,
    status: (key) =>
      base.state(key).pipe(
        Effect.map(toStatus),
        Effect.orElseSucceed((): BreakerStatus => ({ state: "closed" })),
      ),
    transitions: Stream.fromPubSubTake(recorder.pubsub),
    history: Effect.sync(() => [...recorder.history]),
    counts: Effect.sync(() =>
      [...recorder.counters.values()].map((c) => ({ ...c })).sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : 0
      )
    ),
  };
});
