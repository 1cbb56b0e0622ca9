/**
 * The one place a store promise becomes an Effect.
 *
 * @module
 */
import { Effect } from "effect";
import { StoreError } from "../../lineage/outbox.ts";
import { isDataFault } from "./_write_faults.ts";

const messageOf = (cause: unknown): string =>
  cause instanceof Error ? cause.message : String(cause);

/**
 * Wraps one store operation: a rejected promise becomes a StoreError naming the operation, marked
 * `dataFault` when the database refused the data written rather than failing itself.
 */
export const storeOp = <A>(
  operation: string,
  run: () => Promise<A>,
): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => {
      const message = messageOf(cause);
      return new StoreError({
        operation,
        message,
        ...(isDataFault(message) ? { dataFault: true } : {}),
      });
    },
  });
