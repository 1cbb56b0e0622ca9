/**
 * A wake-up call for a loop that sleeps between passes: `wake` (from a finished job, a store
 * notification) ends the current or next `sleep` early; wake-ups while awake are not lost, and
 * many count as one.
 *
 * @module
 */
import { type Duration, Effect } from "effect";
import { whenAborted } from "../lineage/abort_signal.ts";

/** A loop's wake-up call. */
export interface WakeUp {
  /** Ends the current sleep, or the next one at once. */
  readonly wake: () => void;
  /** Sleeps until woken, `duration` passes or `signal` aborts. */
  readonly sleep: (duration: Duration.Duration, signal?: AbortSignal) => Effect.Effect<void>;
}

/** A new wake-up call, not yet rung. */
export const makeWakeUp = (): WakeUp => {
  let rung = false;
  let ring: (() => void) | undefined;
  const woken = Effect.callback<void>((resume) => {
    if (rung) {
      rung = false;
      return resume(Effect.void);
    }
    ring = () => {
      ring = undefined;
      rung = false;
      resume(Effect.void);
    };
    return Effect.sync(() => void (ring = undefined));
  });
  return {
    wake: () => {
      rung = true;
      ring?.();
    },
    sleep: (duration, signal) =>
      Effect.raceFirst(
        Effect.raceFirst(woken, Effect.sleep(duration)),
        signal === undefined ? Effect.never : whenAborted(signal),
      ),
  };
};
