import { Clock, Duration, Effect, Fiber, Random } from "effect";
import { TestClock } from "effect/testing";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { baseDelayMs, delaySchedule, retryDelayMs } from "../../policies/backoff.ts";
import { type BackoffStrategy, parsePolicies, type Policy } from "../../policies/policy.ts";

const shipped = parsePolicies(
  "policies/resilience.yaml",
  readFileSync(new URL("../../policies/resilience.yaml", import.meta.url), "utf8"),
).policies;
const policy = (name: string): Policy => shipped.get(name)!;

const delay = (p: Policy, n: number, seed: number, retryAfterMs?: number): number =>
  Effect.runSync(retryDelayMs(p, n, retryAfterMs).pipe(Random.withSeed(seed)));

// The runner's rule, driven on a virtual clock: an attempt that fails with a retryable error is
// retried after its delay while attempts remain. Returns the virtual start time of every attempt.
const attemptTimes = (p: Policy, seed: number): Promise<ReadonlyArray<number>> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const times: Array<number> = [];
      const loop = (n: number): Effect.Effect<void> =>
        Effect.gen(function* () {
          times.push(yield* Clock.currentTimeMillis);
          if (n >= p.maxAttempts) return;
          yield* Effect.sleep(Duration.millis(yield* retryDelayMs(p, n)));
          yield* loop(n + 1);
        });
      const fiber = yield* Effect.forkChild(loop(1), { startImmediately: true });
      yield* TestClock.adjust("1 day");
      yield* Fiber.join(fiber);
      return times;
    }).pipe(Random.withSeed(seed), Effect.provide(TestClock.layer())),
  );

describe("retryDelayMs() with the shipped policies", () => {
  it("default: 3 attempts; retry 1 waits [1000, 2000] ms, retry 2 [2000, 3000] ms, then gives up", async () => {
    const p = policy("default");
    expect(delaySchedule(p)).toEqual([1000, 2000]);
    for (let seed = 0; seed < 200; seed++) {
      const [first, second] = [delay(p, 1, seed), delay(p, 2, seed)];
      expect(first).toBeGreaterThanOrEqual(1000);
      expect(first).toBeLessThanOrEqual(2000);
      expect(second).toBeGreaterThanOrEqual(2000);
      expect(second).toBeLessThanOrEqual(3000);
      const times = await attemptTimes(p, seed);
      expect(times.length).toBe(3);
      expect(times[0]).toBe(0);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(1000);
      expect(times[1] - times[0]).toBeLessThanOrEqual(2000);
      expect(times[2] - times[1]).toBeGreaterThanOrEqual(2000);
      expect(times[2] - times[1]).toBeLessThanOrEqual(3000);
    }
  });

  it("default: the same seed gives the same jitter, different seeds spread it", () => {
    const p = policy("default");
    expect(delay(p, 1, 7)).toBe(delay(p, 1, 7));
    const spread = new Set(Array.from({ length: 50 }, (_, seed) => delay(p, 1, seed)));
    expect(spread.size).toBeGreaterThan(10);
  });

  it("gpu-bound: 1 attempt, no retry", async () => {
    const p = policy("gpu-bound");
    expect(p.maxAttempts).toBe(1);
    expect(delaySchedule(p)).toEqual([]);
    expect(await attemptTimes(p, 1)).toEqual([0]);
  });

  it("polite-api: 10 attempts, linear 1 s capped at 10 s, no jitter: exactly 1000 … 9000 ms", async () => {
    const p = policy("polite-api");
    const expected = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000];
    expect(delaySchedule(p)).toEqual(expected);
    expect(expected.map((_, i) => delay(p, i + 1, 3))).toEqual(expected);
    expect(await attemptTimes(p, 3)).toEqual([
      0,
      1000,
      3000,
      6000,
      10000,
      15000,
      21000,
      28000,
      36000,
      45000,
    ]);
    // Past the cap the delay stays at backoff_max_seconds.
    expect(baseDelayMs(p, 12)).toBe(10000);
  });
});

const strategies: ReadonlyArray<BackoffStrategy> = ["exponential", "linear", "none"];

// Whole milliseconds, so that seconds × 1000 is exact enough for bound checks.
const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 10 }),
    backoffStrategy: fc.constantFrom(...strategies),
    initialMs: fc.integer({ min: 0, max: 60_000 }),
    extraMs: fc.integer({ min: 0, max: 600_000 }),
    jitterMs: fc.integer({ min: 0, max: 5_000 }),
  })
  .map((r) => ({
    name: "random",
    maxAttempts: r.maxAttempts,
    backoffStrategy: r.backoffStrategy,
    backoffInitialSeconds: r.initialMs / 1000,
    backoffMaxSeconds: (r.initialMs + r.extraMs) / 1000,
    backoffJitterSeconds: r.jitterMs / 1000,
    timeoutSeconds: 30,
  }));

describe("retryDelayMs() properties over random policies", () => {
  test.prop([policyArb, fc.integer()])(
    "retries = max_attempts - 1; each delay in [base, base + jitter]; base non-decreasing and <= max",
    async (p, seed) => {
      const bases = delaySchedule(p);
      expect(bases.length).toBe(p.maxAttempts - 1);
      expect((await attemptTimes(p, seed)).length).toBe(p.maxAttempts);
      const maxMs = p.backoffMaxSeconds * 1000;
      bases.forEach((base, i) => {
        if (i > 0) expect(base).toBeGreaterThanOrEqual(bases[i - 1]);
        expect(base).toBeLessThanOrEqual(maxMs + 1e-6);
        const d = delay(p, i + 1, seed);
        expect(d).toBeGreaterThanOrEqual(Math.floor(base));
        expect(d).toBeLessThanOrEqual(Math.ceil(base + p.backoffJitterSeconds * 1000));
      });
    },
  );

  test.prop([
    policyArb.filter((p) => p.maxAttempts > 1),
    fc.integer(),
    fc.integer({ min: 0, max: 1_000_000 }),
  ])(
    "retryAfterMs raises the delay to at least itself, capped by backoff_max_seconds",
    (p, seed, retryAfter) => {
      const maxMs = p.backoffMaxSeconds * 1000;
      const jitterMs = p.backoffJitterSeconds * 1000;
      for (let n = 1; n < p.maxAttempts; n++) {
        const plain = delay(p, n, seed);
        const raised = delay(p, n, seed, retryAfter);
        expect(raised).toBe(Math.max(plain, Math.round(Math.min(retryAfter, maxMs))));
        expect(raised).toBeGreaterThanOrEqual(Math.round(Math.min(retryAfter, maxMs)));
        expect(raised).toBeLessThanOrEqual(
          Math.ceil(Math.max(maxMs, baseDelayMs(p, n) + jitterMs)),
        );
      }
    },
  );
});
