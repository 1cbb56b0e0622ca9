/**
 * The relay's work for one sink: read what the sink has not settled, hand it over job by job
 * (several jobs at once when the sink allows), and record each answer as soon as it comes.
 *
 * @module
 */
import { Clock, Duration, Effect, Fiber } from "effect";
import { keepRenewing } from "./lease_renewal.ts";
import { type OutboxRow, OutboxStore, type StoreError } from "./outbox.ts";
import { type LineageSink, SinkError } from "./sink.ts";
import { type RelaySink, type Settlement, settleWith } from "./settlement.ts";
import {
  type DeadLetter,
  hasDeliveryLog,
  noDeliveryLog,
  type OutboxWithDeliveryLog,
} from "./delivery_log.ts";
import type { SinkReport } from "./relay.ts";
import { countSettled } from "./delivery_metrics.ts";

/** What a flush did so far for one sink; read at a deadline too. */
export interface Tally {
  delivered: number;
  deadLettered: number;
  error?: string;
  /** The flush ended at its page limit on a full page: more was waiting than it read. */
  backlog?: boolean;
}

const deliveryLog: Effect.Effect<OutboxWithDeliveryLog, StoreError, OutboxStore> = Effect.gen(
  function* () {
    const outbox = yield* OutboxStore;
    return hasDeliveryLog(outbox) ? outbox : yield* Effect.fail(noDeliveryLog());
  },
);

// Events of one job stay together and in order; jobs are independent of each other. For a sink
// that says how many events one call takes (`maxBatch` above 1), jobs are packed whole into
// batches of up to that many (a longer job is a group of its own, handed over in order), which
// may go at once; else each job is a group of its own.
const partitions = (
  rows: ReadonlyArray<OutboxRow>,
  concurrency: number,
  maxBatch: number,
): OutboxRow[][] => {
  if (concurrency <= 1) return [[...rows]];
  const byJob = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const key = row.jobId ?? `run:${row.runId}`;
    const rowsOfJob = byJob.get(key);
    if (rowsOfJob) rowsOfJob.push(row);
    else byJob.set(key, [row]);
  }
  if (maxBatch <= 1) return [...byJob.values()];
  const batches: OutboxRow[][] = [];
  let open: OutboxRow[] = [];
  for (const rowsOfJob of byJob.values()) {
    if (open.length > 0 && open.length + rowsOfJob.length > maxBatch) {
      batches.push(open);
      open = [];
    }
    open.push(...rowsOfJob);
  }
  if (open.length > 0) batches.push(open);
  return batches;
};

const chunks = (rows: ReadonlyArray<OutboxRow>, size: number): OutboxRow[][] => {
  const out: OutboxRow[][] = [];
  for (let i = 0; i < rows.length; i += Math.max(1, size)) out.push(rows.slice(i, i + size));
  return out;
};

const record = (
  round: Round,
  rows: ReadonlyArray<OutboxRow>,
  settlement: Settlement,
): Effect.Effect<void, StoreError> => {
  const { log, tally } = round;
  const sink = round.sink.name;
  const bySeq = new Map(rows.map((r) => [r.seq, r]));
  const delivered: number[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const { seq, outcome } of settlement.settled) {
    const row = bySeq.get(seq);
    if (!row) continue;
    if (outcome._tag === "Delivered") delivered.push(seq);
    else {
      deadLetters.push({
        seq,
        runId: row.runId,
        jobId: row.jobId,
        status: outcome.status,
        reason: outcome.reason,
      });
    }
  }
  if (delivered.length + deadLetters.length === 0) return Effect.void;
  return log.settle(sink, { delivered, deadLetters }).pipe(
    Effect.tap(() =>
      Effect.sync(() => {
        tally.delivered += delivered.length;
        tally.deadLettered += deadLetters.length;
        for (const seq of delivered) round.settledSeqs.add(seq);
        for (const { seq } of deadLetters) round.settledSeqs.add(seq);
      })
    ),
    Effect.tap(() => countSettled(sink, delivered.length, deadLetters.length)),
  );
};

interface Round {
  readonly log: OutboxWithDeliveryLog;
  readonly sink: RelaySink;
  readonly settle: (events: ReadonlyArray<OutboxRow>) => Effect.Effect<Settlement>;
  readonly tally: Tally;
  /** The events of the page in hand that this flush settled. */
  readonly settledSeqs: Set<number>;
  stopped: boolean;
}

const deliverPartition = (round: Round, rows: ReadonlyArray<OutboxRow>) =>
  Effect.forEach(
    chunks(rows, round.sink.maxBatch ?? rows.length),
    (chunk) =>
      round.stopped ? Effect.void : Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          // Only the hand-over can be interrupted; once the sink has answered, the answer is
          // recorded, so an event the sink took is never handed over again.
          const settlement = yield* restore(round.settle(chunk)).pipe(
            // A sink that throws is a sink that failed: its events stay pending.
            Effect.catchDefect((defect) =>
              Effect.succeed<Settlement>({
                settled: [],
                error: new SinkError({
                  sink: round.sink.name,
                  message: `the sink crashed: ${defect instanceof Error ? defect.message : defect}`,
                  retryable: true,
                }),
              })
            ),
          );
          yield* record(round, chunk, settlement);
          if (settlement.error) {
            round.stopped = true;
            round.tally.error = settlement.error.message;
          } else if (settlement.settled.length === 0) {
            round.stopped = true;
            round.tally.error = `settled none of ${chunk.length} events`;
          }
        })
      ),
    { discard: true },
  );

/** How long a sink's lease lasts unless renewed, and how often its holder renews it. */
const LEASE_MS = 60_000;
const RENEW_EVERY_MS = 20_000;
const BUSY_RETRY = Duration.millis(100);

/**
 * Waits for the sink's lease (another relay delivering to it gives it back when its flush ends),
 * at most as long as a lease lasts: a sink still busy then is left to the relay holding it.
 * Returns whether the lease was taken.
 */
const takeLease = (log: OutboxWithDeliveryLog, sink: string, holder: string, tally: Tally) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis;
    while (!(yield* log.claim(sink, holder, LEASE_MS))) {
      if ((yield* Clock.currentTimeMillis) - start >= LEASE_MS) {
        tally.error = "another relay is delivering to this sink";
        return false;
      }
      yield* Effect.sleep(BUSY_RETRY);
    }
    return true;
  });

// Renews the lease while the flush works. A lease lost (another relay took the sink) or that
// could not be renewed stops the flush after the hand-over in progress: delivering on without
// it could hand events to the sink twice.
const keepLease = (round: Round, holder: string) =>
  Effect.gen(function* () {
    const loss = yield* keepRenewing(round.log.claim(round.sink.name, holder, LEASE_MS), {
      everyMs: RENEW_EVERY_MS,
      graceMs: 0,
    });
    round.stopped = true;
    round.tally.error = loss.reason === "unrenewable"
      ? `the sink's lease could not be renewed: ${loss.error.message}`
      : "another relay took over the sink";
  });

/**
 * Delivers what is pending to one sink, recording each settled event. One relay at a time
 * delivers to a sink (a lease in the store), so concurrent flushes never hand it an event twice.
 */
export const flushSink = (
  sink: LineageSink,
  batchSize: number,
  maxPages: number,
  tally: Tally,
): Effect.Effect<void, StoreError, OutboxStore> =>
  Effect.gen(function* () {
    const log = yield* deliveryLog;
    const relaySink: RelaySink = sink;
    const round: Round = {
      log,
      sink: relaySink,
      settle: settleWith(relaySink),
      tally,
      settledSeqs: new Set(),
      stopped: false,
    };
    const holder = crypto.randomUUID();
    if (!(yield* takeLease(log, sink.name, holder, tally))) return;
    const renewal = yield* Effect.forkChild(keepLease(round, holder));
    yield* deliverPending(round, batchSize, maxPages).pipe(
      Effect.ensuring(
        Effect.andThen(
          Fiber.interrupt(renewal),
          log.release(sink.name, holder).pipe(Effect.ignore),
        ),
      ),
    );
  });

/**
 * Pages a flush delivers between two compactions. A flush of a long backlog (`deno task lineage
 * flush`, the end of a run) compacted only at its end: every event it delivered waited to be
 * dated (or deleted) in one statement, and its delivery records piled up (200,000 after a
 * 20,000-document run), the process's memory rising by about 30 MB on the way.
 */
const COMPACT_EVERY_PAGES = 20;

const deliverPending = (
  round: Round,
  batchSize: number,
  maxPages: number,
): Effect.Effect<void, StoreError> =>
  Effect.gen(function* () {
    const { log, sink } = round;
    const concurrency = sink.concurrency ?? 1;
    // Each page is read after the last event before which this flush settled everything: its
    // settled events stay undelivered until `compact`, and reading them again page after page
    // would make a long flush quadratic. An event left unsettled is read again first, so a
    // run's events still reach the sink in order.
    let after = 0;
    for (let page = 0; page < maxPages && !round.stopped; page++) {
      const rows = yield* log.pendingFor(sink.name, sink.channels, batchSize, after);
      if (rows.length === 0) break;
      const accepts = sink.accepts ?? (() => true);
      const readable = rows.filter((r) => r.unreadable === undefined);
      const refused = readable.filter((r) => !accepts(r)).map((r) => r.seq);
      if (refused.length > 0) yield* log.settle(sink.name, { skipped: refused });
      round.settledSeqs.clear();
      for (const seq of refused) round.settledSeqs.add(seq);
      // An event the store cannot read back is no sink's to judge: a dead letter at once.
      yield* record(round, rows, {
        settled: rows.flatMap((r) =>
          r.unreadable === undefined
            ? []
            : [{ seq: r.seq, outcome: { _tag: "Rejected" as const, reason: r.unreadable } }]
        ),
      });
      yield* Effect.forEach(
        partitions(readable.filter(accepts), concurrency, sink.maxBatch ?? 1),
        (rows) => deliverPartition(round, rows),
        { concurrency, discard: true },
      );
      const open = rows.find((r) => !round.settledSeqs.has(r.seq));
      after = open ? Math.max(after, open.seq - 1) : rows.at(-1)!.seq;
      if (rows.length < batchSize) break;
      if (page === maxPages - 1) round.tally.backlog = true;
      else if ((page + 1) % COMPACT_EVERY_PAGES === 0) {
        yield* log.compact(sink.name, sink.channels, after);
      }
    }
    // Everything up to `after` is settled: the search for the first unsettled event starts there.
    yield* log.compact(sink.name, sink.channels, after);
  });

/**
 * Makes every sink of a relay known to the store before it delivers to any of them (see
 * DeliveryLogShape.know).
 */
export const knowSinks = (
  sinks: ReadonlyArray<LineageSink>,
): Effect.Effect<void, StoreError, OutboxStore> =>
  Effect.gen(function* () {
    const log = yield* deliveryLog;
    yield* log.know(sinks.map((sink) => ({ name: sink.name, channels: sink.channels })));
  });

/** Whether the sink has nothing to do, where the store can tell (see DeliveryLogShape.quiet). */
export const isQuiet = (sink: LineageSink): Effect.Effect<boolean, StoreError, OutboxStore> =>
  Effect.gen(function* () {
    const log = yield* deliveryLog;
    return log.quiet === undefined ? false : yield* log.quiet(sink.name, sink.channels);
  });

/**
 * The report of one sink after a flush; its pending events counted up to `countUpTo` when given
 * (the background relay, which flushes a sink with a backlog again at once).
 */
export const reportOf = (
  sink: LineageSink,
  tally: Tally,
  countUpTo?: number,
): Effect.Effect<SinkReport, StoreError, OutboxStore> =>
  Effect.gen(function* () {
    const log = yield* deliveryLog;
    const counts = yield* log.counts(sink.name, sink.channels, countUpTo);
    return {
      sink: sink.name,
      delivered: tally.delivered,
      pending: counts.pending,
      ...(counts.pendingAtLeast ? { pendingAtLeast: true } : {}),
      deadLettered: tally.deadLettered,
      ...(tally.error !== undefined ? { error: tally.error } : {}),
    } satisfies SinkReport;
  });
