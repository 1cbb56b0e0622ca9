/**
 * Enqueueing through the store's group commit: the documents of a run, enqueued together, become
 * jobs in one multi-row statement per batch (the job rows, their history and the notification
 * that wakes workers) instead of a transaction of two statements each.
 *
 * The documents whose job exists already (a re-run) take a second statement of the batch: each job
 * records where this run sends lineage (and, when forced with a new input, what it reads), unless
 * another process runs it now, whose run keeps its own. One statement for them all, not one each:
 * re-enqueueing 3,000 done documents took 0.95-1.03 s one by one. A document enqueued alone goes
 * through the same statements.
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

/**
 * Jobs that exist already, updated (lineage destinations; the request when replaced) unless
 * running, every row locked in job order first, as the stage writes lock theirs (so two batches
 * never wait on each other in a cycle); each with its `i`, updated or as it stands.
 */
const KNOWN_SQL = `with b as (
    select * from jsonb_to_recordset($1::jsonb) as b(i int, job_id text, lineage_target text,
      events_target text, replace_request boolean, request jsonb)),
  o as (select b.* from b join lk_jobs j on j.job_id = b.job_id and j.status <> 'running'
        order by j.job_id for update of j),
  upd as (update lk_jobs t set lineage_target = o.lineage_target, events_target = o.events_target,
      request = case when o.replace_request then o.request else t.request end
    from o where t.job_id = o.job_id
    returning o.i, t.*)
  select * from upd
  union all
  select b.i, j.* from b join lk_jobs j on j.job_id = b.job_id
  where not exists (select 1 from upd where upd.i = b.i)`;

const knownRowOf = ({ input, jobId }: EnqueueWrite, i: number) => ({
  i,
  job_id: jobId,
  lineage_target: input.destinations?.lineage ?? null,
  events_target: input.destinations?.events ?? null,
  replace_request: input.replaceRequest === true,
  request: input.request,
});

/** How the writer turns a job's row into its result: a new job's, or one that existed. */
export interface EnqueueSpec<Row, R> {
  readonly created: (row: Row) => R;
  readonly known: (row: Row) => R;
}

/** A write of a batch with its place in it. */
type Indexed = { readonly w: EnqueueWrite; readonly i: number };

/** The enqueue writer of one store; a batch of one is the same statements in a transaction. */
export const makeEnqueueWriter = <Row, R>(
  db: SqlClient,
  spec: EnqueueSpec<Row, R>,
): GroupCommit<EnqueueWrite, R> => {
  const batch = async (tx: SqlExecutor, writes: ReadonlyArray<EnqueueWrite>) => {
    const indexed: Indexed[] = writes.map((w, i) => ({ w, i }));
    const inserted = await applyInRounds<Indexed, Row & { i: number }>(tx, {
      sql: ENQUEUE_SQL,
      writes: indexed,
      keyOf: ({ w }) => w.jobId,
      rowOf: ({ w, i }) => rowOf(w, i),
    });
    const rest = indexed.filter(({ i }) => !inserted.has(i));
    const known = rest.length === 0
      ? new Map<number, Row>()
      : await applyInRounds<Indexed, Row & { i: number }>(tx, {
        sql: KNOWN_SQL,
        writes: rest,
        keyOf: ({ w }) => w.jobId,
        rowOf: ({ w, i }) => knownRowOf(w, i),
      });
    return writes.map((write, i) => {
      const row = inserted.get(i);
      if (row) return spec.created(row);
      const existing = known.get(i);
      // Neither made nor found: the batch fails, and each write is tried again alone.
      if (!existing) throw new Error(`job ${write.jobId} was neither created nor found`);
      return spec.known(existing);
    });
  };
  return makeGroupCommit(db, {
    batch,
    single: (db, write) => db.transaction(async (tx) => (await batch(tx, [write]))[0]),
  });
};
