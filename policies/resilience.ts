/**
 * The resilience of one stage attempt: the process-wide circuit breakers, rate limiters and
 * per-stage concurrency permits as one service, and {@link guardAttempt}, the single function that
 * fixes the order they wrap an attempt in. The runner's retry loop calls it once per attempt.
 *
 * @module
 */
import { Context, Duration, Effect, Layer, type Scope, Semaphore, Stream } from "effect";
import { isRetryable, type StageError, Timeout } from "../stages/errors.ts";
import * as CircuitBreaker from "./circuit_breaker.ts";
import { parsePolicies, type Policy } from "./policy.ts";
import { policySchedule } from "./policy_schedule.ts";
import { ConfigError } from "./problem.ts";
import * as RateLimiter from "./rate_limiter.ts";

/** What the policies did since the process started: one entry per key that saw any activity. */
export interface ResilienceSummary {
  /** One entry per key whose circuit transitioned or rejected a call, by key. */
  readonly breakers: ReadonlyArray<CircuitBreaker.BreakerCounts>;
  /** One entry per rate-limited key that was called, by key. */
  readonly rateLimits: ReadonlyArray<RateLimiter.RateLimitCounts>;
}

/** The process's resilience state: shared by every stage and job that runs under it. */
export interface ResilienceShape {
  /** The circuit breakers, one circuit per dependency. */
  readonly breakers: CircuitBreaker.CircuitBreakers;
  /** The rate limiters, one bucket per dependency. */
  readonly limiters: RateLimiter.RateLimiters;
  /**
   * Runs the effect holding one of the stage's `concurrency` permits. The first limit given for a
   * stage is the one it keeps for the life of the process.
   */
  readonly withPermit: <A, E, R>(
    stage: string,
    concurrency: number,
    effect: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>;
  /** Counters of every breaker and rate limiter, by key. */
  readonly summary: Effect.Effect<ResilienceSummary>;
  /** The named policies the state was built from (empty for {@link layer}). */
  readonly policies: ReadonlyMap<string, Policy>;
}

/** The process's resilience state as a service; provide {@link layer} once per process. */
export const ResilienceBase: Context.ServiceClass<
  Resilience,
  "@medkg/lineage-kit/Resilience",
  ResilienceShape
> = Context.Service<
  Resilience,
  ResilienceShape
>()("@medkg/lineage-kit/Resilience");
// Named with an explicit type so the published declaration needs no inference (JSR).
/**
 * The process's resilience state (breakers, rate limiters, concurrency permits) as a service;
 * provide {@link layer} once per process, or {@link layerFromConfig} to also name the policies
 * of a `resilience.yaml`.
 */
export class Resilience extends ResilienceBase {}

/** Builds fresh resilience state; breaker transitions end with the scope. */
export const make: Effect.Effect<ResilienceShape, never, Scope.Scope> = Effect.suspend(() =>
  makeWith(new Map())
);

/** Builds fresh resilience state that names `policies`. */
const makeWith = (
  policies: ReadonlyMap<string, Policy>,
): Effect.Effect<ResilienceShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const breakers = yield* CircuitBreaker.make;
    const limiters = yield* RateLimiter.make;
    const permits = new Map<string, Semaphore.Semaphore>();
    const semaphoreOf = (stage: string, concurrency: number): Semaphore.Semaphore => {
      const found = permits.get(stage) ?? Semaphore.makeUnsafe(concurrency);
      permits.set(stage, found);
      return found;
    };
    return {
      breakers,
      limiters,
      withPermit: (stage, concurrency, effect) =>
        Effect.suspend(() => semaphoreOf(stage, concurrency).withPermits(1)(effect)),
      summary: Effect.all({ breakers: breakers.counts, rateLimits: limiters.counts }),
      policies,
    };
  });

/**
 * Fresh resilience state for the process with the named policies of a resilience file (its
 * breakers, token buckets and `Semaphore` permits are built per dependency and stage on first
 * use, from those policies). Fails with every problem of the file, each at its line and column.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 *
 * const names = await Effect.runPromise(
 *   Effect.map(Effect.service(Resilience), (r) => [...r.policies.keys()]).pipe(
 *     Effect.provide(layerFromConfig("policies/resilience.yaml")),
 *   ),
 * );
 * // ["default", "gpu-bound", "polite-api"]
 * ```
 */
export const layerFromConfig = (path: string): Layer.Layer<Resilience, ConfigError> =>
  Layer.effect(
    Resilience,
    Effect.gen(function* () {
      const text = yield* Effect.tryPromise({
        try: () => Deno.readTextFile(path),
        catch: (error) =>
          new ConfigError({
            problems: [{
              file: path,
              line: 1,
              column: 1,
              message: error instanceof Deno.errors.NotFound
                ? "file not found"
                : `cannot read file: ${error}`,
            }],
          }),
      });
      const { policies, problems } = parsePolicies(path, text);
      if (problems.length > 0) return yield* Effect.fail(new ConfigError({ problems }));
      return yield* makeWith(policies);
    }),
  );

/**
 * Fresh resilience state for the process. Build it once and share it: a breaker that each job
 * builds for itself never sees the failures of the others.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 *
 * const counts = await Effect.runPromise(summary().pipe(Effect.provide(layer)));
 * // { breakers: [], rateLimits: [] }
 * ```
 */
export const layer: Layer.Layer<Resilience> = Layer.effect(Resilience, make);

/** Where an attempt runs: the stage it belongs to and the outside service it calls. */
export interface GuardOptions {
  /** The key of the stage's concurrency limit. */
  readonly stage: string;
  /**
   * The key of the breaker and rate limiter, e.g. `clinicaltrials.gov` or `vllm:8000`. Absent for
   * a stage that calls no outside service: there is nothing to break or rate limit.
   */
  readonly dependency?: string;
  /** The attempt number, named in the timeout message when given. */
  readonly attempt?: number;
}

/** Interrupts the attempt at the policy's `timeout_seconds` and fails it with {@link Timeout}. */
export const withAttemptTimeout = <A, R>(
  policy: Policy,
  attempt: Effect.Effect<A, StageError, R>,
  options: { readonly attempt?: number } = {},
): Effect.Effect<A, StageError, R> => {
  const timeoutMs = policy.timeoutSeconds * 1000;
  const which = options.attempt === undefined ? "attempt" : `attempt ${options.attempt}`;
  return Effect.timeoutOrElse(attempt, {
    duration: Duration.millis(timeoutMs),
    orElse: () =>
      Effect.fail(
        new Timeout({ message: `${which} ran past ${policy.timeoutSeconds}s`, timeoutMs }),
      ),
  });
};

/**
 * Wraps one attempt in the policy's breaker, rate limit, concurrency permit and timeout.
 *
 * The order, outer to inner, is: retry (the runner's loop, outside this function) → circuit
 * breaker → rate limit → concurrency permit → attempt timeout → attempt. The breaker comes first
 * so that an open circuit fails at once instead of queueing for a token; the token is waited for
 * before the permit is taken, so a caller throttled on one dependency does not hold a slot another
 * could use; the timeout sits inside the permit, so time spent queueing counts against no attempt;
 * and everything is inside the retry, so backoff sleeps hold neither token nor permit. A timeout
 * is a failure of the dependency for the breaker, which sees it as the attempt's outcome.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import type { Policy } from "./policy.ts";
 *
 * const politeApi: Policy = {
 *   name: "polite-api",
 *   maxAttempts: 10,
 *   backoffStrategy: "linear",
 *   backoffInitialSeconds: 1,
 *   backoffMaxSeconds: 10,
 *   backoffJitterSeconds: 0,
 *   timeoutSeconds: 10,
 *   rateLimitPerSecond: 5,
 * };
 * const fetchStudy = Effect.succeed({ id: "NCT00000102" });
 * const study = await Effect.runPromise(
 *   guardAttempt(politeApi, { stage: "ingest", dependency: "clinicaltrials.gov" }, fetchStudy)
 *     .pipe(Effect.provide(layer)),
 * );
 * ```
 */
export const guardAttempt = <A, R>(
  policy: Policy,
  options: GuardOptions,
  attempt: Effect.Effect<A, StageError, R>,
): Effect.Effect<A, StageError, R | Resilience> =>
  Effect.flatMap(Resilience, (resilience) => {
    const timed = withAttemptTimeout(policy, attempt, options);
    const permitted = policy.concurrency === undefined
      ? timed
      : resilience.withPermit(options.stage, policy.concurrency, timed);
    const { dependency } = options;
    const { rateLimitPerSecond: rate, circuitBreaker: breaker } = policy;
    const limited = dependency === undefined || rate === undefined
      ? permitted
      : Effect.andThen(resilience.limiters.acquire(dependency, rate), permitted);
    return dependency === undefined || breaker === undefined
      ? limited
      : resilience.breakers.execute(dependency, breaker, limited);
  });

/**
 * Runs `effect` under a policy, as the runner runs a stage: retried through
 * {@link policySchedule} (only retryable errors, with the policy's backoff), each attempt inside
 * the breaker, rate limit, permit and timeout of {@link guardAttempt}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 *
 * const program = Effect.gen(function* () {
 *   const { policies } = yield* Resilience;
 *   return yield* withPolicy(policies.get("polite-api")!, { stage: "lookup", dependency: "api.example.org" },
 *     Effect.succeed("ok"));
 * });
 * await Effect.runPromise(program.pipe(Effect.provide(layerFromConfig("policies/resilience.yaml"))));
 * ```
 */
export const withPolicy = <A, R>(
  policy: Policy,
  options: GuardOptions,
  effect: Effect.Effect<A, StageError, R>,
): Effect.Effect<A, StageError, R | Resilience> =>
  Effect.retry(guardAttempt(policy, options, effect), {
    schedule: policySchedule(policy),
    while: isRetryable,
  });

/** Every breaker transition from subscription on. */
export const transitions: Stream.Stream<CircuitBreaker.BreakerTransition, never, Resilience> =
  Stream.unwrap(Effect.map(Resilience, (r) => r.breakers.transitions));

/** The most recent breaker transitions, oldest first. */
export const transitionHistory: Effect.Effect<
  ReadonlyArray<CircuitBreaker.BreakerTransition>,
  never,
  Resilience
> = Effect.flatMap(Resilience, (r) => r.breakers.history);

/** What the breakers and rate limiters did since the process started. */
export const summary = (): Effect.Effect<ResilienceSummary, never, Resilience> =>
  Effect.flatMap(Resilience, (r) => r.summary);
