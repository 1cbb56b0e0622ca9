/**
 * Stage transitions in SQL: each is the ledger change, the stage's checkpoint and the events that
 * describe it, written only while the run still owns the job. Transitions from all the jobs in
 * flight go through one group commit: many of them per transaction, one multi-row statement for
 * every job's first write of the batch (a job with two parallel stages writing at once has its
 * second write in a second statement of the same transaction).
 *
 * @module
 */
import type { StageChange } from "../../pipelines/ledger.ts";
import type { OutboxEvent } from "../../lineage/outbox.ts";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { applyInRounds, type GroupCommit, makeGroupCommit } from "./_group_commit.ts";
import { outboxInsertFrom, outboxRecords } from "./sql_outbox.ts";

/** One stage transition of one run. */
export interface StageWrite {
  readonly jobId: string;
  readonly runNumber: number;
  readonly change: StageChange;
  readonly events: ReadonlyArray<OutboxEvent>;
}

const bump = (field: "attempts" | "retries") =>
  `${field} = jsonb_set(${field}, array[$2::text], to_jsonb(coalesce((${field}->>$2)::int, 0) + 1))`;

// The outbox insert as the last part of a single statement ($job and $events are parameters),
// made only where `guard` holds. `clock_timestamp()` dates each row when its number is taken
// (see sql_outbox.ts).
const outboxInsert = (job: string, events: string, guard = "true") =>
  `insert into lk_outbox (channel, run_id, job_id, payload, created_at)
   select e.value->>'channel', e.value->>'run_id', ${job}, e.value->'payload', clock_timestamp()
   from jsonb_array_elements(${events}::jsonb) with ordinality as e(value, n)
   where ${guard} order by e.n`;

// The run (run number in parameter $n) still owns the job: a run that lost it (another process
// took the job over) changes nothing and adds no event. The row is locked (and, after waiting
// for a concurrent take-over, read again) before the check, so a take-over that commits while
// this statement waits is seen.
const ownerCte = (n: number) =>
  `o as (select 1 from lk_jobs where job_id = $1 and run_number = $${n} and status = 'running'
         for update)`;
const OWNED = "exists (select 1 from o)";

// A lone stage transition is ONE statement: the ledger change and its events in data-modifying
// CTEs, atomic without an explicit transaction. The events' insert is a CTE too, so the
// statement can end by saying whether the run still owned the job.
const OUTBOX_CTE = (insert: string) => `ob as (${insert})`;
const SELECT_OWNED = `select ${OWNED} as owned`;

const singleStatement = (
  { jobId, runNumber, change, events: list }: StageWrite,
): { sql: string; params: unknown[] } => {
  const events = JSON.stringify(outboxRecords(list));
  switch (change.kind) {
    case "started":
      return {
        sql: `with ${ownerCte(4)},
              j as (update lk_jobs set current_stage = $2, ${bump("attempts")},
                updated_at = now() where job_id = $1 and ${OWNED}),
              ${OUTBOX_CTE(outboxInsert("$1", "$3", OWNED))}
              ${SELECT_OWNED}`,
        params: [jobId, change.stage, events, runNumber],
      };
    case "succeeded":
      return {
        sql: `with ${ownerCte(6)},
              e as (update lk_jobs set pdf_downloaded = coalesce($4::boolean, pdf_downloaded),
                pdf = coalesce($5::jsonb, pdf), updated_at = now()
                where job_id = $1 and ($4::boolean is not null or $5::jsonb is not null)
                  and ${OWNED}),
              c as (insert into lk_checkpoints (job_id, stage, run_number, output)
                select $1, $2, $6, $7::jsonb where ${OWNED}
                on conflict (job_id, stage) do update set output = excluded.output,
                  run_number = excluded.run_number, created_at = now()),
              ${OUTBOX_CTE(outboxInsert("$1", "$3", OWNED))}
              ${SELECT_OWNED}`,
        params: [
          jobId,
          change.stage,
          events,
          change.effects?.pdfDownloaded ?? null,
          change.effects?.pdf ? JSON.stringify(change.effects.pdf) : null,
          runNumber,
          JSON.stringify(change.output),
        ],
      };
    case "failed":
      return {
        sql: `with ${ownerCte(5)},
              r as (update lk_jobs set ${bump("retries")}, updated_at = now()
                where job_id = $1 and $4::boolean and ${OWNED}),
              ${OUTBOX_CTE(outboxInsert("$1", "$3", OWNED))}
              ${SELECT_OWNED}`,
        params: [jobId, change.stage, events, change.willRetry, runNumber],
      };
    case "aborted":
      return {
        sql: `with ${ownerCte(3)}, ${OUTBOX_CTE(outboxInsert("$1", "$2", OWNED))}
              ${SELECT_OWNED}`,
        params: [jobId, events, runNumber],
      };
  }
};

const writeOne = async (db: SqlClient, write: StageWrite): Promise<boolean> => {
  const { sql, params } = singleStatement(write);
  const [row] = await db.query<{ owned: boolean }>(sql, params);
  return row?.owned === true;
};

// The row of one write in the batch statement's `jsonb_to_recordset`.
const batchRow = ({ jobId, runNumber, change, events }: StageWrite, i: number) => ({
  i,
  job_id: jobId,
  run_number: runNumber,
  kind: change.kind,
  stage: change.stage,
  events: outboxRecords(events),
  ...(change.kind === "succeeded"
    ? {
      output: change.output,
      pdf_downloaded: change.effects?.pdfDownloaded ?? null,
      pdf: change.effects?.pdf ?? null,
    }
    : {}),
  ...(change.kind === "failed" ? { will_retry: change.willRetry } : {}),
});

const bumpOf = (field: "attempts" | "retries") =>
  `jsonb_set(t.${field}, array[o.stage], to_jsonb(coalesce((t.${field}->>o.stage)::int, 0) + 1))`;

// The same four transitions as `singleStatement`, for many jobs (each at most once) at once: the
// rows of the jobs the runs still own are locked in job order (so two batches never wait on each
// other in a cycle), then each change applies to its own row only.
const BATCH_SQL = `with b as (
    select * from jsonb_to_recordset($1::jsonb) as b(i int, job_id text, run_number int,
      kind text, stage text, events jsonb, output jsonb, pdf_downloaded boolean, pdf jsonb,
      will_retry boolean)),
  o as (select b.* from b join lk_jobs j on j.job_id = b.job_id
          and j.run_number = b.run_number and j.status = 'running'
        order by j.job_id for update of j),
  j as (update lk_jobs t set
      current_stage = case when o.kind = 'started' then o.stage else t.current_stage end,
      attempts = case when o.kind = 'started' then ${bumpOf("attempts")} else t.attempts end,
      retries = case when o.kind = 'failed' then ${bumpOf("retries")} else t.retries end,
      pdf_downloaded = coalesce(o.pdf_downloaded, t.pdf_downloaded),
      pdf = coalesce(o.pdf, t.pdf),
      updated_at = now()
    from o where t.job_id = o.job_id and (o.kind = 'started'
      or (o.kind = 'failed' and o.will_retry)
      or (o.kind = 'succeeded' and (o.pdf_downloaded is not null or o.pdf is not null)))),
  c as (insert into lk_checkpoints (job_id, stage, run_number, output)
    select o.job_id, o.stage, o.run_number, o.output from o where o.kind = 'succeeded'
    on conflict (job_id, stage) do update set output = excluded.output,
      run_number = excluded.run_number, created_at = now()),
  ob as (${outboxInsertFrom("o")})
  select i from o`;

const writeBatch = async (
  tx: SqlExecutor,
  writes: ReadonlyArray<StageWrite>,
): Promise<ReadonlyArray<boolean>> => {
  const owned = await applyInRounds(
    tx,
    BATCH_SQL,
    writes.map((w, i) => ({ w, i })),
    ({ w }) => w.jobId,
    ({ w, i }) => batchRow(w, i),
  );
  return writes.map((_, i) => owned.has(i));
};

/**
 * The stage writer of one store: resolves to whether the run still owned the job (a refused write
 * changed nothing), or rejects with what the database said about this write alone.
 */
export const makeStageWriter = (db: SqlClient): GroupCommit<StageWrite, boolean> =>
  makeGroupCommit(db, { batch: writeBatch, single: writeOne });
