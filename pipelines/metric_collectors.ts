/**
 * Metrics read when the endpoint is scraped rather than recorded as things happen: jobs by status
 * from the ledger, the outbox backlog and delivery lag of each sink, and the circuit breakers' and
 * rate limiters' own counters. {@link layerRunMetrics} registers them, over the run's services,
 * for as long as the run's layer lives.
 *
 * @module
 */
import { Clock, Effect, Layer } from "effect";
import { type OutboxRow, OutboxStore } from "../lineage/outbox.ts";
import { hasDeliveryLog } from "../lineage/delivery_log.ts";
import type { LineageSink } from "../lineage/sink.ts";
import { Resilience } from "../policies/resilience.ts";
import type { BreakerState } from "../policies/circuit_breaker.ts";
import { JobLedger } from "./ledger.ts";
import { type MetricLabels, Metrics, type MetricsShape } from "./metrics.ts";
import {
  breakerRejections,
  breakerState,
  breakerTransitions,
  jobsByStatus,
  outboxLag,
  outboxPending,
  rateLimitWaits,
  rateLimitWaitSeconds,
} from "./metric_instruments.ts";

/**
 * The sinks whose backlog is read: their names and the channels they take.
 *
 * @category models
 */
export type MeteredSink = Pick<LineageSink, "name" | "channels">;

/** Jobs by status, from the ledger. */
const ledgerCollector = (metrics: MetricsShape, ledger: JobLedger["Service"]) =>
  Effect.flatMap(ledger.counts(), ({ jobs }) =>
    Effect.forEach(
      Object.entries(jobs),
      ([status, n]) => metrics.update(jobsByStatus, { status }, n),
      { discard: true },
    ));

// The time an outbox event carries: `eventTime` (OpenLineage) or `time` (CloudEvents).
const eventTimeMs = (row: OutboxRow): number | undefined => {
  const raw = row.payload.eventTime ?? row.payload.time;
  const ms = typeof raw === "string" ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};

/** Each sink's pending events, and the age of its oldest one. */
const outboxCollector = (
  metrics: MetricsShape,
  outbox: OutboxStore["Service"],
  sinks: ReadonlyArray<MeteredSink>,
) =>
  Effect.forEach(sinks, (sink) =>
    Effect.gen(function* () {
      if (!hasDeliveryLog(outbox)) {
        return yield* metrics.update(
          outboxPending,
          { sink: sink.name },
          yield* outbox.backlog(sink.name),
        );
      }
      const { pending } = yield* outbox.counts(sink.name, sink.channels);
      yield* metrics.update(outboxPending, { sink: sink.name }, pending);
      const [oldest] = pending === 0 ? [] : yield* outbox.pendingFor(sink.name, sink.channels, 1);
      const at = oldest === undefined ? undefined : eventTimeMs(oldest);
      const now = yield* Clock.currentTimeMillis;
      const lagMs = at === undefined ? 0 : Math.max(0, now - at);
      yield* metrics.update(outboxLag, { sink: sink.name }, lagMs / 1000);
    }), { discard: true });

const stateValue: Readonly<Record<BreakerState, number>> = { closed: 0, open: 1, half_open: 2 };

/**
 * Turns the totals a component keeps into counter increments: the first read adds the total, a
 * later one what it grew by, and a total that went down (the component was built again) counts
 * from zero.
 */
const increments = () => {
  const seen = new Map<string, number>();
  return (key: string, total: number): number => {
    const last = seen.get(key) ?? 0;
    seen.set(key, total);
    return total >= last ? total - last : total;
  };
};

/** Breaker states and transitions, rate-limiter waits: the resilience state's own counters. */
const resilienceCollector = (metrics: MetricsShape, resilience: Resilience["Service"]) => {
  const grown = increments();
  const add = (metric: typeof breakerTransitions, labels: MetricLabels, total: number) =>
    metrics.update(metric, labels, grown(`${metric.id}${JSON.stringify(labels)}`, total));
  return Effect.gen(function* () {
    const { breakers, rateLimits } = yield* resilience.summary;
    for (const b of breakers) {
      const dependency = b.key;
      const status = yield* resilience.breakers.status(dependency);
      yield* metrics.update(breakerState, { dependency }, stateValue[status.state]);
      const transitions: ReadonlyArray<[BreakerState, BreakerState, number]> = [
        ["closed", "open", b.closedToOpen],
        ["open", "half_open", b.openToHalfOpen],
        ["half_open", "closed", b.halfOpenToClosed],
        ["half_open", "open", b.halfOpenToOpen],
      ];
      for (const [from, to, total] of transitions) {
        yield* add(breakerTransitions, { dependency, from, to }, total);
      }
      yield* add(breakerRejections, { dependency }, b.fastFailed);
    }
    for (const r of rateLimits) {
      yield* add(rateLimitWaits, { dependency: r.key }, r.waits);
      yield* add(rateLimitWaitSeconds, { dependency: r.key }, r.waitedMs / 1000);
    }
  });
};

/**
 * Options of {@link layerRunMetrics}.
 *
 * @category models
 */
export interface RunMetricsOptions {
  /** The sinks whose outbox backlog and lag are read. @default none */
  readonly sinks?: ReadonlyArray<MeteredSink>;
}

/**
 * Records the run's metrics in `metrics` (provided as the {@link Metrics} service) and reads the
 * ledger, the outbox backlog of `sinks` and the resilience state at every scrape while the layer
 * lives. Without `metrics` it is empty: nothing is recorded.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeMetrics } from "./metrics.ts";
 * import { layerRunMetrics } from "./metric_collectors.ts";
 *
 * const metrics = makeMetrics();
 * const layer = layerRunMetrics(metrics); // provide it inside the kit's layer (ledger, outbox …)
 * ```
 *
 * @category layers
 */
export const layerRunMetrics = (
  metrics: MetricsShape | undefined,
  options: RunMetricsOptions = {},
): Layer.Layer<never, never, JobLedger | OutboxStore | Resilience> =>
  metrics === undefined ? Layer.empty : Layer.mergeAll(
    Layer.succeed(Metrics, metrics),
    Layer.effectDiscard(Effect.gen(function* () {
      const ledger = yield* JobLedger;
      const outbox = yield* OutboxStore;
      const resilience = yield* Resilience;
      yield* metrics.addCollector({ name: "ledger", collect: ledgerCollector(metrics, ledger) });
      yield* metrics.addCollector({
        name: "outbox",
        collect: outboxCollector(metrics, outbox, options.sinks ?? []),
      });
      yield* metrics.addCollector({
        name: "resilience",
        collect: resilienceCollector(metrics, resilience),
      });
    })),
  );
