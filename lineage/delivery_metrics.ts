/**
 * What the relay records in the kit's metrics service: events each sink took and events it
 * refused for good, counted as the relay records them.
 *
 * @module
 */
import { Effect } from "effect";
import { Metrics } from "../pipelines/metrics.ts";
import { eventsDeadLettered, eventsDelivered } from "../pipelines/metric_instruments.ts";

/**
 * Counts settled events of `sink` (`lineagekit_outbox_events_delivered_total`,
 * `lineagekit_outbox_events_dead_lettered_total`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { countSettled } from "./delivery_metrics.ts";
 *
 * Effect.runSync(countSettled("jsonl:openlineage", 12, 0)); // nothing recorded by default
 * ```
 *
 * @category combinators
 */
export const countSettled = (
  sink: string,
  delivered: number,
  deadLettered: number,
): Effect.Effect<void> =>
  Effect.flatMap(Effect.service(Metrics), (m) =>
    m.enabled
      ? Effect.andThen(
        m.update(eventsDelivered, { sink }, delivered),
        m.update(eventsDeadLettered, { sink }, deadLettered),
      )
      : Effect.void);
