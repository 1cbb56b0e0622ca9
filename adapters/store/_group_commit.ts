/**
 * Group commit: writes handed in by many concurrent jobs are committed together, in one
 * transaction (or one statement, which needs none), instead of one round trip (and one commit)
 * each. Each caller still waits for its own write to be durable, so a stage's next step starts
 * only after its transition committed.
 *
 * A batch starts on the next immediate when no flush is in flight; writes that arrive while one
 * is in flight wait for it and go together in the next (up to `maxBatch`). So a lone job pays no
 * linger (an immediate, not a timer: timers are clamped, 2 ms and more at every transition), and
 * under load the batch grows with the number of jobs waiting. The immediate lets what is already
 * queued run first: Effect yields a busy fiber on an immediate too, so jobs out of step with each
 * other still share a batch (the 20 bundled records at 16 jobs in flight: 39-43 statements of
 * stage writes, 28 after, the fewest their 16 jobs and then 4 allow). Reads that every job makes
 * at the same point (its checkpoints when its run starts) batch the same way.
 *
 * On the embedded database a statement is a call into WebAssembly that resolves without going
 * through the event loop, so jobs whose stages do no I/O of their own go from commit to commit
 * on promise callbacks alone: timers (stage timeouts, lease renewal, the relay's interval,
 * progress output) and I/O callbacks would wait until the whole run ended. A timer set when
 * flushing starts tells whether the event loop turned since; when it has not for `turnMs`, the
 * next batch waits for one turn first.
 *
 * @module
 */
import type { SqlClient, SqlExecutor } from "./sql_client.ts";

interface Pending<W, R> {
  readonly write: W;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** How a group commit writes its batches, and each write alone. */
export interface GroupCommitSpec<W, R> {
  /** Commits many writes in the caller's transaction; returns their results in order. */
  readonly batch: (tx: SqlExecutor, writes: ReadonlyArray<W>) => Promise<ReadonlyArray<R>>;
  /** Commits one write on its own (a batch of one, and each write of a batch that failed). */
  readonly single: (db: SqlClient, write: W) => Promise<R>;
  /**
   * Whether `batch` makes these writes in one statement, which is atomic on its own: such a
   * batch runs without a transaction around it (no BEGIN and COMMIT round trips). @default never
   */
  readonly oneStatement?: (writes: ReadonlyArray<W>) => boolean;
  /** The most writes one batch takes. @default 512 */
  readonly maxBatch?: number;
  /**
   * The longest the group commit flushes without letting the event loop turn (timers, I/O).
   * @default 50
   */
  readonly turnMs?: number;
}

// One turn of the event loop: timers and I/O callbacks that are due run first. A zero-delay timer,
// not an immediate: an immediate costs 0.03 ms against the timer's 2 (timers are clamped), but
// Deno polls I/O only a little between immediates. With the relay posting to its sink while jobs
// committed, a 750 KB batch request took 6-14 s to an in-process server instead of 0.1 s, and the
// relay fell ever further behind; a stage's own HTTP calls would starve the same way.
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Whether the event loop has not turned for `turnMs`: a timer is set when none is waiting, and
 * the loop has turned once it ran.
 */
const turnWatch = (turnMs: number) => {
  let waitingSince: number | undefined;
  return (): boolean => {
    const now = performance.now();
    if (waitingSince === undefined) {
      waitingSince = now;
      setTimeout(() => waitingSince = undefined, 0);
      return false;
    }
    return now - waitingSince >= turnMs;
  };
};

/** Hands a write to the group commit; resolves once it committed, with its result. */
export type GroupCommit<W, R> = (write: W) => Promise<R>;

/**
 * A group commit over `db`. A batch that fails (one write's data refused, a deadlock, a lost
 * connection) is rolled back and each of its writes is tried again alone, so a write fails only
 * for what is wrong with it, never for its neighbours.
 */
export const makeGroupCommit = <W, R>(
  db: SqlClient,
  spec: GroupCommitSpec<W, R>,
): GroupCommit<W, R> => {
  const maxBatch = spec.maxBatch ?? 512;
  const starved = turnWatch(spec.turnMs ?? 50);
  const queue: Array<Pending<W, R>> = [];
  let flushing = false;

  const settleAlone = async (p: Pending<W, R>) => {
    try {
      p.resolve(await spec.single(db, p.write));
    } catch (e) {
      p.reject(e);
    }
  };

  const commit = async (batch: ReadonlyArray<Pending<W, R>>) => {
    if (batch.length === 1) return await settleAlone(batch[0]);
    const writes = batch.map((p) => p.write);
    let results: ReadonlyArray<R>;
    try {
      results = spec.oneStatement?.(writes)
        ? await spec.batch(db, writes)
        : await db.transaction((tx) => spec.batch(tx, writes));
    } catch {
      for (const p of batch) await settleAlone(p);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
  };

  const flush = async () => {
    flushing = true;
    try {
      while (queue.length > 0) {
        if (starved()) await nextTurn();
        await commit(queue.splice(0, maxBatch));
      }
    } finally {
      flushing = false;
    }
  };

  return (write) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ write, resolve, reject });
      // Started on an immediate, so writes handed in by the same turn, and by fibers and I/O
      // callbacks already queued, share the first batch.
      if (!flushing) {
        flushing = true;
        setImmediate(() => void flush());
      }
    });
};

/**
 * Splits a batch into rounds in which each key (a job) appears at most once, its writes in the
 * order they were handed in: one statement changes a row once, so two writes of one job in the
 * same batch need two statements. Returns the indexes of each round's writes.
 */
const rounds = <W>(
  writes: ReadonlyArray<W>,
  keyOf: (write: W) => string,
): Array<Array<number>> => {
  const out: Array<Array<number>> = [];
  const seen = new Map<string, number>();
  writes.forEach((w, i) => {
    const round = seen.get(keyOf(w)) ?? 0;
    seen.set(keyOf(w), round + 1);
    (out[round] ??= []).push(i);
  });
  return out;
};

/**
 * One multi-row statement over the JSON recordset in `$1`, run once per round of `writes` (each
 * key at most once per statement): `rowOf` gives each write's row and `paramsOf` the statement's
 * parameters after `$1` for a round's writes (the bulk of what they write, as arrays).
 */
export interface RoundedStatement<W> {
  readonly sql: string;
  readonly writes: ReadonlyArray<W>;
  readonly keyOf: (write: W) => string;
  readonly rowOf: (write: W) => { readonly i: number };
  readonly paramsOf?: (writes: ReadonlyArray<W>) => ReadonlyArray<unknown>;
}

// Runs the statement once per round; hands each run's rows to `collect`.
const eachRound = async <W, Row>(
  tx: SqlExecutor,
  { sql, writes, keyOf, rowOf, paramsOf = () => [] }: RoundedStatement<W>,
  collect: (rows: ReadonlyArray<Row>) => void,
): Promise<void> => {
  for (const round of rounds(writes, keyOf)) {
    const inRound = round.map((r) => writes[r]);
    collect(await tx.query<Row>(sql, [JSON.stringify(inRound.map(rowOf)), ...paramsOf(inRound)]));
  }
};

/**
 * Runs `statement`, which returns a row with the `i` of each write it applied; so does this, by
 * `i`.
 */
export const applyInRounds = async <W, Row extends { readonly i: number } = { readonly i: number }>(
  tx: SqlExecutor,
  statement: RoundedStatement<W>,
): Promise<ReadonlyMap<number, Row>> => {
  const applied = new Map<number, Row>();
  await eachRound<W, Row>(tx, statement, (rows) => {
    for (const row of rows) applied.set(row.i, row);
  });
  return applied;
};

/** Whether `writes` make one round (no key twice): one run of a {@link RoundedStatement}. */
export const oneRound = <W>(writes: ReadonlyArray<W>, keyOf: (write: W) => string): boolean =>
  rounds(writes, keyOf).length <= 1;

/**
 * Runs `statement`, which only says which writes it applied: one row whose `applied` holds their
 * `i` (`select array_agg(i) as applied from …`; null when none). One row per statement instead
 * of one per write: each row is a message out of the database, a call from WebAssembly into
 * JavaScript and a buffer to parse there.
 */
export const appliedInRounds = async <W>(
  tx: SqlExecutor,
  statement: RoundedStatement<W>,
): Promise<ReadonlySet<number>> => {
  const applied = new Set<number>();
  await eachRound<W, { applied: number[] | null }>(tx, statement, (rows) => {
    for (const row of rows) for (const i of row.applied ?? []) applied.add(i);
  });
  return applied;
};
