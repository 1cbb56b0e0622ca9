/**
 * Per-event delivery records on top of the outbox: which events a sink has settled (delivered,
 * dead-lettered or skipped by a filter), so the relay can acknowledge events one by one and out
 * of order (several jobs in flight) without ever handing a sink the same event twice.
 *
 * A store offers this by implementing {@link DeliveryLogShape} next to {@link OutboxStoreShape}
 * on the object it provides as the `OutboxStore` service (the SQL store does).
 *
 * @module
 */
import type { Effect } from "effect";
import type { OutboxChannel, OutboxRow, OutboxStoreShape, StoreError } from "./outbox.ts";
import { StoreError as StoreErrorClass } from "./outbox.ts";

/** An event a sink refused for good, set aside so that the run's later events can go on. */
export interface DeadLetter {
  readonly seq: number;
  readonly runId: string;
  readonly jobId: string | null;
  readonly status?: number;
  readonly reason: string;
}

/** What one settle call records for a sink. */
export interface SettleRecord {
  readonly delivered?: ReadonlyArray<number>;
  readonly deadLetters?: ReadonlyArray<DeadLetter>;
  /** Events the sink does not want (filtered out): handled, but not counted as delivered. */
  readonly skipped?: ReadonlyArray<number>;
}

/** How a sink stands. */
export interface SinkCounts {
  /** Events of the sink's channels not yet settled (at most the count's `upTo`). */
  readonly pending: number;
  /** The count of pending events stopped at its `upTo`: more may be waiting. */
  readonly pendingAtLeast?: true;
  /** Events set aside for the sink, ever. */
  readonly deadLettered: number;
}

/** Per-event delivery records, alongside the outbox. */
export interface DeliveryLogShape {
  /**
   * The oldest events of `channels` the sink has not settled, in outbox order; past `after`
   * when given (a flush reading page after page starts each page after the last one it
   * settled, so it never reads its own settled events again).
   */
  readonly pendingFor: (
    sink: string,
    channels: ReadonlyArray<OutboxChannel>,
    limit: number,
    after?: number,
  ) => Effect.Effect<ReadonlyArray<OutboxRow>, StoreError>;
  /**
   * Whether the sink has nothing to do: no event of `channels` it has not settled, and no
   * settled record left to fold into its cursor. A flush of such a sink is reported at once,
   * without taking its lease or writing anything. A store that leaves it out has every flush
   * take the whole round.
   */
  readonly quiet?: (
    sink: string,
    channels: ReadonlyArray<OutboxChannel>,
  ) => Effect.Effect<boolean, StoreError>;
  /** Records settled events, in one transaction. */
  readonly settle: (sink: string, record: SettleRecord) => Effect.Effect<void, StoreError>;
  /**
   * Pending and dead-lettered counts of the sink; pending counted up to `upTo` when given (what
   * more there is stays uncounted, `pendingAtLeast`), since counting a long backlog reads it all.
   */
  readonly counts: (
    sink: string,
    channels: ReadonlyArray<OutboxChannel>,
    upTo?: number,
  ) => Effect.Effect<SinkCounts, StoreError>;
  /**
   * Makes the sinks known to the store, with the channels each takes, before any of them is
   * delivered to. An event is done with once every known sink that takes its channel has it, and
   * a store with retention 0 deletes it then: a relay makes all of its sinks known first, so that
   * one sink's first round never removes what another has yet to take.
   */
  readonly know: (
    sinks: ReadonlyArray<
      { readonly name: string; readonly channels: ReadonlyArray<OutboxChannel> }
    >,
  ) => Effect.Effect<void, StoreError>;
  /**
   * Folds old per-event records into the sink's cursor. Only events older than the store's
   * horizon are folded: a writer transaction that took a lower sequence number may still commit.
   * `settledThrough`, when given, says every event of the sink's channels up to it is settled
   * (a flush that settled each page it read), so the search for the first unsettled one starts
   * there instead of walking what the flush settled.
   */
  readonly compact: (
    sink: string,
    channels: ReadonlyArray<OutboxChannel>,
    settledThrough?: number,
  ) => Effect.Effect<void, StoreError>;
  /**
   * Takes (or renews) the sink's lease for `ttlMs`: true when `holder` has it, false while
   * another holder's lease runs. Only the holder delivers to the sink, so two relays on one
   * store (two processes, or two flushes in one) never hand it the same event.
   */
  readonly claim: (
    sink: string,
    holder: string,
    ttlMs: number,
  ) => Effect.Effect<boolean, StoreError>;
  /** Gives the sink's lease back, if `holder` has it. */
  readonly release: (sink: string, holder: string) => Effect.Effect<void, StoreError>;
}

/** An outbox store that keeps per-event delivery records. */
export type OutboxWithDeliveryLog = OutboxStoreShape & DeliveryLogShape;

/** Whether the provided outbox keeps per-event delivery records. */
export const hasDeliveryLog = (outbox: OutboxStoreShape): outbox is OutboxWithDeliveryLog => {
  const o = outbox as Partial<DeliveryLogShape>;
  return typeof o.pendingFor === "function" && typeof o.settle === "function" &&
    typeof o.counts === "function" && typeof o.compact === "function" &&
    typeof o.know === "function" &&
    typeof o.claim === "function" && typeof o.release === "function";
};

/** The error for an outbox store without per-event delivery records. */
export const noDeliveryLog = (): StoreError =>
  new StoreErrorClass({
    operation: "outbox.deliveryLog",
    message:
      "this outbox store keeps no per-event delivery records (pendingFor, settle, counts, know, compact, claim, release)",
  });
