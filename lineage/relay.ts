/**
 * The outbox relay: delivers outbox events to every sink in outbox order (so per run, START comes
 * before its terminal event and a parent's START before its children's), advancing one cursor per
 * sink only after the sink accepted the events. A sink that is down keeps its events waiting; it
 * never slows or fails the pipeline.
 *
 * @module
 */
import { Effect } from "effect";
import { OutboxStore, type StoreError } from "./outbox.ts";
import type { LineageSink } from "./sink.ts";

/** What one flush did for one sink. */
export interface SinkReport {
  readonly sink: string;
  readonly delivered: number;
  readonly pending: number;
  readonly error?: string;
}

/** Options of {@link flush}. */
export interface FlushOptions {
  /** Events read and delivered per batch. @default 500 */
  readonly batchSize?: number;
}

const flushSink = (sink: LineageSink, batchSize: number) =>
  Effect.gen(function* () {
    const outbox = yield* OutboxStore;
    let delivered = 0;
    while (true) {
      const rows = yield* outbox.pending(sink.name, batchSize);
      if (rows.length === 0) break;
      const mine = rows.filter((r) => sink.channels.includes(r.channel));
      const result = mine.length > 0 ? yield* Effect.result(sink.deliver(mine)) : undefined;
      if (result && result._tag === "Failure") {
        return {
          sink: sink.name,
          delivered,
          pending: yield* outbox.backlog(sink.name),
          error: result.failure.message,
        } satisfies SinkReport;
      }
      yield* outbox.acknowledge(sink.name, rows[rows.length - 1].seq, mine.length);
      delivered += mine.length;
      if (rows.length < batchSize) break;
    }
    return { sink: sink.name, delivered, pending: 0 } satisfies SinkReport;
  });

/** Delivers everything pending to every sink; each sink is independent of the others. */
export const flush = (
  sinks: ReadonlyArray<LineageSink>,
  options: FlushOptions = {},
): Effect.Effect<ReadonlyArray<SinkReport>, StoreError, OutboxStore> =>
  Effect.forEach(sinks, (s) => flushSink(s, options.batchSize ?? 500), { concurrency: "unbounded" });
