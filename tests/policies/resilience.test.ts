import { Clock, Deferred, Effect, Exit, Fiber } from "effect";
import { TestClock } from "effect/testing";
import { it } from "@effect/vitest";
import { describe, expect } from "vitest";
import type { Policy } from "../../policies/policy.ts";
import * as Resilience from "../../policies/resilience.ts";
import { CircuitOpen, type StageError, Timeout, Transient } from "../../stages/errors.ts";

const base: Policy = {
  name: "test",
  maxAttempts: 3,
  backoffStrategy: "exponential",
  backoffInitialSeconds: 1,
  backoffMaxSeconds: 30,
  backoffJitterSeconds: 0,
  timeoutSeconds: 30,
};
const transient = new Transient({ message: "503" });

// Lets forked fibers run as far as they can without the clock moving.
const settle: Effect.Effect<void> = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow;
});

describe("Resilience.guardAttempt() composition", () => {
  it.effect("an open breaker fails at once, without consuming a token or running the attempt", () =>
    Effect.gen(function* () {
      const policy: Policy = {
        ...base,
        circuitBreaker: { failureThreshold: 1, resetTimeoutSeconds: 60 },
        rateLimitPerSecond: 1,
      };
      const runs = { n: 0 };
      const attempt = (outcome: Effect.Effect<string, StageError>) =>
        Resilience.guardAttempt(
          policy,
          { stage: "ingest", dependency: "api.example" },
          Effect.suspend(() => {
            runs.n += 1;
            return outcome;
          }),
        );
      expect(yield* Effect.exit(attempt(Effect.fail(transient)))).toEqual(Exit.fail(transient));
      // Forked so that a call queued for a token shows up as unfinished instead of hanging.
      const rejected = yield* Effect.forkChild(Effect.exit(attempt(Effect.succeed("no"))), {
        startImmediately: true,
      });
      yield* settle;
      expect(rejected.pollUnsafe()).toEqual(
        Exit.succeed(Exit.fail(
          new CircuitOpen({
            message: `circuit "api.example" is open after Transient: 503; retry in 60000 ms`,
            retryAfterMs: 60_000,
          }),
        )),
      );
      expect(runs.n).toBe(1);
      expect(yield* Resilience.summary()).toEqual({
        breakers: [{
          key: "api.example",
          closedToOpen: 1,
          openToHalfOpen: 0,
          halfOpenToClosed: 0,
          halfOpenToOpen: 0,
          opens: 1,
          fastFailed: 1,
        }],
        rateLimits: [{ key: "api.example", calls: 1, waits: 0, waitedMs: 0 }],
      });
      yield* TestClock.adjust("60 seconds");
      expect(yield* attempt(Effect.succeed("probe"))).toBe("probe");
      expect((yield* Resilience.transitionHistory).map((t) => `${t.from}->${t.to}`)).toEqual([
        "closed->open",
        "open->half_open",
        "half_open->closed",
      ]);
    }).pipe(Effect.provide(Resilience.layer)));

  it.effect("the timeout interrupts the attempt and fails it with Timeout, which the breaker counts", () =>
    Effect.gen(function* () {
      const policy: Policy = {
        ...base,
        circuitBreaker: { failureThreshold: 1, resetTimeoutSeconds: 60 },
      };
      const interrupted = yield* Deferred.make<void>();
      const hung = Effect.never.pipe(
        Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)),
      );
      const fiber = yield* Effect.forkChild(
        Effect.exit(
          Resilience.guardAttempt(policy, { stage: "parse", dependency: "mineru" }, hung),
        ),
        { startImmediately: true },
      );
      yield* TestClock.adjust("29999 millis");
      expect(fiber.pollUnsafe()).toBeUndefined();
      yield* TestClock.adjust("1 millis");
      expect(yield* Fiber.join(fiber)).toEqual(
        Exit.fail(new Timeout({ message: "attempt ran past 30s", timeoutMs: 30_000 })),
      );
      expect(yield* Deferred.isDone(interrupted)).toBe(true);
      const breakers = (yield* Resilience.Resilience).breakers;
      expect(yield* breakers.status("mineru")).toEqual({ state: "open", retryAfterMs: 60_000 });
    }).pipe(Effect.provide(Resilience.layer)));

  it.effect("the timeout message names the attempt number when given", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Effect.exit(Resilience.guardAttempt(base, { stage: "chunk", attempt: 3 }, Effect.never)),
        { startImmediately: true },
      );
      yield* TestClock.adjust("30 seconds");
      expect(yield* Fiber.join(fiber)).toEqual(
        Exit.fail(new Timeout({ message: "attempt 3 ran past 30s", timeoutMs: 30_000 })),
      );
    }).pipe(Effect.provide(Resilience.layer)));

  it.effect("waiting for a permit does not count against the attempt's timeout", () =>
    Effect.gen(function* () {
      const policy: Policy = { ...base, concurrency: 1 };
      const finished: Array<string> = [];
      const work = (label: string, seconds: number) =>
        Resilience.guardAttempt(
          policy,
          { stage: "embed" },
          Effect.sleep(`${seconds} seconds`).pipe(
            Effect.andThen(Clock.currentTimeMillis),
            Effect.map((ms) => finished.push(`${label}@${ms}`)),
          ),
        );
      const a = yield* Effect.forkChild(work("a", 25), { startImmediately: true });
      const b = yield* Effect.forkChild(Effect.exit(work("b", 20)), { startImmediately: true });
      yield* TestClock.adjust("1 minute");
      yield* Fiber.join(a);
      expect(Exit.isSuccess(yield* Fiber.join(b))).toBe(true);
      expect(finished).toEqual(["a@25000", "b@45000"]);
    }).pipe(Effect.provide(Resilience.layer)));
});

describe("Resilience.guardAttempt() concurrency", () => {
  const limited: Policy = { ...base, concurrency: 2 };

  it.effect("at most `concurrency` attempts of a stage are in flight", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>();
      const inFlight = { now: 0, max: 0 };
      const attempt = Effect.acquireUseRelease(
        Effect.sync(() => {
          inFlight.now += 1;
          inFlight.max = Math.max(inFlight.max, inFlight.now);
        }),
        () => Deferred.await(gate),
        () => Effect.sync(() => inFlight.now -= 1),
      );
      const fibers = yield* Effect.forEach(
        Array.from({ length: 5 }),
        () =>
          Effect.forkChild(Resilience.guardAttempt(limited, { stage: "embed" }, attempt), {
            startImmediately: true,
          }),
      );
      yield* settle;
      expect(inFlight).toEqual({ now: 2, max: 2 });
      // Another stage has its own limit.
      const other = yield* Effect.forkChild(
        Resilience.guardAttempt(limited, { stage: "index" }, Effect.succeed("other")),
        { startImmediately: true },
      );
      yield* settle;
      expect(other.pollUnsafe()).toEqual(Exit.succeed("other"));
      yield* Deferred.succeed(gate, undefined);
      yield* Fiber.joinAll(fibers);
      expect(inFlight).toEqual({ now: 0, max: 2 });
    }).pipe(Effect.provide(Resilience.layer)));

  it.effect("the permit is released when the attempt fails and when it is interrupted", () =>
    Effect.gen(function* () {
      const one: Policy = { ...base, concurrency: 1 };
      const guard = <A>(attempt: Effect.Effect<A, StageError>) =>
        Resilience.guardAttempt(one, { stage: "kg" }, attempt);
      expect(yield* Effect.exit(guard(Effect.fail(transient)))).toEqual(Exit.fail(transient));
      expect(yield* guard(Effect.succeed("after failure"))).toBe("after failure");
      const hung = yield* Effect.forkChild(guard(Effect.never), { startImmediately: true });
      const queued = yield* Effect.forkChild(guard(Effect.succeed("after interrupt")), {
        startImmediately: true,
      });
      yield* settle;
      expect(queued.pollUnsafe()).toBeUndefined();
      yield* Fiber.interrupt(hung);
      expect(yield* Fiber.join(queued)).toBe("after interrupt");
    }).pipe(Effect.provide(Resilience.layer)));

  it.effect("without a dependency the breaker and rate limit are skipped", () =>
    Effect.gen(function* () {
      const policy: Policy = {
        ...base,
        circuitBreaker: { failureThreshold: 1, resetTimeoutSeconds: 60 },
        rateLimitPerSecond: 1,
      };
      for (let i = 0; i < 3; i++) {
        yield* Effect.exit(
          Resilience.guardAttempt(policy, { stage: "chunk" }, Effect.fail(transient)),
        );
      }
      expect(yield* Resilience.guardAttempt(policy, { stage: "chunk" }, Effect.succeed(1))).toBe(1);
      expect(yield* Resilience.summary()).toEqual({ breakers: [], rateLimits: [] });
    }).pipe(Effect.provide(Resilience.layer)));
});
