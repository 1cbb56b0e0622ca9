/**
 * The kit's metrics as a service: where the runner, the relay, the sensor and the MinerU bridge
 * record what they do, and where a Prometheus endpoint reads it from. The instruments are Effect
 * `Metric`s (`metric_instruments.ts`) kept in a registry of their own and rendered by
 * `effect/observability`'s `PrometheusMetrics` in the text exposition format 0.0.4.
 *
 * The service is a `Context.Reference` whose default records nothing: library users and tests
 * that never ask for metrics need no setup and pay one lookup per instrumented step. A command
 * serving `/metrics` provides {@link makeMetrics}' recorder instead.
 *
 * Values that live elsewhere (jobs by status in the ledger, the outbox backlog, breaker and
 * rate-limiter counters) are read by collectors when the endpoint is scraped, not pushed.
 *
 * @module
 */
import { Cause, Context, Duration, Effect, Layer, Metric, type Scope, Semaphore } from "effect";
import { PrometheusMetrics } from "effect/observability";
import { collectErrors } from "./metric_instruments.ts";

/**
 * The labels of one series: label name to value.
 *
 * @category models
 */
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * A read made when the endpoint is scraped, with its services already provided.
 *
 * @category models
 */
export interface MetricsCollector {
  /** Names the collector in `lineagekit_metrics_collect_errors_total{collector}`. */
  readonly name: string;
  /** Reads the values and updates their series. */
  readonly collect: Effect.Effect<void, unknown>;
}

/**
 * Where metrics are recorded, and how they are read back.
 *
 * @category models
 */
export interface MetricsShape {
  /** False for the default, which records nothing (instrumented steps then skip their timing). */
  readonly enabled: boolean;
  /**
   * Records `input` on the series of `metric` with `labels`: adds it to a counter, observes it
   * in a histogram, sets a gauge to it.
   */
  readonly update: <I, S>(
    metric: Metric.Metric<I, S>,
    labels: MetricLabels,
    input: I,
  ) => Effect.Effect<void>;
  /** Moves a gauge by `input` (or adds it to a counter). */
  readonly modify: <I, S>(
    metric: Metric.Metric<I, S>,
    labels: MetricLabels,
    input: I,
  ) => Effect.Effect<void>;
  /** Runs `collector` on every scrape until the scope closes. */
  readonly addCollector: (collector: MetricsCollector) => Effect.Effect<void, never, Scope.Scope>;
  /** Runs the collectors, then renders every series in the Prometheus text format 0.0.4. */
  readonly exposition: Effect.Effect<string>;
}

/** The default: records nothing, renders nothing. */
const disabled: MetricsShape = {
  enabled: false,
  update: () => Effect.void,
  modify: () => Effect.void,
  addCollector: () => Effect.void,
  exposition: Effect.succeed(""),
};

/**
 * The kit's metrics service. Its default records nothing; provide a recorder ({@link makeMetrics})
 * with {@link layerMetrics} or `Effect.provideService(Metrics, recorder)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Metrics } from "./metrics.ts";
 *
 * const enabled = Effect.runSync(Effect.map(Effect.service(Metrics), (m) => m.enabled)); // false
 * ```
 *
 * @category services
 */
export const Metrics: Context.Reference<MetricsShape> = Context.Reference<MetricsShape>(
  "@medkg/lineage-kit/Metrics",
  { defaultValue: () => disabled },
);

// A collector that hangs (a store that does not answer) must not hang the scrape.
const COLLECT_TIMEOUT = Duration.seconds(10);

/**
 * A recorder with a registry of its own (two recorders in one process never share series).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeMetrics } from "./metrics.ts";
 * import { stageRetries } from "./metric_instruments.ts";
 *
 * const metrics = makeMetrics();
 * const text = await Effect.runPromise(Effect.andThen(
 *   metrics.update(stageRetries, { pipeline: "auto", stage: "embed", error_type: "Timeout" }, 1),
 *   metrics.exposition,
 * ));
 * // # HELP lineagekit_stage_retries_total …
 * ```
 *
 * @category constructors
 */
export const makeMetrics = (): MetricsShape => {
  const registry: Metric.MetricRegistry = new Map();
  const context = Context.make(Metric.MetricRegistry, registry) as Context.Context<never>;
  const collectors = new Set<MetricsCollector>();
  // Scrapes run one at a time: collectors keep the last values they saw to turn totals into
  // counter increments.
  const lock = Semaphore.makeUnsafe(1);
  const update = <I, S>(metric: Metric.Metric<I, S>, labels: MetricLabels, input: I) =>
    Effect.sync(() => Metric.withAttributes(metric, labels).updateUnsafe(input, context));
  const modify = <I, S>(metric: Metric.Metric<I, S>, labels: MetricLabels, input: I) =>
    Effect.sync(() => Metric.withAttributes(metric, labels).modifyUnsafe(input, context));
  const runCollector = (collector: MetricsCollector) =>
    collector.collect.pipe(
      Effect.timeout(COLLECT_TIMEOUT),
      Effect.catchCause((cause) =>
        Effect.andThen(
          Effect.logWarning(
            `metrics: collector ${collector.name} failed: ${Cause.pretty(cause).split("\n")[0]}`,
          ),
          update(collectErrors, { collector: collector.name }, 1),
        )
      ),
    );
  return {
    enabled: true,
    update,
    modify,
    addCollector: (collector) =>
      Effect.acquireRelease(
        Effect.sync(() => void collectors.add(collector)),
        () => Effect.sync(() => void collectors.delete(collector)),
      ),
    exposition: lock.withPermits(1)(
      Effect.andThen(
        Effect.suspend(() => Effect.forEach([...collectors], runCollector, { discard: true })),
        Effect.sync(() => PrometheusMetrics.formatUnsafe(context)),
      ),
    ),
  };
};

/**
 * Provides `metrics` as the {@link Metrics} service.
 *
 * @category layers
 */
export const layerMetrics = (metrics: MetricsShape): Layer.Layer<never> =>
  Layer.succeed(Metrics, metrics);
