/**
 * Rate limits keyed per dependency: a token bucket per key, shared by every stage and job of the
 * process, built on `effect/persistence`'s `RateLimiter` with an in-process store. A call waits
 * for its token (it is delayed, never failed); the wait is a Clock sleep, so tests drive it with
 * `TestClock`.
 *
 * @module
 */
import { Duration, Effect } from "effect";
import { RateLimiter as Persisted } from "effect/persistence";

/** The bucket a rate of `R` calls per second is enforced with. */
export interface Bucket {
  /** Tokens the bucket holds when full: the burst a quiet dependency accepts at once. */
  readonly capacity: number;
  /** The time in which a drained bucket refills to `capacity`. */
  readonly windowMs: number;
}

/** What one key's limiter did since the process started, for run summaries. */
export interface RateLimitCounts {
  /** The dependency the bucket guards. */
  readonly key: string;
  /** Calls that took a token. */
  readonly calls: number;
  /** Calls that had to wait for a token. */
  readonly waits: number;
  /** The time all calls spent waiting, together. */
  readonly waitedMs: number;
}

/** The process's rate limiters, one bucket per dependency key. */
export interface RateLimiters {
  /** Waits until the key's bucket has a token for one call; returns how long it waited. */
  readonly acquire: (key: string, perSecond: number) => Effect.Effect<number>;
  /** Counters of every key that was called, by key. */
  readonly counts: Effect.Effect<ReadonlyArray<RateLimitCounts>>;
}

/**
 * The token bucket of a rate: capacity `R` refilled at `R` per second. Below one call per second
 * the capacity is raised to one whole token (refilled over `1/R` seconds): a bucket that can never
 * hold a token would make even the first call on an idle dependency wait.
 *
 * @example
 * ```ts
 * bucketOf(5); // { capacity: 5, windowMs: 1000 }
 * bucketOf(0.5); // { capacity: 1, windowMs: 2000 }
 * ```
 */
export const bucketOf = (perSecond: number): Bucket => {
  const capacity = Math.max(1, perSecond);
  return { capacity, windowMs: (capacity / perSecond) * 1000 };
};

type Counter = { -readonly [K in keyof RateLimitCounts]: RateLimitCounts[K] };

/**
 * Builds the process's rate limiters with fresh buckets.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 *
 * const waitedMs = Effect.gen(function* () {
 *   const limiters = yield* make;
 *   return yield* limiters.acquire("clinicaltrials.gov", 5); // 0: a full bucket
 * });
 * ```
 */
export const make: Effect.Effect<RateLimiters> = Effect.gen(function* () {
  // A local build: the store is a constant layer, and a memoized one would share buckets with
  // any other limiter built in the same layer graph.
  const limiter = yield* Effect.provide(Persisted.make, Persisted.layerStoreMemory, {
    local: true,
  });
  const counters = new Map<string, Counter>();
  const counter = (key: string): Counter => {
    const found = counters.get(key) ?? { key, calls: 0, waits: 0, waitedMs: 0 };
    counters.set(key, found);
    return found;
  };
  const acquire = (key: string, perSecond: number): Effect.Effect<number> => {
    const bucket = bucketOf(perSecond);
    return limiter.consume({
      key,
      limit: bucket.capacity,
      window: Duration.millis(bucket.windowMs),
      algorithm: "token-bucket",
      onExceeded: "delay",
    }).pipe(
      // The in-process store cannot fail, and a delayed consume never reports an exceeded limit.
      Effect.orDie,
      Effect.flatMap(({ delay }) => {
        const waitedMs = Duration.toMillis(delay);
        const c = counter(key);
        c.calls += 1;
        if (waitedMs === 0) return Effect.succeed(0);
        c.waits += 1;
        c.waitedMs += waitedMs;
        return Effect.as(Effect.sleep(delay), waitedMs);
      }),
    );
  };
  return {
    acquire,
    counts: Effect.sync(() =>
      [...counters.values()].map((c) => ({ ...c })).sort((a, b) =>
        a.key < b.key ? -1 : a.key > b.key ? 1 : 0
      )
    ),
  };
});
