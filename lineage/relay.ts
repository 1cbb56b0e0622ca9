/**
 * The outbox relay: delivers outbox events to every sink and records, per sink and per event,
 * what became of them.
 *
 * - Order: a sink receives each job's events (a pipeline run and its stage runs) in outbox order,
 *   so START comes before its run's terminal event and a parent's START before its children's.
 *   Different jobs may be in flight at once when the sink allows it (`concurrency`).
 * - Exactly once per sink: each settled event is recorded right after the sink took it, and
 *   nothing settled is handed over again, across flushes and restarts. One relay at a time
 *   delivers to a sink (a lease in the store, renewed while it works), so relays of several
 *   processes on one PostgreSQL database never hand a sink the same event twice. (An interrupted
 *   delivery, such as at a deadline or a crash, may leave the event it was sending unrecorded: at
 *   least once there.)
 * - Poison events: an event the sink refuses for good becomes a dead letter for that sink and the
 *   run's later events go on.
 * - Independence: each sink has its own records; a sink that is down keeps its events pending
 *   and never holds back another sink, nor a pipeline (run the relay apart from the runner).
 *
 * `flush` delivers what is pending once; `flushWithDeadline` bounds it in time (end of a run);
 * `runRelay` keeps flushing in the background, backing off from a failing sink.
 *
 * @module
 */
import { Clock, Duration, Effect, Latch } from "effect";
import { daysToMs, defaultOutboxRetentionDays, OutboxStore, type StoreError } from "./outbox.ts";
import type { LineageSink } from "./sink.ts";
import { flushSink, isQuiet, knowSinks, reportOf, type Tally } from "./_relay_sink.ts";
import { whenAborted } from "./abort_signal.ts";

/** What one flush did for one sink. */
export interface SinkReport {
  /** The sink's name. */
  readonly sink: string;
  /** Events delivered by this flush. */
  readonly delivered: number;
  /** Events still waiting for the sink afterwards. */
  readonly pending: number;
  /**
   * Set when `pending` is a lower bound: the background relay ({@link runRelay}) counts a
   * backlog only up to one page of events (`batchSize`), since counting it all reads all of it.
   */
  readonly pendingAtLeast?: true;
  /** Events set aside by this flush because the sink refused them for good. */
  readonly deadLettered: number;
  /** Why the sink stopped before delivering everything. */
  readonly error?: string;
}

/** Options of {@link flush}. */
export interface FlushOptions {
  /** Events read from the outbox at a time. @default 500 */
  readonly batchSize?: number;
  /**
   * Pages (of `batchSize` events) read for one sink in one flush: a flush that reaches it ends,
   * dating what it delivered, and leaves the rest to the next one. @default no limit (the
   * background relay: 20)
   */
  readonly maxPages?: number;
}

/** One sink's flush and what it left: a backlog when it used all its pages on full ones. */
interface SinkFlush {
  readonly report: SinkReport;
  readonly backlog: boolean;
}

type Delivery = Effect.Effect<void, StoreError, OutboxStore>;

/** How a flush of one sink goes, besides the options. */
interface FlushPlan {
  /** Pages it reads unless the options set it. */
  readonly maxPages: number;
  /** Counts the pending events left up to one page (see SinkReport.pendingAtLeast). */
  readonly countUpToOnePage?: boolean;
  /** Wraps the delivery (a deadline that records why it stopped in the tally). */
  readonly bounded?: (delivery: Delivery, tally: Tally) => Delivery;
}

/**
 * Flushes one sink with a tally of its own. A sink with nothing to do (see DeliveryLogShape.quiet)
 * is reported at once: the flushes at the end of a run whose jobs were all done, or of a worker
 * with nothing queued, otherwise took a lease, compacted and counted for each sink (about twenty
 * statements where one read does).
 */
const flushOne = (
  sink: LineageSink,
  options: FlushOptions,
  plan: FlushPlan,
): Effect.Effect<SinkFlush, StoreError, OutboxStore> =>
  Effect.gen(function* () {
    const tally: Tally = { delivered: 0, deadLettered: 0 };
    const batchSize = options.batchSize ?? 500;
    const maxPages = options.maxPages ?? plan.maxPages;
    let quiet = false;
    // The look is part of the flush, within its deadline (flushWithDeadline) as the rest is.
    const delivery = Effect.flatMap(
      isQuiet(sink),
      (nothingToDo) =>
        nothingToDo
          ? Effect.sync(() => void (quiet = true))
          : flushSink(sink, batchSize, maxPages, tally),
    );
    const bounded = plan.bounded ?? ((d: Delivery) => d);
    yield* bounded(delivery, tally);
    const report: SinkReport = quiet
      ? { sink: sink.name, delivered: 0, pending: 0, deadLettered: 0 }
      : yield* reportOf(sink, tally, plan.countUpToOnePage ? batchSize : undefined);
    return { report, backlog: tally.backlog === true };
  });

/** Makes every sink known first (see knowSinks), then flushes them all at once; their reports. */
const flushEach = (
  sinks: ReadonlyArray<LineageSink>,
  flushOf: (sink: LineageSink) => Effect.Effect<SinkFlush, StoreError, OutboxStore>,
): Effect.Effect<ReadonlyArray<SinkReport>, StoreError, OutboxStore> =>
  Effect.andThen(
    knowSinks(sinks),
    Effect.forEach(sinks, (sink) => Effect.map(flushOf(sink), (f) => f.report), {
      concurrency: "unbounded",
    }),
  );

/** Delivers everything pending to every sink; each sink is independent of the others. */
export const flush = (
  sinks: ReadonlyArray<LineageSink>,
  options: FlushOptions = {},
): Effect.Effect<ReadonlyArray<SinkReport>, StoreError, OutboxStore> =>
  flushEach(sinks, (sink) => flushOne(sink, options, { maxPages: Infinity }));

/** Options of {@link flushWithDeadline}. */
export interface DeadlineOptions extends FlushOptions {
  /** How long delivery may take, for all sinks together. */
  readonly maxWaitMs: number;
}

/**
 * Delivers what is pending, giving up at the deadline: what was delivered stays recorded, the
 * rest stays pending and the report of each unfinished sink says so.
 */
export const flushWithDeadline = (
  sinks: ReadonlyArray<LineageSink>,
  options: DeadlineOptions,
): Effect.Effect<ReadonlyArray<SinkReport>, StoreError, OutboxStore> =>
  flushEach(sinks, (sink) =>
    flushOne(sink, options, {
      maxPages: Infinity,
      bounded: (delivery, tally) =>
        delivery.pipe(
          Effect.timeoutOrElse({
            duration: Duration.millis(options.maxWaitMs),
            orElse: () =>
              Effect.sync(() => {
                tally.error ??= `not finished within ${options.maxWaitMs} ms`;
              }),
          }),
        ),
    }));

/** Options of {@link runRelay}. */
export interface RelayLoopOptions extends FlushOptions {
  /** Pause between flushes. @default "1 second" */
  readonly interval?: Duration.Input;
  /** Longest pause before retrying a sink that failed. @default "1 minute" */
  readonly maxBackoff?: Duration.Input;
  /** Stops the loop when aborted (between flushes, never in the middle of recording one). */
  readonly signal?: AbortSignal;
  /** Stops the loop when it completes. */
  readonly until?: Effect.Effect<unknown>;
  /** Sees the reports of each flush. */
  readonly onFlush?: (reports: ReadonlyArray<SinkReport>) => Effect.Effect<void>;
  /**
   * Delivered events older than this are pruned from the outbox, once a minute, or as often as
   * this when shorter (at most once a second).
   * @default 7 days
   */
  readonly retention?: Duration.Input;
}

/**
 * How often the relay prunes: once a minute, or as often as the retention when that is shorter
 * (at most once a second), so a short retention keeps the outbox as small as it promises.
 */
const pruneEveryMs = (retentionMs: number) => Math.min(60_000, Math.max(1_000, retentionMs));

interface Backoff {
  failures: number;
  nextAtMs: number;
}

/**
 * The background relay's pages per sink and flush: a pipeline that writes events faster than a
 * sink takes them would otherwise keep one flush going for as long as it runs, and what that
 * flush delivered would be dated delivered (and pruned) only at its end.
 */
const RELAY_MAX_PAGES = 20;

/**
 * Flushes every `interval` until stopped (`signal`, `until`, or interrupting the fiber); at once
 * again while a sink that did not fail has a backlog (its flush used all of its `maxPages`). A
 * sink that failed is retried after `interval·2^(n-1)` (n consecutive failures), at most
 * `maxBackoff`. Store errors are logged and retried; the loop itself never fails.
 */
export const runRelay = (
  sinks: ReadonlyArray<LineageSink>,
  options: RelayLoopOptions = {},
): Effect.Effect<void, never, OutboxStore> =>
  Effect.gen(function* () {
    const intervalMs = Duration.toMillis(Duration.fromInputUnsafe(options.interval ?? "1 second"));
    const maxBackoffMs = Duration.toMillis(
      Duration.fromInputUnsafe(options.maxBackoff ?? "1 minute"),
    );
    const stop = yield* Latch.make(false);
    let stopped = false;
    const halt = Effect.andThen(Effect.sync(() => (stopped = true)), stop.open);
    if (options.signal) yield* Effect.forkChild(Effect.andThen(whenAborted(options.signal), halt));
    if (options.until) yield* Effect.forkChild(Effect.andThen(options.until, halt));
    const outbox = yield* OutboxStore;
    const retentionMs = options.retention === undefined
      ? daysToMs(defaultOutboxRetentionDays)
      : Duration.toMillis(Duration.fromInputUnsafe(options.retention));
    let prunedAt = Number.NEGATIVE_INFINITY;
    const backoff = new Map<string, Backoff>(
      sinks.map((s) => [s.name, { failures: 0, nextAtMs: 0 }]),
    );
    // Where that fails, each sink still becomes known at its first compaction.
    yield* knowSinks(sinks).pipe(
      Effect.catch((e) => Effect.logWarning(`lineage relay: ${e.operation}: ${e.message}`)),
    );
    while (!stopped) {
      const now = yield* Clock.currentTimeMillis;
      const due = sinks.filter((s) => backoff.get(s.name)!.nextAtMs <= now);
      const flushes = yield* Effect.forEach(due, (sink) =>
        flushOne(sink, options, { maxPages: RELAY_MAX_PAGES, countUpToOnePage: true }).pipe(
          Effect.catch((e) =>
            Effect.logWarning(`lineage relay: ${sink.name}: ${e.operation}: ${e.message}`).pipe(
              Effect.as<SinkFlush>({
                report: {
                  sink: sink.name,
                  delivered: 0,
                  pending: 0,
                  deadLettered: 0,
                  error: e.message,
                },
                backlog: false,
              }),
            )
          ),
        ), { concurrency: "unbounded" });
      const reports = flushes.map((f) =>
        f.report
      );
      for (const r of reports) {
        const b = backoff.get(r.sink)!;
        b.failures = r.error === undefined ? 0 : b.failures + 1;
        b.nextAtMs = b.failures === 0
          ? 0
          : now + Math.min(maxBackoffMs, intervalMs * 2 ** (b.failures - 1));
      }
      if (options.onFlush) {
        yield* options.onFlush(reports);
      }
      if (outbox.prune && now - prunedAt >= pruneEveryMs(retentionMs)) {
        prunedAt = now;
        yield* outbox.prune(retentionMs).pipe(
          Effect.catch((e) =>
            Effect.logWarning(`lineage relay: ${e.operation}: ${e.message}`)
          ),
        );
      }
      // A sink left with a backlog (its flush used all its pages) is flushed again at once;
      // otherwise the loop waits for the next interval, also when jobs wrote events meanwhile.
      // Flushed at once, a few events at a time, each flush's own statements (its lease, its
      // page, its records) competed with the jobs for the store: the default 20-document run
      // flushed 14 times instead of 4.
      const behind = flushes.some(({ report, backlog }) =>
        report.error === undefined && report.pending > 0 && backlog
      );
      if (!stopped && !behind) {
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(intervalMs)), stop.await);
      }
    }
  });
