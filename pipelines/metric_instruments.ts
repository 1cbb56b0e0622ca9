/**
 * The kit's metric instruments, as Effect `Metric`s: one constant per Prometheus family, with its
 * name, help text and (for histograms) bucket boundaries. Names follow the Prometheus conventions:
 * the `lineagekit_` prefix, base units (seconds), `_total` on counters. The labels of each family
 * are listed in its help text and in the README's metrics section.
 *
 * @module
 */
import { Metric } from "effect";

// Stage attempts range from a few milliseconds (pure stages) to minutes (GPU parsing).
const stageBuckets = Metric.boundariesFromIterable([
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
]);

// A job is its stages plus backoff sleeps; PDF jobs include a MinerU parse.
const jobBuckets = Metric.boundariesFromIterable([
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
  1800,
  3600,
]);

// Gates wait for outside work (a GPU queue), from nothing to the longest gate timeouts.
const gateBuckets = Metric.boundariesFromIterable([
  1,
  10,
  30,
  60,
  300,
  900,
  1800,
  3600,
  7200,
  21600,
  86400,
]);

/**
 * `lineagekit_job_duration_seconds{pipeline,status}`: how long each run of a job took in this
 * process, from its claim to its end (`status`: succeeded, failed, paused, skipped when the run
 * lost its job to another process, error when the store failed).
 *
 * @category models
 */
export const jobDuration: Metric.Histogram<number> = Metric.histogram(
  "lineagekit_job_duration_seconds",
  {
    description: "Duration of job runs in seconds, by pipeline and status.",
    boundaries: jobBuckets,
  },
);

/**
 * `lineagekit_active_jobs`: job runs in flight in this process.
 *
 * @category models
 */
export const activeJobs: Metric.Gauge<number> = Metric.gauge("lineagekit_active_jobs", {
  description: "Job runs in flight in this process.",
});

/**
 * `lineagekit_jobs{status}`: jobs in the ledger by status, read from the ledger at scrape time
 * (every process sharing the store sees the same numbers).
 *
 * @category models
 */
export const jobsByStatus: Metric.Gauge<number> = Metric.gauge("lineagekit_jobs", {
  description: "Jobs in the ledger by status, read at scrape time.",
});

/**
 * `lineagekit_stage_duration_seconds{pipeline,stage,outcome}`: how long a stage took, every
 * attempt and backoff sleep included (`outcome`: succeeded, failed, aborted, error).
 *
 * @category models
 */
export const stageDuration: Metric.Histogram<number> = Metric.histogram(
  "lineagekit_stage_duration_seconds",
  {
    description: "Duration of stages (all attempts and backoff) in seconds, by outcome.",
    boundaries: stageBuckets,
  },
);

/**
 * `lineagekit_stage_attempts_total{pipeline,stage,outcome}`: stage attempts by how they ended
 * (`outcome`: succeeded, failed, aborted, error).
 *
 * @category models
 */
export const stageAttempts: Metric.Counter<number> = Metric.counter(
  "lineagekit_stage_attempts_total",
  { description: "Stage attempts by outcome.", incremental: true },
);

/**
 * `lineagekit_stage_retries_total{pipeline,stage,error_type}`: attempts that failed and were
 * retried, by the error's tag (`Transient`, `Timeout`, `RateLimited` …).
 *
 * @category models
 */
export const stageRetries: Metric.Counter<number> = Metric.counter(
  "lineagekit_stage_retries_total",
  { description: "Stage attempts retried, by error type.", incremental: true },
);

/**
 * `lineagekit_circuit_breaker_state{dependency}`: 0 closed, 1 open, 2 half-open; read at scrape
 * time for every dependency whose circuit has transitioned or rejected a call.
 *
 * @category models
 */
export const breakerState: Metric.Gauge<number> = Metric.gauge(
  "lineagekit_circuit_breaker_state",
  { description: "Circuit breaker state by dependency: 0 closed, 1 open, 2 half-open." },
);

/**
 * `lineagekit_circuit_breaker_transitions_total{dependency,from,to}`: circuit state changes.
 *
 * @category models
 */
export const breakerTransitions: Metric.Counter<number> = Metric.counter(
  "lineagekit_circuit_breaker_transitions_total",
  { description: "Circuit breaker state transitions by dependency.", incremental: true },
);

/**
 * `lineagekit_circuit_breaker_rejections_total{dependency}`: calls failed fast, without running,
 * while the circuit was open or a probe ran.
 *
 * @category models
 */
export const breakerRejections: Metric.Counter<number> = Metric.counter(
  "lineagekit_circuit_breaker_rejections_total",
  { description: "Calls rejected by an open or probing circuit.", incremental: true },
);

/**
 * `lineagekit_rate_limit_waits_total{dependency}`: calls that waited for a rate-limit token.
 *
 * @category models
 */
export const rateLimitWaits: Metric.Counter<number> = Metric.counter(
  "lineagekit_rate_limit_waits_total",
  { description: "Calls that waited for a rate-limit token, by dependency.", incremental: true },
);

/**
 * `lineagekit_rate_limit_wait_seconds_total{dependency}`: time calls spent waiting for tokens.
 *
 * @category models
 */
export const rateLimitWaitSeconds: Metric.Counter<number> = Metric.counter(
  "lineagekit_rate_limit_wait_seconds_total",
  { description: "Seconds spent waiting for rate-limit tokens, by dependency.", incremental: true },
);

/**
 * `lineagekit_outbox_pending_events{sink}`: outbox events the sink has not settled, read at
 * scrape time.
 *
 * @category models
 */
export const outboxPending: Metric.Gauge<number> = Metric.gauge(
  "lineagekit_outbox_pending_events",
  { description: "Outbox events waiting for delivery, by sink." },
);

/**
 * `lineagekit_outbox_delivery_lag_seconds{sink}`: age of the sink's oldest pending event (by its
 * event time), 0 when nothing waits; read at scrape time.
 *
 * @category models
 */
export const outboxLag: Metric.Gauge<number> = Metric.gauge(
  "lineagekit_outbox_delivery_lag_seconds",
  { description: "Age of the oldest event waiting for the sink, in seconds (0: none waits)." },
);

/**
 * `lineagekit_outbox_events_delivered_total{sink}`: events this process's relay delivered.
 *
 * @category models
 */
export const eventsDelivered: Metric.Counter<number> = Metric.counter(
  "lineagekit_outbox_events_delivered_total",
  { description: "Outbox events delivered, by sink.", incremental: true },
);

/**
 * `lineagekit_outbox_events_dead_lettered_total{sink}`: events the sink refused for good.
 *
 * @category models
 */
export const eventsDeadLettered: Metric.Counter<number> = Metric.counter(
  "lineagekit_outbox_events_dead_lettered_total",
  { description: "Outbox events set aside as dead letters, by sink.", incremental: true },
);

/**
 * `lineagekit_gate_wait_seconds{pipeline,gate,outcome}`: how long jobs waited at a gate before it
 * opened (`outcome` opened) or timed out (`outcome` timed_out).
 *
 * @category models
 */
export const gateWait: Metric.Histogram<number> = Metric.histogram("lineagekit_gate_wait_seconds", {
  description: "Time jobs waited at gates in seconds, by outcome.",
  boundaries: gateBuckets,
});

/**
 * `lineagekit_sensor_passes_total{trigger}`: sensor passes by what started them (start, poll,
 * notify).
 *
 * @category models
 */
export const sensorPasses: Metric.Counter<number> = Metric.counter(
  "lineagekit_sensor_passes_total",
  { description: "Sensor passes by trigger.", incremental: true },
);

/**
 * `lineagekit_pdf_parse_duration_seconds{outcome}`: PDF parses the MinerU bridge made, by outcome
 * (parsed, failed).
 *
 * @category models
 */
export const pdfParseDuration: Metric.Histogram<number> = Metric.histogram(
  "lineagekit_pdf_parse_duration_seconds",
  {
    description: "Duration of PDF parses by the MinerU bridge in seconds, by outcome.",
    boundaries: stageBuckets,
  },
);

/**
 * `lineagekit_metrics_collect_errors_total{collector}`: scrape-time reads that failed (the store
 * was unreachable …); the series they feed keep their last values.
 *
 * @category models
 */
export const collectErrors: Metric.Counter<number> = Metric.counter(
  "lineagekit_metrics_collect_errors_total",
  { description: "Scrape-time collectors that failed, by collector.", incremental: true },
);
