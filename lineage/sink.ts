/**
 * A lineage sink: somewhere the relay delivers outbox events (a JSONL file, Marquez, Kafka …).
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../stages/errors.ts";
import type { Effect } from "effect";
import type { OutboxChannel, OutboxRow } from "./outbox.ts";

/** A sink could not take events; they stay in the outbox. */
export const SinkErrorBase: TaggedErrorClass<"SinkError", {
  readonly sink: string;
  readonly message: string;
  readonly retryable: boolean;
}> = taggedError("SinkError");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** A sink could not take events; they stay in the outbox. `retryable`: a later try may succeed. */
export class SinkError extends SinkErrorBase {}

/** A destination for outbox events. */
export interface LineageSink {
  /** Stable identity; the relay keeps one delivery cursor per name. */
  readonly name: string;
  /** Which outbox channels it takes; other events are skipped (and acknowledged). */
  readonly channels: ReadonlyArray<OutboxChannel>;
  /** Delivers events in order. On failure none of them count as delivered. */
  readonly deliver: (events: ReadonlyArray<OutboxRow>) => Effect.Effect<void, SinkError>;
}
