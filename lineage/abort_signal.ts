/**
 * An `AbortSignal` as an Effect, for loops that stop when their caller says so.
 *
 * @module
 */
import { Effect } from "effect";

/** Completes when `signal` aborts (at once if it already has). */
export const whenAborted = (signal: AbortSignal): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (signal.aborted) return resume(Effect.void);
    const onAbort = () => resume(Effect.void);
    signal.addEventListener("abort", onAbort, { once: true });
    return Effect.sync(() => signal.removeEventListener("abort", onAbort));
  });
