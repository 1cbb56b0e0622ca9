/**
 * The composite transport as one sink: hands each batch to every child in turn and carries on
 * past a child that fails.
 *
 * Prefer composing at the relay: give the relay the children as a list (the configuration's
 * `composite` transport is resolved that way by `sinksFor`). The relay keeps one cursor per sink,
 * so a child that is down neither holds back the others nor makes them receive an event twice.
 * A single composite sink has a single cursor: when one child fails, the batch stays pending and
 * the next delivery hands it again to the children that had already taken it. Use this sink
 * where only one sink can be given, and with children that tolerate repeats.
 *
 * @module
 */
import { Effect } from "effect";
import { type LineageSink, SinkError } from "./sink.ts";
import type { OutboxChannel } from "./outbox.ts";

/** Options of {@link makeCompositeSink}. */
export interface CompositeSinkOptions {
  /** The relay's cursor name for this sink. @default `composite:` and the children's names */
  readonly name?: string;
  /** Keep delivering to the next children after one fails. @default true */
  readonly continueOnFailure?: boolean;
}

/** One sink delivering to several; fails, after trying all of them, if any child failed. */
export const makeCompositeSink = (
  children: ReadonlyArray<LineageSink>,
  options: CompositeSinkOptions = {},
): LineageSink => {
  const name = options.name ?? `composite:${children.map((c) => c.name).join(",")}`;
  const channels = [...new Set(children.flatMap((c) => c.channels))] as OutboxChannel[];
  return {
    name,
    channels,
    deliver: (events) =>
      Effect.gen(function* () {
        const failures: SinkError[] = [];
        for (const child of children) {
          const mine = events.filter((e) => child.channels.includes(e.channel));
          if (mine.length === 0) continue;
          const result = yield* Effect.result(child.deliver(mine));
          if (result._tag === "Success") continue;
          failures.push(result.failure);
          if (options.continueOnFailure === false) break;
        }
        if (failures.length === 0) return;
        return yield* Effect.fail(
          new SinkError({
            sink: name,
            message: failures.map((f) => `${f.sink}: ${f.message}`).join("; "),
            retryable: failures.some((f) => f.retryable),
          }),
        );
      }),
  };
};
