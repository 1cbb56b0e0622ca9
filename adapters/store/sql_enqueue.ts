/**
 * Enqueueing through the store's group commit: the documents of a run, enqueued together, become
 * jobs in one multi-row statement per batch (the job rows, their history and the notification
 * that wakes workers) instead of a transaction of two statements each.
 *
 * A document whose job exists already (a re-run) is left to the caller, one by one in the same
 * transaction: what happens to it depends on the job's state. A document enqueued alone goes
 * through the same statement.
 *
 * @module
 */
import type { EnqueueInput } from "../../pipelines/ledger.ts";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { applyInRounds, type GroupCommit, makeGroupCommit } from "./_group_commit.ts";

/** One document to enqueue, with the ids its job gets. */
export interface EnqueueWrite {
  readonly input: EnqueueInput;
  readonly jobId: string;
  readonly docId: string;
  readonly correlationId: string;
}

/** The channel a new job is announced on, with its tenant as the payload. */
export const QUEUED_CHANNEL = "lk_jobs_queued";

/** New jobs and their history. The notification is delivered at commit, once per tenant. */
const ENQUEUE_SQL = `with b as (
    select * from jsonb_to_recordset($1::jsonb) as b(i int, job_id text, tenant_id text,
      doc_key text, source text, pipeline text, pipeline_version text, request jsonb,
      correlation_id text, lineage_target text, events_target text)),
  ins as (insert into lk_jobs (job_id, tenant_id, doc_key, source, pipeline, pipeline_version,
      request, status, correlation_id, lineage_target, events_target)
    select job_id, tenant_id, doc_key, source, pipeline, pipeline_version, request, 'queued',
      correlation_id, lineage_target, events_target
    from b order by b.i
    on conflict (tenant_id, doc_key) do nothing
    returning *),
  h as (insert into lk_job_history (job_id, run_number, from_status, to_status, stage, reason)
    select job_id, 0, null, 'queued', null, 'enqueued' from ins)
  select b.i, ins.*, pg_notify('${QUEUED_CHANNEL}', ins.tenant_id)
  from ins join b on b.job_id = ins.job_id`;

const rowOf = ({ input, jobId, docId, correlationId }: EnqueueWrite, i: number) => ({
  i,
  job_id: jobId,
  tenant_id: input.tenantId,
  doc_key: docId,
  source: input.request.source,
  pipeline: input.pipeline,
  pipeline_version: input.pipelineVersion,
  request: input.request,
  correlation_id: correlationId,
  lineage_target: input.destinations?.lineage ?? null,
  events_target: input.destinations?.events ?? null,
});

/** How the writer turns a new job's row into its result, and enqueues a document whose job exists. */
export interface EnqueueSpec<Row, R> {
  readonly created: (row: Row) => R;
  /** Enqueues, in the caller's transaction, a document whose job exists already. */
  readonly known: (tx: SqlExecutor, write: EnqueueWrite) => Promise<R>;
}

/** The enqueue writer of one store; a batch of one is the same statement in a transaction. */
export const makeEnqueueWriter = <Row, R>(
  db: SqlClient,
  spec: EnqueueSpec<Row, R>,
): GroupCommit<EnqueueWrite, R> => {
  const batch = async (tx: SqlExecutor, writes: ReadonlyArray<EnqueueWrite>) => {
    const inserted = await applyInRounds<{ w: EnqueueWrite; i: number }, Row & { i: number }>(tx, {
      sql: ENQUEUE_SQL,
      writes: writes.map((w, i) => ({ w, i })),
      keyOf: ({ w }) => w.jobId,
      rowOf: ({ w, i }) => rowOf(w, i),
    });
    const results: R[] = [];
    for (const [i, write] of writes.entries()) {
      const row = inserted.get(i);
      results.push(row ? spec.created(row) : await spec.known(tx, write));
    }
    return results;
  };
  return makeGroupCommit(db, {
    batch,
    single: (db, write) => db.transaction(async (tx) => (await batch(tx, [write]))[0]),
  });
};
