/**
 * The job ledger in SQL (PGlite or PostgreSQL). Every write and the outbox events that describe
 * it commit in one transaction. The writes every job makes (claims, stage transitions, ends of
 * runs) go through group commits: those of all the jobs in flight share transactions and
 * multi-row statements, and each caller resumes once its own write is durable.
 *
 * @module
 */
import { Effect } from "effect";
import { createHash } from "node:crypto";
import type {
  BeginRun,
  CancelJob,
  EnqueueInput,
  FinishRun,
  HistoryEntry,
  Job,
  JobLease,
  JobLedgerShape,
  JobStatus,
  LedgerCounts,
  ResumeRun,
  StageChange,
} from "../../pipelines/ledger.ts";
import { jobStatuses } from "../../pipelines/ledger.ts";
import type { OutboxEvent } from "../../lineage/outbox.ts";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { insertOutbox } from "./sql_outbox.ts";
import { queryInIndexOrder } from "./_index_order.ts";
import { storeOp } from "./store_op.ts";
import { claimLease, releaseLease } from "./sql_leases.ts";
import { makeStageWriter } from "./sql_stage_writes.ts";
import { makeBeginWriter, makeFinishWriter } from "./sql_run_writes.ts";
import { makeCheckpointReader } from "./sql_checkpoint_reads.ts";
import { makeEnqueueWriter, QUEUED_CHANNEL } from "./sql_enqueue.ts";

/** The job id of a (tenant, document): stable across processes and runs. */
export const jobIdFor = (tenantId: string, docId: string): string =>
  "job-" + createHash("sha256").update(`${tenantId}\u0000${docId}`).digest("hex").slice(0, 16);

type Enqueued = { readonly job: Job; readonly created: boolean };

interface JobRow {
  job_id: string;
  tenant_id: string;
  doc_key: string;
  source: string;
  pipeline: string;
  pipeline_version: string;
  request: Job["request"];
  status: JobStatus;
  current_stage: string | null;
  pdf_downloaded: boolean;
  pdf_ir_ready: boolean;
  run_number: number;
  run_created_at: Date | null;
  resumes: number;
  correlation_id: string;
  attempts: Record<string, number>;
  retries: Record<string, number>;
  error: Job["error"];
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  paused_at: Date | null;
  pdf: Job["pdf"];
  lease_owner: string | null;
  lease_expires_at: Date | null;
  lineage_target: string | null;
  events_target: string | null;
  /** A bigserial: a string from a server, a number or a bigint from PGlite. */
  enqueue_seq: string | number | bigint;
}

const toJob = (r: JobRow): Job => ({
  jobId: r.job_id,
  tenantId: r.tenant_id,
  docId: r.doc_key,
  source: r.source,
  pipeline: r.pipeline,
  pipelineVersion: r.pipeline_version,
  request: r.request,
  status: r.status,
  currentStage: r.current_stage,
  pdfDownloaded: r.pdf_downloaded,
  pdfIrReady: r.pdf_ir_ready,
  runNumber: r.run_number,
  runCreatedAt: r.run_created_at,
  resumes: r.resumes,
  correlationId: r.correlation_id,
  attempts: r.attempts,
  retries: r.retries,
  error: r.error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
  pausedAt: r.paused_at,
  pdf: r.pdf,
  leaseOwner: r.lease_owner,
  leaseExpiresAt: r.lease_expires_at,
  destinations: {
    ...(r.lineage_target === null ? {} : { lineage: r.lineage_target }),
    ...(r.events_target === null ? {} : { events: r.events_target }),
  },
});

/** Jobs (with the given statuses, of the given tenant), oldest first: the ledger's `list`. */
export const listJobs = async (
  db: SqlExecutor,
  filter?: Parameters<JobLedgerShape["list"]>[0],
): Promise<ReadonlyArray<Job>> => {
  const rows = await db.query<JobRow>(
    `select * from lk_jobs
     where ($1::text[] is null or status = any($1::text[]))
       and ($2::text is null or tenant_id = $2)
     order by created_at, enqueue_seq`,
    [filter?.statuses ? [...filter.statuses] : null, filter?.tenantId ?? null],
  );
  return rows.map(toJob);
};

const history = (
  tx: SqlExecutor,
  e: {
    jobId: string;
    runNumber: number;
    from: string | null;
    to: string;
    stage?: string;
    reason: string;
  },
) =>
  tx.query(
    `insert into lk_job_history (job_id, run_number, from_status, to_status, stage, reason)
     values ($1, $2, $3, $4, $5, $6)`,
    [e.jobId, e.runNumber, e.from, e.to, e.stage ?? null, e.reason],
  );

// Documents enqueued together become jobs together (see sql_enqueue.ts).
const enqueue = (db: SqlClient) => {
  const write = makeEnqueueWriter<JobRow, Enqueued>(db, {
    created: (row) => ({ job: toJob(row), created: true }),
    known: (row) => ({ job: toJob(row), created: false }),
  });
  return (input: EnqueueInput) =>
    storeOp("enqueue", () => {
      const docId = `${input.request.source}:${input.request.docKey}`;
      return write({
        input,
        jobId: jobIdFor(input.tenantId, docId),
        docId,
        correlationId: crypto.randomUUID(),
      });
    });
};

// A claim on its own, in the caller's transaction: what the group commit's statement leaves (a
// fresh re-run, a take-over of a running job whose lease ran out).
const beginAlone = async (
  tx: SqlExecutor,
  input: BeginRun,
  events: ReadonlyArray<OutboxEvent>,
): Promise<boolean> => {
  // The row lock plus the run-number check make the claim a compare-and-set: of two
  // processes racing for the same job, exactly one sees the expected run number.
  const [prev] = await tx.query<JobRow & { lease_held: boolean }>(
    `select *, ${LEASE_HELD} as lease_held from lk_jobs where job_id = $1 for update`,
    [input.jobId],
  );
  if (
    !prev || prev.run_number !== input.runNumber - 1 || !input.from.includes(prev.status)
  ) return false;
  // A running job is another process's until its lease runs out.
  if (prev.status === "running" && prev.lease_held) return false;
  // Taken over: the runs its process left open end first, as the locked row describes them.
  const orphaned = prev.status === "running" && input.orphanEvents
    ? input.orphanEvents(toJob(prev), await checkpointedStages(tx, input.jobId))
    : [];
  await tx.query(
    `update lk_jobs set status = 'running', run_number = $2, run_created_at = $3,
           resumes = 0, current_stage = null, attempts = '{}'::jsonb, retries = '{}'::jsonb,
           error = null, finished_at = null, updated_at = now(), ${LEASE_SET}
         where job_id = $1`,
    [input.jobId, input.runNumber, input.at, ...leaseParams(input.lease)],
  );
  if (input.fresh) {
    // From scratch means from scratch: no checkpoint, no earlier PDF, no earlier parse.
    await tx.query("delete from lk_checkpoints where job_id = $1", [input.jobId]);
    await tx.query("delete from lk_artifacts where job_id = $1", [input.jobId]);
    await tx.query(
      `update lk_jobs set pdf_downloaded = false, pdf_ir_ready = false, pdf = null
           where job_id = $1`,
      [input.jobId],
    );
  }
  await history(tx, {
    jobId: input.jobId,
    runNumber: input.runNumber,
    from: prev.status,
    to: "running",
    reason: input.reason,
  });
  await insertOutbox(tx, input.jobId, [...orphaned, ...events]);
  return true;
};

// Claims and ends of runs go through the store's group commits (see sql_run_writes.ts).
const beginRun = (db: SqlClient) => {
  const write = makeBeginWriter(db, beginAlone);
  return (input: BeginRun, events: ReadonlyArray<OutboxEvent>) =>
    storeOp("beginRun", () => write({ input, events }));
};

const finishRun = (db: SqlClient) => {
  const write = makeFinishWriter(db);
  return (input: FinishRun, events: ReadonlyArray<OutboxEvent>) =>
    storeOp("finishRun", () => write({ input, events }));
};

const checkpointedStages = async (tx: SqlExecutor, jobId: string) =>
  new Set(
    (await tx.query<{ stage: string }>("select stage from lk_checkpoints where job_id = $1", [
      jobId,
    ])).map((r) => r.stage),
  );

// Whether a running job's lease still holds. A job running without an expiry (claimed without a
// lease) counts as held until it has not changed for a minute.
const LEASE_HELD = "coalesce(lease_expires_at, updated_at + interval '60 seconds') > now()";

// Oldest first: by creation, then by the number each job got when it was enqueued.
const inQueueOrder = (a: JobRow, b: JobRow): number => {
  const byTime = a.created_at.getTime() - b.created_at.getTime();
  if (byTime !== 0) return byTime;
  const [x, y] = [BigInt(a.enqueue_seq), BigInt(b.enqueue_seq)];
  return x < y ? -1 : x > y ? 1 : 0;
};

// The oldest jobs a worker may run ($1 pipelines, at most $2, not $3, of tenant $4 when given):
// queued ones no other lease reserved, running ones whose lease ran out. With an owner ($5), the
// queued ones are reserved for it for $6 ms (the rows are returned as they were before, in no
// particular order).
const RUNNABLE_SQL = `with c as (
    select * from lk_jobs
    where pipeline = any($1::text[]) and not (job_id = any($3::text[]))
      and ($4::text is null or tenant_id = $4)
      and ((status = 'queued' and (lease_expires_at is null or lease_expires_at <= now()
            or lease_owner = $5))
        or (status = 'running' and not ${LEASE_HELD}))
    order by created_at, enqueue_seq
    limit $2
    for update skip locked),
  r as (update lk_jobs j set lease_owner = $5,
      lease_expires_at = now() + $6::int * interval '1 millisecond'
    from c where $5::text is not null and j.job_id = c.job_id and c.status = 'queued')
  select * from c`;

// Sets the lease from parameters $4 (owner) and $5 (milliseconds); both null: no lease.
const LEASE_SET = `lease_owner = $4,
  lease_expires_at = now() + $5::int * interval '1 millisecond'`;

const leaseParams = (lease: JobLease | undefined) =>
  lease ? [lease.owner, Math.round(lease.ttlMs)] : [null, null];

// Runs that start together read their checkpoints together (see sql_checkpoint_reads.ts).
const readCheckpoints = (db: SqlClient) => {
  const read = makeCheckpointReader(db);
  return (jobId: string) =>
    storeOp("checkpoints", () => read(jobId)).pipe(
      Effect.tap(({ unreadable }) =>
        unreadable.length === 0 ? Effect.void : Effect.logWarning(
          `${jobId}: the stored checkpoint of ${
            unreadable.join(", ")
          } is not JSON; the stage runs again`,
        )
      ),
      Effect.map(({ outputs }) => outputs),
    );
};

// Stage transitions go through the store's group commit (see sql_stage_writes.ts).
const recordStage = (db: SqlClient) => {
  const write = makeStageWriter(db);
  return (
    jobId: string,
    runNumber: number,
    change: StageChange,
    events: ReadonlyArray<OutboxEvent>,
  ) => storeOp(`recordStage(${change.kind})`, () => write({ jobId, runNumber, change, events }));
};

// A per-stage counter kept for the stages that finished (checkpointed) and the paused gate.
const keptCounts = (field: "attempts" | "retries") =>
  `(select coalesce(jsonb_object_agg(c.key, c.value), '{}'::jsonb) from jsonb_each(${field}) c
    where c.key = current_stage
       or exists (select 1 from lk_checkpoints k where k.job_id = $1 and k.stage = c.key))`;

const resumeRun = (db: SqlClient) => (input: ResumeRun, events: ReadonlyArray<OutboxEvent>) =>
  storeOp("resumeRun", () =>
    db.transaction(async (tx) => {
      // paused → running is the lock: of several sensors, exactly one sees the job paused.
      // A new segment of the run begins: stages cut off by the pause start their attempts
      // over (the gate it waited at keeps its count: its run spans the pause).
      const claimed = await tx.query<{ job_id: string }>(
        `update lk_jobs set status = 'running', resumes = resumes + 1, updated_at = now(),
           attempts = ${keptCounts("attempts")}, retries = ${keptCounts("retries")},
           lease_owner = $3, lease_expires_at = now() + $4::int * interval '1 millisecond'
         where job_id = $1 and status = 'paused' and run_number = $2
           and ($5::int is null or resumes = $5)
           and ($6::boolean is not true or current_stage is not distinct from $7)
         returning job_id`,
        [
          input.jobId,
          input.runNumber,
          ...leaseParams(input.lease),
          input.resumes ?? null,
          input.gate !== undefined,
          input.gate ?? null,
        ],
      );
      if (claimed.length === 0) return false;
      await history(tx, {
        jobId: input.jobId,
        runNumber: input.runNumber,
        from: "paused",
        to: "running",
        reason: input.reason,
      });
      await insertOutbox(tx, input.jobId, events);
      return true;
    }));

const setFields = (db: SqlClient) =>
(
  jobId: string,
  change: { readonly pdfIrReady?: boolean; readonly artifacts?: Readonly<Record<string, unknown>> },
  events: ReadonlyArray<OutboxEvent>,
) =>
  storeOp("setFields", () =>
    db.transaction(async (tx) => {
      for (const [name, payload] of Object.entries(change.artifacts ?? {})) {
        await tx.query(
          `insert into lk_artifacts (job_id, name, payload) values ($1, $2, $3::jsonb)
           on conflict (job_id, name) do update set payload = excluded.payload, created_at = now()`,
          [jobId, name, JSON.stringify(payload)],
        );
      }
      if (change.pdfIrReady !== undefined) {
        await tx.query(
          "update lk_jobs set pdf_ir_ready = $2, updated_at = now() where job_id = $1",
          [jobId, change.pdfIrReady],
        );
      }
      await insertOutbox(tx, jobId, events);
      // Delivered at commit; sensors LISTENing on a server wake up at once.
      await tx.query("select pg_notify('lk_ledger', $1)", [jobId]);
    }));

const cancel = (db: SqlClient) => (input: CancelJob) =>
  storeOp("cancel", () =>
    db.transaction(async (tx) => {
      const [prev] = await tx.query<JobRow>(
        "select * from lk_jobs where job_id = $1 for update",
        [input.jobId],
      );
      if (!prev || !["queued", "paused", "running"].includes(prev.status)) return undefined;
      const events = prev.status === "queued"
        ? []
        : input.events(toJob(prev), await checkpointedStages(tx, input.jobId));
      // The status changes under the row lock: a run's next stage write (which checks it owns a
      // running job) is refused from here on.
      await tx.query(
        `update lk_jobs set status = 'cancelled', updated_at = now(), finished_at = $2,
           lease_owner = null, lease_expires_at = null, error = $3::jsonb
         where job_id = $1`,
        [
          input.jobId,
          input.at,
          JSON.stringify({
            type: "Permanent",
            message: `cancelled: ${input.reason}`,
            stage: prev.current_stage ?? "pipeline",
            policy: "none",
            attempts: 0,
          }),
        ],
      );
      await history(tx, {
        jobId: input.jobId,
        runNumber: prev.run_number,
        from: prev.status,
        to: "cancelled",
        ...(prev.current_stage === null ? {} : { stage: prev.current_stage }),
        reason: `cancelled: ${input.reason}`,
      });
      await insertOutbox(tx, input.jobId, events);
      return { from: prev.status };
    }));

const counts = (db: SqlClient) => () =>
  storeOp("counts", async (): Promise<LedgerCounts> => {
    const rows = await db.query<{ status: JobStatus; n: number }>(
      "select status, count(*)::int as n from lk_jobs group by status",
    );
    const jobs = Object.fromEntries(jobStatuses.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const r of rows) jobs[r.status] = r.n;
    return { jobs };
  });

/** The ledger over a migrated SQL database. */
export const makeSqlJobLedger = (db: SqlClient): JobLedgerShape => ({
  enqueue: enqueue(db),
  beginRun: beginRun(db),
  recordStage: recordStage(db),
  finishRun: finishRun(db),
  resumeRun: resumeRun(db),
  cancel: cancel(db),
  setFields: setFields(db),
  watch: (onChange) => storeOp("watch", () => db.listen("lk_ledger", onChange)),
  watchQueued: (onQueued) => storeOp("watchQueued", () => db.listen(QUEUED_CHANNEL, onQueued)),
  renewLease: (jobId, runNumber, lease) =>
    storeOp("renewLease", async () => {
      const rows = await db.query<{ job_id: string }>(
        `update lk_jobs set lease_expires_at = now() + $4::int * interval '1 millisecond'
         where job_id = $1 and run_number = $2 and lease_owner = $3 and status = 'running'
         returning job_id`,
        [jobId, runNumber, lease.owner, Math.round(lease.ttlMs)],
      );
      return rows.length === 1;
    }),
  claimWork: (jobId, work, holder, ttlMs) =>
    storeOp("claimWork", () => claimLease(db, `${work}:${jobId}`, holder, ttlMs)),
  releaseWork: (jobId, work, holder) =>
    storeOp("releaseWork", () => releaseLease(db, `${work}:${jobId}`, holder)),
  appendEvents: (jobId, events) =>
    storeOp("appendEvents", () => db.transaction((tx) => insertOutbox(tx, jobId, events))),
  artifacts: (jobId) =>
    storeOp("artifacts", async () => {
      const rows = await db.query<{ name: string; payload: unknown }>(
        "select name, payload from lk_artifacts where job_id = $1",
        [jobId],
      );
      return new Map(rows.map((r) => [r.name, r.payload]));
    }),
  checkpoints: readCheckpoints(db),
  get: (jobId) =>
    storeOp("get", async () => {
      const [row] = await db.query<JobRow>("select * from lk_jobs where job_id = $1", [jobId]);
      return row ? toJob(row) : undefined;
    }),
  list: (filter) => storeOp("list", () => listJobs(db, filter)),
  runnable: (filter) =>
    storeOp("runnable", async () => {
      // The oldest from lk_jobs_runnable in its order, up to the limit (see _index_order.ts).
      const rows = await queryInIndexOrder<JobRow>(db, RUNNABLE_SQL, [
        [...filter.pipelines],
        filter.limit,
        [...(filter.exclude ?? [])],
        filter.tenantId ?? null,
        filter.reserveFor?.owner ?? null,
        filter.reserveFor ? Math.round(filter.reserveFor.ttlMs) : null,
      ]);
      return [...rows].sort(inQueueOrder).map(toJob);
    }),
  counts: counts(db),
  history: (jobId) =>
    storeOp("history", async () => {
      const rows = await db.query<{
        run_number: number;
        at: Date;
        from_status: JobStatus | null;
        to_status: JobStatus;
        stage: string | null;
        reason: string;
      }>("select * from lk_job_history where job_id = $1 order by id", [jobId]);
      return rows.map((r): HistoryEntry => ({
        runNumber: r.run_number,
        at: r.at,
        fromStatus: r.from_status,
        toStatus: r.to_status,
        stage: r.stage,
        reason: r.reason,
      }));
    }),
});
