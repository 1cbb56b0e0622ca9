/**
 * How the relay and a sink agree on what happened to each event. A plain {@link LineageSink}
 * delivers a whole batch or nothing; a sink that also implements `settle` reports per event, so
 * the relay can acknowledge each delivered event at once and set aside an event the destination
 * refuses for good (a poison event) instead of retrying it forever.
 *
 * @module
 */
import { Effect } from "effect";
import type { OutboxRow } from "./outbox.ts";
import type { LineageSink, SinkError } from "./sink.ts";

/** What became of one event. */
export type EventOutcome =
  | { readonly _tag: "Delivered" }
  | {
    /** The destination refused the event itself; sending it again cannot succeed. */
    readonly _tag: "Rejected";
    /** The HTTP status (or other code) the destination answered with, when there was one. */
    readonly status?: number;
    readonly reason: string;
  };

/** One settled event. */
export interface SettledEvent {
  readonly seq: number;
  readonly outcome: EventOutcome;
}

/** The result of handing a run of events to a sink. */
export interface Settlement {
  /** Every event the sink settled, delivered or rejected for good; the others stay pending. */
  readonly settled: ReadonlyArray<SettledEvent>;
  /** Why some events were not settled. The relay stops using the sink until its next flush. */
  readonly error?: SinkError;
}

/** What the relay can use beyond {@link LineageSink}; every member is optional. */
export interface RelaySink extends LineageSink {
  /** Hands events over in order and reports per event; never fails (see {@link Settlement}). */
  readonly settle?: (events: ReadonlyArray<OutboxRow>) => Effect.Effect<Settlement>;
  /** The most events handed over in one call. @default every event read in one go */
  readonly maxBatch?: number;
  /**
   * How many jobs' events may be in flight at once. Events of one job (a pipeline run and its
   * stage runs) always go one after the other, in outbox order. @default 1
   */
  readonly concurrency?: number;
  /** Whether the sink wants the event; refused events count as handled (filters). */
  readonly accepts?: (event: OutboxRow) => boolean;
}

/** Delivered, as an outcome value. */
export const delivered: EventOutcome = { _tag: "Delivered" };

/** The relay's view of any sink: its own `settle`, or `deliver` as all-or-nothing. */
export const settleWith = (
  sink: RelaySink,
): (events: ReadonlyArray<OutboxRow>) => Effect.Effect<Settlement> =>
  sink.settle ?? ((events) =>
    sink.deliver(events).pipe(
      Effect.as<Settlement>({ settled: events.map((e) => ({ seq: e.seq, outcome: delivered })) }),
      Effect.catch((error) => Effect.succeed<Settlement>({ settled: [], error })),
    ));
