/**
 * The one place a store promise becomes an Effect.
 *
 * @module
 */
import { Effect } from "effect";
import { StoreError } from "../../lineage/outbox.ts";

/** Wraps one store operation: a rejected promise becomes a StoreError naming the operation. */
export const storeOp = <A>(
  operation: string,
  run: () => Promise<A>,
): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new StoreError({
        operation,
        message: cause instanceof Error ? cause.message : String(cause),
      }),
  });
