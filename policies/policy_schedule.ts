/**
 * A resilience policy as an Effect `Schedule`: the retry decisions and delays of
 * `policies/resilience.yaml`, usable with `Effect.retry` in any Effect program, and the one the
 * runner retries stages through.
 *
 * @module
 */
import { Cause, Duration, Effect, Schedule } from "effect";
import { isRetryable, retryAfterMs, type StageError } from "../stages/errors.ts";
import { retryDelayMs } from "./backoff.ts";
import type { Policy } from "./policy.ts";

/**
 * The retry schedule of a policy over failures of any type, read as stage errors by `errorOf`.
 * See {@link policySchedule}.
 *
 * @category constructors
 */
export const policyScheduleBy = <Input>(
  policy: Policy,
  errorOf: (input: Input) => StageError,
): Schedule.Schedule<number, Input> =>
  Schedule.fromStepWithMetadata(Effect.succeed((meta: Schedule.InputMetadata<Input>) => {
    // `attempt` counts the failures so far: after the n-th, retry n follows if the policy
    // allows another attempt and the error is one that retrying can cure.
    const error = errorOf(meta.input);
    if (meta.attempt >= policy.maxAttempts || !isRetryable(error)) {
      return Cause.done(meta.attempt);
    }
    return Effect.map(
      retryDelayMs(policy, meta.attempt, retryAfterMs(error)),
      (ms): [number, Duration.Duration] => [ms, Duration.millis(ms)],
    );
  }));

/**
 * The retry `Schedule` of a policy: at most `max_attempts` attempts in all; retry n waits
 * `min(max, initial·2^(n-1)) + U(0, jitter)` (exponential), `min(max, initial·n) + U(0, jitter)`
 * (linear) or 0 (none), raised to a remote's `Retry-After` (capped by `backoff_max_seconds`);
 * only retryable errors are retried. Its output is the delay chosen, in milliseconds. Jitter is
 * drawn from Effect's `Random` (seed it in tests).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Transient } from "../stages/errors.ts";
 * import type { Policy } from "./policy.ts";
 * import { policySchedule } from "./policy_schedule.ts";
 *
 * const politeApi: Policy = {
 *   name: "polite-api",
 *   maxAttempts: 3,
 *   backoffStrategy: "linear",
 *   backoffInitialSeconds: 0,
 *   backoffMaxSeconds: 0,
 *   backoffJitterSeconds: 0,
 *   timeoutSeconds: 10,
 * };
 * let calls = 0;
 * const flaky = Effect.suspend(() =>
 *   ++calls < 3 ? Effect.fail(new Transient({ message: "503" })) : Effect.succeed("ok")
 * );
 * console.log(await Effect.runPromise(Effect.retry(flaky, policySchedule(politeApi)))); // "ok"
 * ```
 *
 * @category constructors
 */
export const policySchedule = (policy: Policy): Schedule.Schedule<number, StageError> =>
  policyScheduleBy(policy, (error: StageError) => error);
