import { Clock, Effect, Fiber } from "effect";
import { TestClock } from "effect/testing";
import { it } from "@effect/vitest";
import { describe, expect } from "vitest";
import type { Policy } from "../../policies/policy.ts";
import * as RateLimiter from "../../policies/rate_limiter.ts";
import * as Resilience from "../../policies/resilience.ts";

/** The most calls that fall in any window [t_i, t_j] of the recorded times, against 5·t + 5. */
const worstWindow = (times: ReadonlyArray<number>, perSecond: number) => {
  const sorted = [...times].sort((a, b) => a - b);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const seconds = (sorted[j] - sorted[i]) / 1000;
      worst = Math.max(worst, j - i + 1 - (perSecond * seconds + perSecond));
    }
  }
  return worst;
};

describe("RateLimiter.bucketOf()", () => {
  it("capacity R refilled at R/s; below 1/s one whole token refilled over 1/R s", () => {
    expect(RateLimiter.bucketOf(5)).toEqual({ capacity: 5, windowMs: 1000 });
    expect(RateLimiter.bucketOf(2.5)).toEqual({ capacity: 2.5, windowMs: 1000 });
    expect(RateLimiter.bucketOf(0.5)).toEqual({ capacity: 1, windowMs: 2000 });
    expect(RateLimiter.bucketOf(0.1)).toEqual({ capacity: 1, windowMs: 10000 });
  });
});

describe("RateLimiter.make()", () => {
  it.effect("200 calls from 50 fibers under 5/s: never more than 5·t + 5 in t seconds; done at 39 s", () =>
    Effect.gen(function* () {
      const limiters = yield* RateLimiter.make;
      const times: Array<number> = [];
      const caller = Effect.gen(function* () {
        for (let i = 0; i < 4; i++) {
          yield* limiters.acquire("clinicaltrials.gov", 5);
          times.push(yield* Clock.currentTimeMillis);
        }
      });
      const fibers = yield* Effect.forEach(
        Array.from({ length: 50 }),
        () => Effect.forkChild(caller, { startImmediately: true }),
      );
      yield* TestClock.adjust("2 minutes");
      yield* Fiber.joinAll(fibers);
      expect(times.length).toBe(200);
      expect(worstWindow(times, 5)).toBeLessThanOrEqual(0);
      expect(Math.max(...times)).toBe(39_000);
      // The first five pass at once (a full bucket), then one every 200 ms.
      expect([...times].sort((a, b) => a - b).slice(0, 8)).toEqual([0, 0, 0, 0, 0, 200, 400, 600]);
      const [counts] = yield* limiters.counts;
      expect(counts).toMatchObject({ key: "clinicaltrials.gov", calls: 200, waits: 195 });
    }));

  it.effect("a fractional rate of 0.5/s lets the first call through, then one every 2 s", () =>
    Effect.gen(function* () {
      const limiters = yield* RateLimiter.make;
      const times: Array<number> = [];
      const waited: Array<number> = [];
      const fiber = yield* Effect.forkChild(
        Effect.gen(function* () {
          for (let i = 0; i < 5; i++) {
            waited.push(yield* limiters.acquire("slow.example", 0.5));
            times.push(yield* Clock.currentTimeMillis);
          }
        }),
        { startImmediately: true },
      );
      yield* TestClock.adjust("1 minute");
      yield* Fiber.join(fiber);
      expect(times).toEqual([0, 2000, 4000, 6000, 8000]);
      expect(waited).toEqual([0, 2000, 2000, 2000, 2000]);
      expect(yield* limiters.counts).toEqual([
        { key: "slow.example", calls: 5, waits: 4, waitedMs: 8000 },
      ]);
    }));

  it.effect("keys have their own buckets", () =>
    Effect.gen(function* () {
      const limiters = yield* RateLimiter.make;
      expect(yield* limiters.acquire("a.example", 1)).toBe(0);
      expect(yield* limiters.acquire("b.example", 1)).toBe(0);
      const late = yield* Effect.forkChild(limiters.acquire("a.example", 1), {
        startImmediately: true,
      });
      yield* TestClock.adjust("1 second");
      expect(yield* Fiber.join(late)).toBe(1000);
    }));
});

const throttled: Policy = {
  name: "throttled",
  maxAttempts: 1,
  backoffStrategy: "none",
  backoffInitialSeconds: 0,
  backoffMaxSeconds: 0,
  backoffJitterSeconds: 0,
  timeoutSeconds: 600,
  rateLimitPerSecond: 1,
  concurrency: 1,
};

describe("Resilience.guardAttempt() rate limit", () => {
  it.effect("a caller waiting for a token holds no concurrency permit", () =>
    Effect.gen(function* () {
      const log: Array<string> = [];
      const attempt = (label: string) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (ms) => Effect.sync(() => log.push(`${label}@${ms}`)),
        );
      const guard = (dependency: string, label: string) =>
        Resilience.guardAttempt(throttled, { stage: "ingest", dependency }, attempt(label));
      // Drains a.example's one-token bucket.
      yield* guard("a.example", "a1");
      const waiting = yield* Effect.forkChild(guard("a.example", "a2"), { startImmediately: true });
      // The stage allows one attempt at a time; b.example runs while a2 waits for its token.
      const other = yield* Effect.forkChild(guard("b.example", "b1"), { startImmediately: true });
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow;
      expect(log).toEqual(["a1@0", "b1@0"]);
      yield* Fiber.join(other);
      yield* TestClock.adjust("1 second");
      yield* Fiber.join(waiting);
      expect(log).toEqual(["a1@0", "b1@0", "a2@1000"]);
    }).pipe(Effect.provide(Resilience.layer)));
});
