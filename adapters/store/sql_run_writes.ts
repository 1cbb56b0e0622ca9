/**
 * The start and the end of runs in SQL, through the store's group commit like stage transitions:
 * the claims and the ends of many jobs' runs share a transaction and one multi-row statement.
 *
 * Each stays a compare-and-set on the job's locked row: a claim applies only when the job is at
 * the expected run number in a status it may be claimed from, an end only while the run still
 * owns the job; a write that does not apply changes nothing and adds no event.
 *
 * @module
 */
import type { BeginRun, FinishRun } from "../../pipelines/ledger.ts";
import type { OutboxEvent } from "../../lineage/outbox.ts";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { appliedInRounds, type GroupCommit, makeGroupCommit, oneRound } from "./_group_commit.ts";
import { type JsonTexts, jsonTextsFor, outboxInsertFrom, outboxParams } from "./sql_outbox.ts";

/** A run's start or end, with the events that describe it. */
export interface RunWrite<I> {
  readonly input: I;
  readonly events: ReadonlyArray<OutboxEvent>;
}

// The events of the rows in `p` ($2-$5), in the order of the batch and then of each write.
const outboxFromP = (texts: JsonTexts) => `ob as (${outboxInsertFrom("p", 2, texts)})`;

const HISTORY_FROM_P = (to: string, stage: string) =>
  `h as (insert into lk_job_history (job_id, run_number, from_status, to_status, stage, reason)
    select p.job_id, p.run_number, p.prev_status, ${to}, ${stage}, p.reason from p order by p.i)`;

// A claim of a job that is not running: the row is locked (in job order, so two batches never
// wait on each other in a cycle) and checked, then the run begins. A running job (its lease ran
// out: a take-over) needs the events of the runs its process left open, which are made from the
// locked row: those are left to the caller, one by one.
const beginSql = (texts: JsonTexts) =>
  `with b as (
    select * from jsonb_to_recordset($1::jsonb) as b(i int, job_id text, run_number int,
      at timestamptz, from_statuses jsonb, lease_owner text, lease_ms int, reason text)),
  p as (select b.*, j.status as prev_status from b join lk_jobs j on j.job_id = b.job_id
          and j.run_number = b.run_number - 1 and j.status <> 'running'
          and b.from_statuses @> to_jsonb(j.status)
        order by j.job_id for update of j),
  u as (update lk_jobs t set status = 'running', run_number = p.run_number,
      run_created_at = p.at, resumes = 0, current_stage = null, attempts = '{}'::jsonb,
      retries = '{}'::jsonb, error = null, finished_at = null, updated_at = now(),
      lease_owner = p.lease_owner,
      lease_expires_at = now() + p.lease_ms * interval '1 millisecond'
    from p where t.job_id = p.job_id),
  ${HISTORY_FROM_P("'running'", "null")},
  ${outboxFromP(texts)}
  select array_agg(i) as applied from p`;

const beginRow = ({ input }: RunWrite<BeginRun>, i: number) => ({
  i,
  job_id: input.jobId,
  run_number: input.runNumber,
  at: input.at.toISOString(),
  from_statuses: input.from,
  lease_owner: input.lease?.owner ?? null,
  lease_ms: input.lease ? Math.round(input.lease.ttlMs) : null,
  reason: input.reason,
});

/** A claim done alone in the caller's transaction (a fresh re-run, a take-over). */
export type BeginAlone = (
  tx: SqlExecutor,
  input: BeginRun,
  events: ReadonlyArray<OutboxEvent>,
) => Promise<boolean>;

// A fresh re-run clears the job's checkpoints and artifacts first: it goes alone.
const batchable = ({ input }: RunWrite<BeginRun>) => !input.fresh;

// A claim that may go on alone after the statement: a fresh re-run, or one that may take over a
// running job (a worker's, which another worker may have claimed first).
const mayGoAlone = (w: RunWrite<BeginRun>) => !batchable(w) || w.input.from.includes("running");

// Locks rows in job order, as every batch statement does; a claim alone then waits for no lock.
const LOCK_JOBS =
  "select job_id from lk_jobs where job_id = any($1::text[]) order by job_id for update";

// How one store's claims are written. `lockFirst`: false on PGlite, whose one connection has no
// other transaction to wait for.
interface BeginBatch {
  readonly alone: BeginAlone;
  readonly lockFirst: boolean;
  readonly texts: JsonTexts;
  readonly sql: string;
}

const beginBatch = ({ alone, lockFirst, texts, sql }: BeginBatch) =>
async (
  tx: SqlExecutor,
  writes: ReadonlyArray<RunWrite<BeginRun>>,
): Promise<ReadonlyArray<boolean>> => {
  // Claims alone lock their job's row after the statement locked the others: two batches could
  // then each wait for a row the other holds (deadlock). Locking every row of the batch first, in
  // job order, leaves nothing to wait for later.
  if (lockFirst && writes.length > 1 && writes.some(mayGoAlone)) {
    await tx.query(LOCK_JOBS, [writes.map((w) => w.input.jobId)]);
  }
  const inBatch = writes.flatMap((w, i) => batchable(w) ? [i] : []);
  const applied = await appliedInRounds(tx, {
    sql,
    writes: inBatch,
    keyOf: (i) => writes[i].input.jobId,
    rowOf: (i) => beginRow(writes[i], i),
    paramsOf: (round) => outboxParams(round.map((i) => ({ i, events: writes[i].events })), texts),
  });
  const begun = writes.map((_, i) => applied.has(i));
  // What the statement left: fresh re-runs, and claims that may take over a running job.
  for (const [i, w] of writes.entries()) {
    if (begun[i] || !mayGoAlone(w)) continue;
    begun[i] = await alone(tx, w.input, w.events);
  }
  return begun;
};

/** The run claims of one store; `alone` claims what the batch statement leaves. */
export const makeBeginWriter = (
  db: SqlClient,
  alone: BeginAlone,
): GroupCommit<RunWrite<BeginRun>, boolean> => {
  const texts = jsonTextsFor(db.dialect);
  const spec = { alone, texts, sql: beginSql(texts) };
  const single = beginBatch({ ...spec, lockFirst: false });
  return makeGroupCommit(db, {
    batch: beginBatch({ ...spec, lockFirst: db.dialect !== "pglite" }),
    single: (db, w) => db.transaction((tx) => single(tx, [w]).then(([r]) => r)),
  });
};

// The end of runs that still own their jobs (and, with `from`, are in one of those statuses).
// Paused or ended, the job holds no lease.
const finishSql = (texts: JsonTexts) =>
  `with b as (
    select * from jsonb_to_recordset($1::jsonb) as b(i int, job_id text, run_number int,
      status text, error jsonb, stage text, reason text, at timestamptz, from_statuses jsonb)),
  p as (select b.*, j.status as prev_status from b join lk_jobs j on j.job_id = b.job_id
          and j.run_number = b.run_number
          and (b.from_statuses is null or b.from_statuses @> to_jsonb(j.status))
        order by j.job_id for update of j),
  u as (update lk_jobs t set status = p.status, error = p.error, updated_at = now(),
      lease_owner = null, lease_expires_at = null,
      finished_at = case when p.status <> 'paused' then p.at else null end,
      paused_at = case when p.status <> 'paused' then t.paused_at else p.at end,
      current_stage = coalesce(p.stage, t.current_stage)
    from p where t.job_id = p.job_id),
  ${HISTORY_FROM_P("p.status", "p.stage")},
  ${outboxFromP(texts)}
  select array_agg(i) as applied from p`;

const finishRow = ({ input }: RunWrite<FinishRun>, i: number) => ({
  i,
  job_id: input.jobId,
  run_number: input.runNumber,
  status: input.status,
  error: input.error ?? null,
  stage: input.stage ?? null,
  reason: input.reason,
  at: input.at.toISOString(),
  from_statuses: input.from ?? null,
});

const finishBatch = (texts: JsonTexts, sql: string) =>
async (
  tx: SqlExecutor,
  writes: ReadonlyArray<RunWrite<FinishRun>>,
): Promise<ReadonlyArray<boolean>> => {
  const ended = await appliedInRounds(tx, {
    sql,
    writes: writes.map((w, i) => ({ w, i })),
    keyOf: ({ w }) => w.input.jobId,
    rowOf: ({ w, i }) => finishRow(w, i),
    paramsOf: (round) => outboxParams(round.map(({ w, i }) => ({ i, events: w.events })), texts),
  });
  return writes.map((_, i) => ended.has(i));
};

/** The ends of runs of one store; a lone one is a single statement. */
export const makeFinishWriter = (db: SqlClient): GroupCommit<RunWrite<FinishRun>, boolean> => {
  const texts = jsonTextsFor(db.dialect);
  const batch = finishBatch(texts, finishSql(texts));
  return makeGroupCommit(db, {
    batch,
    single: (db, w) => batch(db, [w]).then(([r]) => r),
    oneStatement: (writes) => oneRound(writes, (w) => w.input.jobId),
  });
};
