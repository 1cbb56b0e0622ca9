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
import { appliedInRounds, type GroupCommit, makeGroupCommit, oneRound } from "./_group_commit.ts";
import { type JsonTexts, jsonTextsFor, outboxInsertFrom, outboxParams } from "./sql_outbox.ts";

/** One stage transition of one run. */
export interface StageWrite {
  readonly jobId: string;
  readonly runNumber: number;
  readonly change: StageChange;
  readonly events: ReadonlyArray<OutboxEvent>;
}

// The row of one write in the batch statement's `jsonb_to_recordset`; its events and checkpoint
// go as arrays (see writeBatch).
const batchRow = ({ jobId, runNumber, change }: StageWrite, i: number) => ({
  i,
  job_id: jobId,
  run_number: runNumber,
  kind: change.kind,
  stage: change.stage,
  ...(change.kind === "succeeded"
    ? {
      pdf_downloaded: change.effects?.pdfDownloaded ?? null,
      pdf: change.effects?.pdf ?? null,
    }
    : {}),
  ...(change.kind === "failed" ? { will_retry: change.willRetry } : {}),
});

const bumpOf = (field: "attempts" | "retries") =>
  `jsonb_set(t.${field}, array[o.stage], to_jsonb(coalesce((t.${field}->>o.stage)::int, 0) + 1))`;

// The four transitions (started, succeeded, failed, aborted) of many jobs (each at most once): the
// rows of the jobs the runs still own are locked in job order (so two batches never wait on each
// other in a cycle), then each change applies to its own row only. A run that lost its job
// (another process took it over) changes nothing and adds no event; the row is read again after
// waiting for its lock, so a take-over that commits meanwhile is seen. A started stage counts an
// attempt and becomes the job's current stage; a failure that will be retried counts a retry; a
// success records its checkpoint and what it did to the job (a downloaded PDF).
const batchSql = (texts: JsonTexts) =>
  `with b as (
    select * from jsonb_to_recordset($1::jsonb) as b(i int, job_id text, run_number int,
      kind text, stage text, pdf_downloaded boolean, pdf jsonb, will_retry boolean)),
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
    select o.job_id, o.stage, o.run_number, x.output::text
    from rows from (unnest($6::int[]), ${texts.from(7)}) as x(i, output) join o on o.i = x.i
    where o.kind = 'succeeded'
    on conflict (job_id, stage) do update set output = excluded.output,
      run_number = excluded.run_number, created_at = now()),
  ob as (${outboxInsertFrom("o", 2, texts)})
  select array_agg(i) as applied from o`;

// $2-$5: the events of each write; $6, $7: the checkpoint of each write that succeeded.
const batchParams = (writes: ReadonlyArray<{ w: StageWrite; i: number }>, texts: JsonTexts) => {
  const succeeded = writes.flatMap(({ w, i }) =>
    w.change.kind === "succeeded" ? [{ i, output: JSON.stringify(w.change.output) }] : []
  );
  return [
    ...outboxParams(writes.map(({ w, i }) => ({ i, events: w.events })), texts),
    succeeded.map((s) => s.i),
    texts.param(succeeded.map((s) => s.output)),
  ];
};

// One statement per round: atomic on its own, so a lone write needs no transaction around it.
const writeBatch = (texts: JsonTexts, sql: string) =>
async (
  tx: SqlExecutor,
  writes: ReadonlyArray<StageWrite>,
): Promise<ReadonlyArray<boolean>> => {
  const owned = await appliedInRounds(tx, {
    sql,
    writes: writes.map((w, i) => ({ w, i })),
    keyOf: ({ w }) => w.jobId,
    rowOf: ({ w, i }) => batchRow(w, i),
    paramsOf: (round) => batchParams(round, texts),
  });
  return writes.map((_, i) => owned.has(i));
};

/**
 * The stage writer of one store: resolves to whether the run still owned the job (a refused write
 * changed nothing), or rejects with what the database said about this write alone.
 */
export const makeStageWriter = (db: SqlClient): GroupCommit<StageWrite, boolean> => {
  const texts = jsonTextsFor(db.dialect);
  const batch = writeBatch(texts, batchSql(texts));
  return makeGroupCommit(db, {
    batch,
    single: async (db, write) => (await batch(db, [write]))[0],
    oneStatement: (writes) => oneRound(writes, (w) => w.jobId),
  });
};
