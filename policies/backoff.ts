/**
 * Retry delays from a policy, exactly as `policies/resilience.yaml` documents them:
 * exponential retry n waits `min(max, initial·2^(n-1)) + U(0, jitter)`, linear
 * `min(max, initial·n) + U(0, jitter)`, none 0.
 *
 * @module
 */
import { Effect, Random } from "effect";
import type { Policy } from "./policy.ts";

/** The delay before retry `n` (1 = first retry) without jitter, in milliseconds. */
export const baseDelayMs = (policy: Policy, n: number): number => {
  const initial = policy.backoffInitialSeconds * 1000;
  const max = policy.backoffMaxSeconds * 1000;
  switch (policy.backoffStrategy) {
    case "exponential":
      return Math.min(max, initial * 2 ** (n - 1));
    case "linear":
      return Math.min(max, initial * n);
    case "none":
      return 0;
  }
};

/** The delays of every retry the policy allows, without jitter (for reports). */
export const delaySchedule = (policy: Policy): ReadonlyArray<number> =>
  Array.from({ length: policy.maxAttempts - 1 }, (_, i) => baseDelayMs(policy, i + 1));

/**
 * The delay before retry `n` with jitter drawn from Effect's `Random` (seedable in tests).
 * A remote's `retryAfterMs` raises the delay to at least that, capped by `backoff_max_seconds`.
 */
export const retryDelayMs = (
  policy: Policy,
  n: number,
  retryAfterMs?: number,
): Effect.Effect<number> =>
  Effect.map(
    policy.backoffJitterSeconds > 0
      ? Random.nextBetween(0, policy.backoffJitterSeconds * 1000)
      : Effect.succeed(0),
    (jitter) => {
      const base = baseDelayMs(policy, n) + jitter;
      if (retryAfterMs === undefined) return Math.round(base);
      return Math.round(Math.max(base, Math.min(retryAfterMs, policy.backoffMaxSeconds * 1000)));
    },
  );
