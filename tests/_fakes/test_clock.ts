/**
 * Driving `TestClock` while real I/O (msw, PGlite) runs: wait for a condition by yielding to the
 * event loop (no timers that measure anything), and run an effect to completion while advancing
 * virtual time whenever it asks for it.
 */
import { Duration, Effect, Fiber } from "effect";
import { TestClock } from "effect/testing";

const macrotask = Effect.promise(() => new Promise<void>((r) => setTimeout(r, 0)));

/** Yields to the event loop until `condition` holds; fails after `turns` turns. */
export const eventually = (
  condition: () => boolean,
  what: string,
  turns = 20_000,
): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let i = 0; i < turns; i++) {
      if (condition()) return;
      yield* macrotask;
    }
    return yield* Effect.die(new Error(`never happened: ${what}`));
  });

/** Lets pending I/O callbacks run: a few event-loop turns. */
export const settleIo: Effect.Effect<void> = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* macrotask;
});

/**
 * Runs `effect` to completion; each time `wantsTime()` says a sleep began since the last look,
 * advances the clock by `step`.
 */
export const runAdvancing = <A, E>(
  effect: Effect.Effect<A, E>,
  wantsTime: () => boolean,
  step: Duration.Input,
): Effect.Effect<A, E> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect);
    while (fiber.pollUnsafe() === undefined) {
      yield* macrotask;
      if (wantsTime()) yield* TestClock.adjust(step);
    }
    return yield* Fiber.join(fiber);
  });

/** Runs an effect under `TestClock`. */
export const runTest = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provide(TestClock.layer())));

/** `Duration` of milliseconds, for readable adjustments. */
export const ms = (n: number): Duration.Duration => Duration.millis(n);
