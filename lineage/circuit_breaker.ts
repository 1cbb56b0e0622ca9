/**
 * The lineage circuit breaker of the Java client's `circuitBreaker` configuration, adapted to the
 * outbox: where the Java client drops the events it cannot afford to send, the relay stops handing
 * events to the sinks while the breaker is open and they wait in the outbox, delivered once it
 * closes. Nothing is lost.
 *
 * - `simpleMemory`: open while the free share of the JavaScript heap (room left up to V8's heap
 *   limit) is at or below `memoryThreshold` percent;
 * - `timeout`: never open, but a delivery running past `timeoutInSeconds` is cancelled (its events
 *   stay pending); `simpleMemory` takes the same optional timeout;
 * - `static`: the Java client's test breaker, open or closed by the list `valuesReturned`, one
 *   value per check, open once the list is used up (for drills and tests).
 *
 * Before each hand-over the breaker is checked; during one it is checked again every
 * `circuitCheckIntervalInMillis`, and a hand-over it opens on is cancelled.
 *
 * @example
 * ```ts
 * import { makeLineageBreaker } from "./circuit_breaker.ts";
 *
 * const breaker = makeLineageBreaker({ type: "static", values: [false, true], checkIntervalMs: 1000 });
 * console.log(breaker.state().open, breaker.state().open); // false true
 * ```
 *
 * @module
 */
import { Duration, Effect } from "effect";
import v8 from "node:v8";
import type { OutboxRow } from "./outbox.ts";
import { SinkError } from "./sink.ts";
import { type RelaySink, type Settlement, settleWith } from "./settlement.ts";

/**
 * A circuit breaker's configuration, decoded.
 *
 * @category models
 */
export type LineageBreakerConfig =
  | {
    readonly type: "simpleMemory";
    /** Open at or below this percentage of free heap. @default 20 */
    readonly memoryThreshold: number;
    /** Checks during a hand-over, in milliseconds. @default 1000 */
    readonly checkIntervalMs: number;
    /** Longest hand-over, in milliseconds. */
    readonly timeoutMs?: number;
  }
  | { readonly type: "timeout"; readonly timeoutMs: number; readonly checkIntervalMs: number }
  | {
    readonly type: "static";
    /** Whether the breaker is open at each check, in order; open after the last. */
    readonly values: ReadonlyArray<boolean>;
    readonly checkIntervalMs: number;
  };

/**
 * The breaker at one check.
 *
 * @category models
 */
export interface LineageBreakerState {
  /** Whether events are held back. */
  readonly open: boolean;
  /** Why it is open. */
  readonly reason?: string;
}

/**
 * A running breaker.
 *
 * @category models
 */
export interface LineageBreaker {
  /** What it was built from. */
  readonly config: LineageBreakerConfig;
  /** Checks the breaker now. */
  readonly state: () => LineageBreakerState;
}

/**
 * The free share of the heap, in percent of V8's heap limit.
 *
 * @category constructors
 */
export const freeHeapPercent = (): number => {
  const h = v8.getHeapStatistics();
  return 100 * (h.heap_size_limit - h.used_heap_size) / h.heap_size_limit;
};

/**
 * Builds a breaker; `freeMemory` replaces the heap probe (tests).
 *
 * @category constructors
 */
export const makeLineageBreaker = (
  config: LineageBreakerConfig,
  options: { readonly freeMemory?: () => number } = {},
): LineageBreaker => {
  switch (config.type) {
    case "timeout":
      return { config, state: () => ({ open: false }) };
    case "simpleMemory": {
      const probe = options.freeMemory ?? freeHeapPercent;
      return {
        config,
        state: () => {
          const free = probe();
          return free <= config.memoryThreshold
            ? {
              open: true,
              reason: `free heap ${free.toFixed(2)}% is at or below memoryThreshold ` +
                `${config.memoryThreshold}%`,
            }
            : { open: false };
        },
      };
    }
    case "static": {
      let next = 0;
      return {
        config,
        state: () => {
          const open = next < config.values.length ? config.values[next++] : true;
          return open ? { open, reason: "static breaker" } : { open };
        },
      };
    }
  }
};

const openError = (sink: string, reason: string | undefined) =>
  new SinkError({
    sink,
    message: `circuit breaker open (${reason ?? "open"}): events wait in the outbox`,
    retryable: true,
  });

// Fails as soon as a check finds the breaker open; never completes otherwise.
const watch = (sink: string, breaker: LineageBreaker): Effect.Effect<never, SinkError> =>
  Effect.gen(function* () {
    while (true) {
      yield* Effect.sleep(Duration.millis(breaker.config.checkIntervalMs));
      const s = breaker.state();
      if (s.open) return yield* Effect.fail(openError(sink, s.reason));
    }
  });

const timeoutOf = (c: LineageBreakerConfig) => c.type === "static" ? undefined : c.timeoutMs;

const guarded = <A>(
  sink: string,
  breaker: LineageBreaker,
  work: Effect.Effect<A, SinkError>,
): Effect.Effect<A, SinkError> =>
  Effect.suspend(() => {
    const s = breaker.state();
    if (s.open) return Effect.fail(openError(sink, s.reason));
    const raced = Effect.raceFirst(work, watch(sink, breaker));
    const limit = timeoutOf(breaker.config);
    return limit === undefined ? raced : raced.pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(limit),
        orElse: () =>
          Effect.fail(
            new SinkError({
              sink,
              message: `delivery took longer than the circuit breaker's ${limit / 1000} s: ` +
                "its events wait in the outbox",
              retryable: true,
            }),
          ),
      }),
    );
  });

/**
 * The sink behind the breaker: held back while it is open, cancelled when it opens or times out.
 *
 * @category combinators
 */
export const withLineageBreaker = (sink: RelaySink, breaker: LineageBreaker): RelaySink => {
  const settle = settleWith(sink);
  return {
    ...sink,
    deliver: (events: ReadonlyArray<OutboxRow>) =>
      guarded(sink.name, breaker, sink.deliver(events)),
    settle: (events: ReadonlyArray<OutboxRow>) =>
      guarded(
        sink.name,
        breaker,
        settle(events) as Effect.Effect<Settlement, SinkError>,
      ).pipe(Effect.catch((error) => Effect.succeed<Settlement>({ settled: [], error }))),
  };
};
