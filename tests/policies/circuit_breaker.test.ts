import { Deferred, Effect, Exit, Fiber, Layer, ManagedRuntime, Scope, Stream } from "effect";
import { TestClock } from "effect/testing";
import { it } from "@effect/vitest";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import * as CircuitBreaker from "../../policies/circuit_breaker.ts";
import type { CircuitBreakerSpec } from "../../policies/policy.ts";
import {
  CircuitOpen,
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Timeout,
  Transient,
} from "../../stages/errors.ts";

const START = Date.parse("2026-01-01T00:00:00Z");
const at = (seconds: number): Date => new Date(START + seconds * 1000);
const spec: CircuitBreakerSpec = { failureThreshold: 5, resetTimeoutSeconds: 60 };
const transient = new Transient({ message: "503 from upstream" });
const invalid = new InvalidInput({ message: "no title", path: "$.title" });

// A rejection names the failure that opened the circuit (the tests' failures are `transient`).
const openedBy = ` after Transient: ${transient.message}`;
const openError = (key: string, retryAfterMs: number, after = openedBy): CircuitOpen =>
  new CircuitOpen({
    message: `circuit "${key}" is open${after}; retry in ${retryAfterMs} ms`,
    retryAfterMs,
  });
const halfOpenError = (key: string, after = openedBy): CircuitOpen =>
  new CircuitOpen({
    message: `circuit "${key}" is half-open${after}; a probe is in flight`,
    retryAfterMs: 0,
  });

/** A dependency that counts the calls that reach it. */
const dependency = () => {
  const calls = { n: 0 };
  const call = <A>(outcome: Effect.Effect<A, StageError>): Effect.Effect<A, StageError> =>
    Effect.suspend(() => {
      calls.n += 1;
      return outcome;
    });
  return { calls, call };
};

describe("CircuitBreaker.make()", () => {
  it.effect("threshold 5 / reset 60 s: exact transitions, counts and stream", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const breakers = yield* CircuitBreaker.make;
      const streamed = yield* Effect.forkChild(
        breakers.transitions.pipe(Stream.take(5), Stream.runCollect),
        { startImmediately: true },
      );
      yield* Effect.yieldNow;
      const dep = dependency();
      const run = <A>(o: Effect.Effect<A, StageError>) =>
        Effect.exit(breakers.execute("svc", spec, dep.call(o)));
      for (let i = 0; i < 5; i++) yield* run(Effect.fail(transient));
      expect(yield* breakers.status("svc")).toEqual({ state: "open", retryAfterMs: 60_000 });
      yield* TestClock.adjust("30 seconds");
      expect(yield* run(Effect.succeed(1))).toEqual(Exit.fail(openError("svc", 30_000)));
      yield* TestClock.adjust("30 seconds");
      expect(yield* breakers.status("svc")).toEqual({ state: "half_open", probing: false });
      expect(yield* run(Effect.fail(transient))).toEqual(Exit.fail(transient));
      yield* TestClock.adjust("60 seconds");
      expect(yield* run(Effect.succeed(2))).toEqual(Exit.succeed(2));
      expect(dep.calls.n).toBe(7);
      const expected = [
        { key: "svc", from: "closed", to: "open", at: at(0) },
        { key: "svc", from: "open", to: "half_open", at: at(60) },
        { key: "svc", from: "half_open", to: "open", at: at(60) },
        { key: "svc", from: "open", to: "half_open", at: at(120) },
        { key: "svc", from: "half_open", to: "closed", at: at(120) },
      ];
      expect(yield* breakers.history).toEqual(expected);
      expect(yield* Fiber.join(streamed)).toEqual(expected);
      expect(yield* breakers.counts).toEqual([{
        key: "svc",
        closedToOpen: 1,
        openToHalfOpen: 2,
        halfOpenToClosed: 1,
        halfOpenToOpen: 1,
        opens: 2,
        fastFailed: 1,
      }]);
    }));

  it.effect("no call reaches the dependency while the circuit is open", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreaker.make;
      const dep = dependency();
      for (let i = 0; i < 5; i++) {
        yield* Effect.exit(breakers.execute("svc", spec, dep.call(Effect.fail(transient))));
      }
      const rejected: Array<Exit.Exit<number, StageError>> = [];
      for (let ms = 0; ms < 60_000; ms += 500) {
        rejected.push(
          yield* Effect.exit(breakers.execute("svc", spec, dep.call(Effect.succeed(1)))),
        );
        yield* TestClock.adjust("500 millis");
      }
      expect(dep.calls.n).toBe(5);
      expect(rejected).toEqual(
        Array.from({ length: 120 }, (_, i) => Exit.fail(openError("svc", 60_000 - i * 500))),
      );
      expect((yield* breakers.counts)[0].fastFailed).toBe(120);
    }));

  it.effect("keys are independent", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreaker.make;
      const dep = dependency();
      for (let i = 0; i < 5; i++) {
        yield* Effect.exit(breakers.execute("a.example", spec, dep.call(Effect.fail(transient))));
      }
      for (let i = 0; i < 4; i++) {
        yield* Effect.exit(breakers.execute("b.example", spec, dep.call(Effect.fail(transient))));
      }
      expect(yield* breakers.status("a.example")).toEqual({ state: "open", retryAfterMs: 60_000 });
      expect(yield* breakers.status("b.example")).toEqual({ state: "closed" });
      expect(yield* breakers.execute("b.example", spec, dep.call(Effect.succeed("ok")))).toBe("ok");
      expect(yield* breakers.status("never-called")).toEqual({ state: "closed" });
      expect((yield* breakers.history).map((t) => `${t.key} ${t.from}->${t.to}`)).toEqual([
        "a.example closed->open",
      ]);
    }));

  it.effect("InvalidInput and Permanent neither count nor reset; a success resets the streak", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreaker.make;
      const run = (e: Effect.Effect<number, StageError>) =>
        Effect.exit(breakers.execute("svc", spec, e));
      for (let i = 0; i < 4; i++) yield* run(Effect.fail(transient));
      yield* run(Effect.fail(invalid));
      yield* run(Effect.fail(new Permanent({ message: "422" })));
      yield* run(Effect.die("bug"));
      expect(yield* breakers.status("svc")).toEqual({ state: "closed" });
      yield* run(Effect.succeed(1));
      for (let i = 0; i < 4; i++) yield* run(Effect.fail(transient));
      expect(yield* breakers.status("svc")).toEqual({ state: "closed" });
      yield* run(Effect.fail(transient));
      expect(yield* breakers.status("svc")).toEqual({ state: "open", retryAfterMs: 60_000 });
    }));

  it("countsAgainst() counts exactly the errors that indict the dependency", () => {
    const errors: ReadonlyArray<StageError> = [
      transient,
      new Timeout({ message: "attempt ran past 30s", timeoutMs: 30_000 }),
      new RateLimited({ message: "429", retryAfterMs: 1000 }),
      new GpuUnavailable({ message: "down" }),
      new GpuOutOfMemory({ message: "oom" }),
      invalid,
      new Permanent({ message: "422" }),
      openError("svc", 1),
    ];
    expect(errors.map((e) => [e._tag, CircuitBreaker.countsAgainst(e)])).toEqual([
      ["Transient", true],
      ["Timeout", true],
      ["RateLimited", true],
      ["GpuUnavailable", true],
      ["GpuOutOfMemory", true],
      ["InvalidInput", false],
      ["Permanent", false],
      ["CircuitOpen", false],
    ]);
  });

  it.effect("an interrupted probe frees the slot: the next caller probes and closes the circuit", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreaker.make;
      const one = { failureThreshold: 1, resetTimeoutSeconds: 10 };
      yield* Effect.exit(breakers.execute("svc", one, Effect.fail(transient)));
      yield* TestClock.adjust("10 seconds");
      const started = yield* Deferred.make<void>();
      const probe = yield* Effect.forkChild(
        breakers.execute(
          "svc",
          one,
          Effect.andThen(Deferred.succeed(started, undefined), Effect.never),
        ),
        { startImmediately: true },
      );
      yield* Deferred.await(started);
      expect(yield* breakers.status("svc")).toEqual({ state: "half_open", probing: true });
      expect(yield* Effect.exit(breakers.execute("svc", one, Effect.succeed(0)))).toEqual(
        Exit.fail(halfOpenError("svc")),
      );
      yield* Fiber.interrupt(probe);
      expect(yield* breakers.status("svc")).toEqual({ state: "half_open", probing: false });
      expect(yield* breakers.execute("svc", one, Effect.succeed(1))).toBe(1);
      expect(yield* breakers.status("svc")).toEqual({ state: "closed" });
    }));

  it.effect("the first spec given for a key is kept", () =>
    Effect.gen(function* () {
      const breakers = yield* CircuitBreaker.make;
      yield* Effect.exit(
        breakers.execute(
          "svc",
          { failureThreshold: 2, resetTimeoutSeconds: 5 },
          Effect.fail(transient),
        ),
      );
      yield* Effect.exit(
        breakers.execute(
          "svc",
          { failureThreshold: 9, resetTimeoutSeconds: 99 },
          Effect.fail(transient),
        ),
      );
      expect(yield* breakers.status("svc")).toEqual({ state: "open", retryAfterMs: 5000 });
    }));
});

// ---------------------------------------------------------------------------------------------
// Model-based: the breaker against a small reference state machine.

type State = "closed" | "open" | "half_open";
type Outcome = "succeed" | "transient" | "invalid";

interface Model {
  readonly spec: CircuitBreakerSpec;
  now: number;
  state: State;
  failures: number;
  openUntil: number;
  calls: number;
  fastFailed: number;
  transitions: Array<{ from: State; to: State; at: number }>;
}

interface Real {
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>;
  readonly breakers: CircuitBreaker.CircuitBreakers;
  readonly calls: { n: number };
}

const KEY = "dep";

type Described = { readonly ok: true } | { readonly error: StageError };

const describeExit = (exit: Exit.Exit<unknown, StageError>): Described => {
  if (Exit.isSuccess(exit)) return { ok: true };
  const found = exit.cause.reasons.find((r) => r._tag === "Fail");
  return found !== undefined && found._tag === "Fail" ? { error: found.error } : { ok: true };
};

const move = (m: Model, to: State): void => {
  m.transitions.push({ from: m.state, to, at: m.now });
  m.state = to;
};

/** Whether the model admits a call; a due open circuit turns half-open and admits the probe. */
const admit = (m: Model): "run" | "probe" | Described => {
  if (m.state === "closed") return "run";
  if (m.state === "open" && m.now < m.openUntil) {
    m.fastFailed += 1;
    return { error: openError(KEY, m.openUntil - m.now) };
  }
  if (m.state === "open") move(m, "half_open");
  return "probe";
};

const record = (m: Model, outcome: Outcome): void => {
  if (outcome === "invalid") return;
  if (m.state === "half_open") {
    if (outcome === "succeed") {
      m.failures = 0;
      return move(m, "closed");
    }
    m.openUntil = m.now + m.spec.resetTimeoutSeconds * 1000;
    return move(m, "open");
  }
  m.failures = outcome === "succeed" ? 0 : m.failures + 1;
  if (m.failures >= m.spec.failureThreshold) {
    m.failures = 0;
    m.openUntil = m.now + m.spec.resetTimeoutSeconds * 1000;
    move(m, "open");
  }
};

const outcomeEffect = (outcome: Outcome): Effect.Effect<string, StageError> =>
  outcome === "succeed"
    ? Effect.succeed("ok")
    : Effect.fail(outcome === "transient" ? transient : invalid);

const expectedOf = (outcome: Outcome): Described =>
  outcome === "succeed" ? { ok: true } : { error: outcome === "transient" ? transient : invalid };

const statusOf = (m: Model): CircuitBreaker.BreakerStatus =>
  m.state === "closed"
    ? { state: "closed" }
    : m.state === "open" && m.now < m.openUntil
    ? { state: "open", retryAfterMs: m.openUntil - m.now }
    : { state: "half_open", probing: false };

const countsOf = (m: Model): ReadonlyArray<CircuitBreaker.BreakerCounts> => {
  if (m.transitions.length === 0 && m.fastFailed === 0) return [];
  const n = (from: State, to: State) =>
    m.transitions.filter((t) => t.from === from && t.to === to).length;
  return [{
    key: KEY,
    closedToOpen: n("closed", "open"),
    openToHalfOpen: n("open", "half_open"),
    halfOpenToClosed: n("half_open", "closed"),
    halfOpenToOpen: n("half_open", "open"),
    opens: n("closed", "open") + n("half_open", "open"),
    fastFailed: m.fastFailed,
  }];
};

const assertSame = async (m: Model, r: Real): Promise<void> => {
  expect(r.calls.n).toBe(m.calls);
  expect(await r.run(r.breakers.status(KEY))).toEqual(statusOf(m));
  const history = await r.run(r.breakers.history);
  expect(history.map((t) => ({ from: t.from, to: t.to, at: t.at.getTime() }))).toEqual(
    m.transitions,
  );
  expect(await r.run(r.breakers.counts)).toEqual(countsOf(m));
};

const counted = <A>(r: Real, effect: Effect.Effect<A, StageError>) =>
  Effect.suspend(() => {
    r.calls.n += 1;
    return effect;
  });

// Lets forked callers run until `done` holds (bounded, so a bug fails instead of hanging).
const settle = (done: () => boolean): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let i = 0; i < 1000 && !done(); i++) yield* Effect.yieldNow;
    expect(done()).toBe(true);
  });

class Call implements fc.AsyncCommand<Model, Real> {
  constructor(readonly outcome: Outcome) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const admission = admit(m);
    const exit = await r.run(
      Effect.exit(r.breakers.execute(KEY, m.spec, counted(r, outcomeEffect(this.outcome)))),
    );
    if (admission === "run" || admission === "probe") {
      m.calls += 1;
      record(m, this.outcome);
      expect(describeExit(exit)).toEqual(expectedOf(this.outcome));
    } else {
      expect(describeExit(exit)).toEqual(admission);
    }
    await assertSame(m, r);
  }
  toString = () => `call(${this.outcome})`;
}

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.run(TestClock.adjust(this.ms));
    m.now += this.ms;
    await assertSame(m, r);
  }
  toString = () => `advance(${this.ms})`;
}

/** Moves the clock to exactly the end of the open time, or to 1 ms before it. */
class AdvanceToReset implements fc.AsyncCommand<Model, Real> {
  constructor(readonly early: boolean) {}
  check = (m: Readonly<Model>) => m.state === "open" && m.now < m.openUntil;
  async run(m: Model, r: Real): Promise<void> {
    const ms = m.openUntil - m.now - (this.early ? 1 : 0);
    await r.run(TestClock.adjust(ms));
    m.now += ms;
    await assertSame(m, r);
  }
  toString = () => `advanceToReset(${this.early ? "-1ms" : "exact"})`;
}

const toReset = (m: Model, r: Real): Promise<void> => {
  const ms = Math.max(0, m.openUntil - m.now);
  m.now += ms;
  return r.run(TestClock.adjust(ms));
};

/** k callers at the moment the circuit turns half-open: exactly one probe reaches the dependency. */
class Burst implements fc.AsyncCommand<Model, Real> {
  constructor(readonly k: number, readonly outcome: Outcome) {}
  check = (m: Readonly<Model>) => m.state !== "closed";
  async run(m: Model, r: Real): Promise<void> {
    await toReset(m, r);
    const before = r.calls.n;
    const exits = await r.run(Effect.gen(function* (this: Burst) {
      const gate = yield* Deferred.make<void>();
      const finished = { n: 0 };
      const caller = r.breakers.execute(
        KEY,
        m.spec,
        counted(r, Effect.andThen(Deferred.await(gate), outcomeEffect(this.outcome))),
      ).pipe(Effect.exit, Effect.tap(() => Effect.sync(() => finished.n += 1)));
      const fibers = yield* Effect.forEach(
        Array.from({ length: this.k }),
        () => Effect.forkChild(caller, { startImmediately: true }),
      );
      yield* settle(() => finished.n === this.k - 1);
      expect(r.calls.n - before).toBe(1);
      yield* Deferred.succeed(gate, undefined);
      return yield* Fiber.joinAll(fibers);
    }.bind(this)));
    admit(m);
    m.calls += 1;
    m.fastFailed += this.k - 1;
    record(m, this.outcome);
    const described = exits.map(describeExit);
    const rejected = described.filter((d) => "error" in d && d.error._tag === "CircuitOpen");
    expect(rejected).toEqual(
      Array.from({ length: this.k - 1 }, () => ({ error: halfOpenError(KEY) })),
    );
    expect(described.filter((d) => !rejected.includes(d))).toEqual([expectedOf(this.outcome)]);
    await assertSame(m, r);
  }
  toString = () => `burst(${this.k}, ${this.outcome})`;
}

/** The probe is interrupted while it runs: the circuit stays half-open with the slot free. */
class InterruptProbe implements fc.AsyncCommand<Model, Real> {
  check = (m: Readonly<Model>) => m.state !== "closed";
  async run(m: Model, r: Real): Promise<void> {
    await toReset(m, r);
    const before = r.calls.n;
    await r.run(Effect.gen(function* () {
      const probe = yield* Effect.forkChild(
        r.breakers.execute(KEY, m.spec, counted(r, Effect.never)),
        { startImmediately: true },
      );
      yield* settle(() => r.calls.n === before + 1);
      expect(yield* r.breakers.status(KEY)).toEqual({ state: "half_open", probing: true });
      yield* Fiber.interrupt(probe);
    }));
    admit(m);
    m.calls += 1;
    expect(await r.run(r.breakers.status(KEY))).toEqual({ state: "half_open", probing: false });
    await assertSame(m, r);
  }
  toString = () => "interruptProbe";
}

const outcomeArb = fc.constantFrom<Outcome>("succeed", "transient", "invalid");

const commandsArb = fc.commands<Model, Real, false>([
  outcomeArb.map((o) => new Call(o)),
  // Failures weigh more, so that circuits open often enough to probe.
  fc.constantFrom<Outcome>("transient", "transient", "succeed").map((o) => new Call(o)),
  fc.constant(new Call("transient")),
  fc.integer({ min: 0, max: 150_000 }).map((ms) => new Advance(ms)),
  fc.boolean().map((early) => new AdvanceToReset(early)),
  fc.tuple(fc.integer({ min: 2, max: 8 }), outcomeArb).map(([k, o]) => new Burst(k, o)),
  fc.constant(new InterruptProbe()),
], { maxCommands: 80, size: "max" });

const specArb = fc.record({
  failureThreshold: fc.integer({ min: 1, max: 5 }),
  resetTimeoutSeconds: fc.integer({ min: 1, max: 120 }),
});

describe("CircuitBreaker.make() against a reference model", () => {
  test.prop([specArb, commandsArb], { numRuns: 150 })(
    "every call, clock move, burst and interrupted probe matches the model",
    async (breakerSpec, commands) => {
      const runtime = ManagedRuntime.make(Layer.mergeAll(TestClock.layer()));
      const scope = await runtime.runPromise(Scope.make());
      try {
        const breakers = await runtime.runPromise(Scope.provide(CircuitBreaker.make, scope));
        const model: Model = {
          spec: breakerSpec,
          now: 0,
          state: "closed",
          failures: 0,
          openUntil: 0,
          calls: 0,
          fastFailed: 0,
          transitions: [],
        };
        const real: Real = {
          run: (effect) => runtime.runPromise(effect),
          breakers,
          calls: { n: 0 },
        };
        await fc.asyncModelRun(() => ({ model, real }), commands);
      } finally {
        await runtime.runPromise(Scope.close(scope, Exit.void));
        await runtime.dispose();
      }
    },
  );
});
