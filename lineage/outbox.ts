/**
 * The transactional outbox: lineage events are written in the same store transaction as the
 * ledger change they describe, then delivered to sinks by the relay.
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../stages/errors.ts";
import { Context, type Effect } from "effect";

/** Which stream an outbox event belongs to. */
export type OutboxChannel = "openlineage" | "cloudevents";

/** An event waiting in the outbox. */
export interface OutboxEvent {
  /** The stream the event belongs to: OpenLineage events or CloudEvents. */
  readonly channel: OutboxChannel;
  /** The OpenLineage run the event belongs to (per-run ordering key). */
  readonly runId: string;
  /** The event as JSON: an OpenLineage event or a structured-mode CloudEvent. */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A stored outbox event with its global sequence number. */
export interface OutboxRow extends OutboxEvent {
  /** The event's place in the outbox; each job's events reach a sink in this order. */
  readonly seq: number;
  /** The job the event belongs to; null for an event written outside any job. */
  readonly jobId: string | null;
  /**
   * Why the stored event could not be read back (its text is not a JSON object: a row written by
   * hand, a damaged file); its `payload` is then empty. The relay sets such an event aside as a
   * dead letter for every sink instead of handing it over, and the events after it go on.
   */
  readonly unreadable?: string;
}

/**
 * The store failed; carries the operation that failed. `dataFault` marks a write the database
 * refused for the data in it (a NUL in JSON, a value nested past its stack limit): the same write
 * fails again, so a retry cannot help, but the store itself is fine.
 */
export const StoreErrorBase: TaggedErrorClass<"StoreError", {
  readonly operation: string;
  readonly message: string;
  readonly dataFault?: boolean;
}> = taggedError("StoreError");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** The store failed; `operation` names what it was doing. */
export class StoreError extends StoreErrorBase {}

/** Reading and acknowledging outbox events per sink. */
export interface OutboxStoreShape {
  /** Events after the sink's cursor, oldest first. */
  readonly pending: (
    sink: string,
    limit: number,
  ) => Effect.Effect<ReadonlyArray<OutboxRow>, StoreError>;
  /** Moves the sink's cursor past `seq` (everything up to it was delivered). */
  readonly acknowledge: (
    sink: string,
    seq: number,
    count: number,
  ) => Effect.Effect<void, StoreError>;
  /** How many events wait for the sink. */
  readonly backlog: (sink: string) => Effect.Effect<number, StoreError>;
  /** How many events of each channel the outbox holds. */
  readonly totals: () => Effect.Effect<Readonly<Record<OutboxChannel, number>>, StoreError>;
  /**
   * Deletes events every sink had, delivered more than `olderThanMs` ago; never an undelivered
   * one. Resolves to how many went. Absent: the outbox keeps everything.
   */
  readonly prune?: (olderThanMs: number) => Effect.Effect<number, StoreError>;
}

/** How long delivered events stay in the outbox when nothing else is configured, in days. */
export const defaultOutboxRetentionDays = 7;

/**
 * The longest retention accepted (100 years): "keep for good" in practice, and far from the
 * range where the database's interval arithmetic overflows.
 */
export const maxOutboxRetentionDays = 36_500;

/** Days as milliseconds. */
export const daysToMs = (days: number): number => days * 24 * 60 * 60 * 1000;

/** The outbox as a service. */
export const OutboxStoreBase: Context.ServiceClass<
  OutboxStore,
  "@medkg/lineage-kit/OutboxStore",
  OutboxStoreShape
> = Context.Service<
  OutboxStore,
  OutboxStoreShape
>()("@medkg/lineage-kit/OutboxStore");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** The outbox as a service. */
export class OutboxStore extends OutboxStoreBase {}
