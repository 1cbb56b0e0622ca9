/**
 * Keeping a lease (a sink for a relay, a job for a run or a MinerU bridge) while work runs:
 * renew it at an interval until it is lost.
 *
 * @module
 */
import { Clock, Duration, Effect } from "effect";
import type { StoreError } from "./outbox.ts";

/** Why a lease was lost. */
export type LeaseLoss =
  | { readonly reason: "taken" }
  | { readonly reason: "unrenewable"; readonly error: StoreError };

/** How {@link keepRenewing} renews. */
export interface RenewalOptions {
  /** Time between renewals. */
  readonly everyMs: number;
  /**
   * How long renewing may keep failing (the store unreachable) before the lease counts as lost;
   * 0 loses it at the first failure.
   */
  readonly graceMs: number;
}

/**
 * Calls `renew` every `everyMs` until it answers false (another holder has the lease) or keeps
 * failing for longer than `graceMs`; then completes with why. Runs until interrupted otherwise.
 */
export const keepRenewing = <R>(
  renew: Effect.Effect<boolean, StoreError, R>,
  options: RenewalOptions,
): Effect.Effect<LeaseLoss, never, R> =>
  Effect.gen(function* () {
    let failingSince: number | undefined;
    while (true) {
      yield* Effect.sleep(Duration.millis(options.everyMs));
      const now = yield* Clock.currentTimeMillis;
      const renewed = yield* Effect.result(renew);
      if (renewed._tag === "Success") {
        if (!renewed.success) return { reason: "taken" } as const;
        failingSince = undefined;
        continue;
      }
      failingSince ??= now;
      if (now - failingSince >= options.graceMs) {
        return { reason: "unrenewable", error: renewed.failure } as const;
      }
      yield* Effect.logWarning(`lease renewal: ${renewed.failure.message}`);
    }
  });
