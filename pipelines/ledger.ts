/**
 * The job ledger port: every job's state, its history and its stage checkpoints. The runner
 * talks to it only through this service; `adapters/store/` implements it. Every write carries
 * the lineage events that describe it and commits them in the same transaction.
 *
 * @module
 */
import { Context, type Effect } from "effect";
import type { StageErrorRecord } from "../stages/errors.ts";
import type { IngestRequest, PdfReceipt } from "../stages/ir.ts";
import type { OutboxEvent, StoreError } from "../lineage/outbox.ts";

/** Where a job is in its life. */
export type JobStatus = "queued" | "running" | "paused" | "succeeded" | "failed" | "cancelled";

/** Every job status, in life order. */
export const jobStatuses: ReadonlyArray<JobStatus> = [
  "queued",
  "running",
  "paused",
  "succeeded",
  "failed",
  "cancelled",
];

/** Why a job failed: the error plus where and under which policy. */
export interface JobError extends StageErrorRecord {
  /** The stage (or `pipeline`, `mineru`) where the job failed. */
  readonly stage: string;
  /** The resilience policy that stage ran under. */
  readonly policy: string;
  /** Attempts made before giving up. */
  readonly attempts: number;
}

/** One document through one pipeline. */
export interface Job {
  /** Stable id of the (tenant, document) pair. */
  readonly jobId: string;
  /** The tenant the document belongs to. */
  readonly tenantId: string;
  /** `{source}:{docKey}`; also the document id. */
  readonly docId: string;
  /** The source the document comes from (e.g. `clinicaltrials`). */
  readonly source: string;
  /** The pipeline the job runs through. */
  readonly pipeline: string;
  /** That pipeline's version when the job was created. */
  readonly pipelineVersion: string;
  /** What its ingest stage fetches. */
  readonly request: IngestRequest;
  /** Where the job stands. */
  readonly status: JobStatus;
  /** The stage the job is at (the gate, while paused; the failing stage, once failed). */
  readonly currentStage: string | null;
  /** Ledger field `pdf_downloaded`: a download stage stored the PDF. */
  readonly pdfDownloaded: boolean;
  /** Ledger field `pdf_ir_ready`: the parsed PDF document is stored. */
  readonly pdfIrReady: boolean;
  /** How many pipeline runs this job has started (each is its own OpenLineage run). */
  readonly runNumber: number;
  /** When the current run started; null before the first. */
  readonly runCreatedAt: Date | null;
  /**
   * How many times the current run was resumed after a pause; the part of the run since then is
   * its segment number.
   */
  readonly resumes: number;
  /** Carried by every CloudEvent of the job (`correlationid`). */
  readonly correlationId: string;
  /**
   * Attempts per stage in the current run (in the current segment for a stage a pause cut off:
   * it starts over when the run resumes).
   */
  readonly attempts: Readonly<Record<string, number>>;
  /** Retries per stage, counted like `attempts`. */
  readonly retries: Readonly<Record<string, number>>;
  /** Why the job failed, once failed. */
  readonly error: JobError | null;
  /** When the job was enqueued. */
  readonly createdAt: Date;
  /** When the job last changed. */
  readonly updatedAt: Date;
  /** When its last run ended (succeeded, failed or cancelled). */
  readonly finishedAt: Date | null;
  /** When the job last paused at a gate (its gate timeout counts from here). */
  readonly pausedAt: Date | null;
  /** The downloaded PDF, once a download stage stored it. */
  readonly pdf: PdfReceipt | null;
  /** The process running the job now (its lease), while it runs. */
  readonly leaseOwner: string | null;
  /** When that lease ends unless renewed: past it, the job is another process's to take over. */
  readonly leaseExpiresAt: Date | null;
  /** Where the job's lineage goes, as the run that started it was told. */
  readonly destinations: JobDestinations;
}

/**
 * Where a job's lineage goes: the `--lineage` and `--events` values its run was started with.
 * An absent value means the default of whichever process delivers (its `OPENLINEAGE_*`
 * settings, then the store's lineage directory).
 */
export interface JobDestinations {
  /** A directory, an http(s):// Marquez URL or `kafka://host:port/topic`. */
  readonly lineage?: string;
  /** A directory or `kafka://host:port[/topic]`. */
  readonly events?: string;
}

/** Ledger fields a stage's success sets besides its checkpoint. */
export interface LedgerEffects {
  /** Sets `pdf_downloaded`. */
  readonly pdfDownloaded?: boolean;
  /** Records the downloaded PDF. */
  readonly pdf?: PdfReceipt;
}

/** What `enqueue` needs to create a job. */
export interface EnqueueInput {
  /** The tenant the document belongs to. */
  readonly tenantId: string;
  /** What the job's ingest stage fetches; its source and key name the document. */
  readonly request: IngestRequest;
  /** The pipeline to run it through. */
  readonly pipeline: string;
  /** That pipeline's version. */
  readonly pipelineVersion: string;
  /**
   * Where the job's lineage goes; recorded with a new job, and replaces what an existing job
   * recorded unless another process runs it now. @default the delivering process's defaults
   */
  readonly destinations?: JobDestinations;
  /**
   * Replace an existing job's request with `request` (a forced re-run given a new input path),
   * unless another process runs it now. @default false
   */
  readonly replaceRequest?: boolean;
}

/**
 * The lease a run holds on its job while it runs. The runner renews it; a job left `running`
 * whose lease expired (its process died) can be claimed again.
 */
export interface JobLease {
  /** Who holds it (one id per process). */
  readonly owner: string;
  /** How long it lasts unless renewed. */
  readonly ttlMs: number;
}

/** A new pipeline run claimed by `beginRun`. */
export interface BeginRun {
  /** The job to claim. */
  readonly jobId: string;
  /** Must be the job's current run number + 1: the update is a compare-and-set. */
  readonly runNumber: number;
  /** When the run starts. */
  readonly at: Date;
  /**
   * Statuses the job may be in to be claimed. A `running` job is claimed only once its lease has
   * expired (or it has none).
   */
  readonly from: ReadonlyArray<JobStatus>;
  /** The lease the new run holds while it runs. */
  readonly lease?: JobLease;
  /**
   * When the claim takes over a `running` job: the events ending the runs its dead process left
   * open, built from the job as the claim locked it and the stages it had checkpointed; they
   * come before the claim's own events.
   */
  readonly orphanEvents?: (
    job: Job,
    checkpointed: ReadonlySet<string>,
  ) => ReadonlyArray<OutboxEvent>;
  /** Drop every checkpoint first (re-process from scratch). */
  readonly fresh: boolean;
  /** Why, for the job's history. */
  readonly reason: string;
}

/** A change to one stage of the current run. */
export type StageChange =
  | { readonly kind: "started"; readonly stage: string; readonly attempt: number }
  | {
    readonly kind: "succeeded";
    readonly stage: string;
    readonly attempt: number;
    readonly output: unknown;
    readonly effects?: LedgerEffects;
  }
  | {
    readonly kind: "failed";
    readonly stage: string;
    readonly attempt: number;
    readonly error: StageErrorRecord;
    readonly willRetry: boolean;
  }
  | { readonly kind: "aborted"; readonly stage: string; readonly attempt: number };

/** How a run ended (or paused). */
export interface FinishRun {
  /** The job. */
  readonly jobId: string;
  /** The run that ends; a run that no longer owns the job changes nothing. */
  readonly runNumber: number;
  /** The job's status afterwards. */
  readonly status: "succeeded" | "failed" | "paused" | "cancelled";
  /** Why it failed. */
  readonly error?: JobError;
  /** The stage it stopped at (gate or failing stage). */
  readonly stage?: string;
  /** Why, for the job's history. */
  readonly reason: string;
  /** When it happened (the gate timeout of a pause counts from here). */
  readonly at: Date;
  /** Only if the job is in one of these statuses (a compare-and-set); otherwise nothing. */
  readonly from?: ReadonlyArray<JobStatus>;
}

/** Resuming a paused run (same run number: the pipeline run stays open across the pause). */
export interface ResumeRun {
  /** The paused job. */
  readonly jobId: string;
  /** Its current run (the paused one). */
  readonly runNumber: number;
  /**
   * How many times the run was resumed so far, and the gate it waits at, as the caller read them:
   * the resume is a compare-and-set on both (when given).
   */
  readonly resumes?: number;
  /** See `resumes`. */
  readonly gate?: string | null;
  /** Why, for the job's history. */
  readonly reason: string;
  /** The lease the resumed run holds while it runs. */
  readonly lease?: JobLease;
}

/** Cancelling a job (`deno task cancel`). */
export interface CancelJob {
  /** The job. */
  readonly jobId: string;
  /** Why, for the job's history and its error. */
  readonly reason: string;
  /** When. */
  readonly at: Date;
  /**
   * The events ending the runs the job has open, built from the job as the cancellation locked it
   * and the stages it had checkpointed (none for a queued job).
   */
  readonly events: (job: Job, checkpointed: ReadonlySet<string>) => ReadonlyArray<OutboxEvent>;
}

/** Which runnable jobs {@link JobLedgerShape.runnable} returns. */
export interface RunnableFilter {
  /** Only jobs of these pipelines (those the worker's configuration knows). */
  readonly pipelines: ReadonlyArray<string>;
  /** At most this many. */
  readonly limit: number;
  /** Not these jobs (e.g. those the worker tried already). */
  readonly exclude?: ReadonlyArray<string>;
  /** Only this tenant's jobs. @default every tenant's */
  readonly tenantId?: string;
  /**
   * Reserve the queued jobs returned for this lease: other workers asking before it runs out
   * are given other jobs, so workers asking at once do not all race for the oldest ones. The
   * claim (`beginRun`) still decides who runs a job; a reservation only steers who asks.
   * @default no reservation
   */
  readonly reserveFor?: JobLease;
}

/** Counts for `status`. */
export interface LedgerCounts {
  /** Jobs per status. */
  readonly jobs: Readonly<Record<JobStatus, number>>;
}

/** The job ledger. */
export interface JobLedgerShape {
  /** Creates the job for (tenant, document) unless it exists; idempotent. */
  readonly enqueue: (
    input: EnqueueInput,
  ) => Effect.Effect<{ readonly job: Job; readonly created: boolean }, StoreError>;
  /** Claims the job for a new run (status → running). False when another run got there first. */
  readonly beginRun: (
    input: BeginRun,
    events: ReadonlyArray<OutboxEvent>,
  ) => Effect.Effect<boolean, StoreError>;
  /**
   * Records a stage change of the current run (checkpointing a success's output). False when the
   * run no longer owns the job (it was cancelled, or taken over): then nothing was written.
   */
  readonly recordStage: (
    jobId: string,
    runNumber: number,
    change: StageChange,
    events: ReadonlyArray<OutboxEvent>,
  ) => Effect.Effect<boolean, StoreError>;
  /** Ends (or pauses) the current run. False when `from` was given and did not match. */
  readonly finishRun: (
    input: FinishRun,
    events: ReadonlyArray<OutboxEvent>,
  ) => Effect.Effect<boolean, StoreError>;
  /**
   * Cancels a queued, paused or running job (status → cancelled, its lease dropped, its open runs
   * ended by `events`); the status it had, or undefined when it has ended already or is unknown.
   * A run still working on it finds its next write refused and stops.
   */
  readonly cancel: (
    input: CancelJob,
  ) => Effect.Effect<{ readonly from: JobStatus } | undefined, StoreError>;
  /** Calls `onChange` with a job id whenever `setFields` changes a job, in any process. */
  readonly watch: (
    onChange: (jobId: string) => void,
  ) => Effect.Effect<() => Promise<void>, StoreError>;
  /**
   * Calls `onQueued` with the tenant whenever a new job is enqueued, in any process that shares
   * the store (workers wake on it instead of waiting for their next poll).
   */
  readonly watchQueued: (
    onQueued: (tenantId: string) => void,
  ) => Effect.Effect<() => Promise<void>, StoreError>;
  /** Claims a paused job to continue its current run (paused → running). False if not paused. */
  readonly resumeRun: (
    input: ResumeRun,
    events: ReadonlyArray<OutboxEvent>,
  ) => Effect.Effect<boolean, StoreError>;
  /**
   * Sets ledger fields from outside the runner (e.g. `pdf_ir_ready` once MinerU parsed the PDF)
   * and stores named artifacts for the stages after a gate; wakes sensors listening for changes.
   */
  readonly setFields: (
    jobId: string,
    change: {
      readonly pdfIrReady?: boolean;
      readonly artifacts?: Readonly<Record<string, unknown>>;
    },
    events: ReadonlyArray<OutboxEvent>,
  ) => Effect.Effect<void, StoreError>;
  /**
   * Extends the lease of the job's current run; false when the run no longer holds it (the job
   * moved on, or another process took it over after the lease expired).
   */
  readonly renewLease: (
    jobId: string,
    runNumber: number,
    lease: JobLease,
  ) => Effect.Effect<boolean, StoreError>;
  /**
   * Takes (or renews) a lease on `work` for the job (e.g. `mineru`: sending its PDF) for `ttlMs`:
   * true when `holder` has it, false while another holder's lease runs. Processes sharing the
   * store use it so that such work is done by one of them at a time.
   */
  readonly claimWork: (
    jobId: string,
    work: string,
    holder: string,
    ttlMs: number,
  ) => Effect.Effect<boolean, StoreError>;
  /** Gives a lease taken with `claimWork` back. */
  readonly releaseWork: (
    jobId: string,
    work: string,
    holder: string,
  ) => Effect.Effect<void, StoreError>;
  /** Appends events that describe no ledger change (e.g. an outside job's run). */
  readonly appendEvents: (
    jobId: string,
    events: ReadonlyArray<OutboxEvent>,
  ) => Effect.Effect<void, StoreError>;
  /** Artifacts stored for the job, by name. */
  readonly artifacts: (jobId: string) => Effect.Effect<ReadonlyMap<string, unknown>, StoreError>;
  /** Stage outputs checkpointed for the job, by stage name. */
  readonly checkpoints: (jobId: string) => Effect.Effect<ReadonlyMap<string, unknown>, StoreError>;
  /** The job, if it exists. */
  readonly get: (jobId: string) => Effect.Effect<Job | undefined, StoreError>;
  /** Jobs (with the given statuses, of the given tenant), oldest first. */
  readonly list: (
    filter?: { readonly statuses?: ReadonlyArray<JobStatus>; readonly tenantId?: string },
  ) => Effect.Effect<ReadonlyArray<Job>, StoreError>;
  /**
   * Jobs a worker may run now, oldest first: queued ones (but those another lease reserved, see
   * {@link RunnableFilter.reserveFor}), and running ones whose lease expired (their process
   * died). Rows another transaction is claiming at this moment are skipped (`FOR UPDATE SKIP
   * LOCKED`); the claim itself (`beginRun`) decides which worker runs a job.
   */
  readonly runnable: (filter: RunnableFilter) => Effect.Effect<ReadonlyArray<Job>, StoreError>;
  /** Jobs per status. */
  readonly counts: () => Effect.Effect<LedgerCounts, StoreError>;
  /** The job's transition history, oldest first. */
  readonly history: (jobId: string) => Effect.Effect<ReadonlyArray<HistoryEntry>, StoreError>;
}

/** One recorded transition. */
export interface HistoryEntry {
  /** The run it belongs to. */
  readonly runNumber: number;
  /** When it happened. */
  readonly at: Date;
  /** The status before (null when the job was created). */
  readonly fromStatus: JobStatus | null;
  /** The status after. */
  readonly toStatus: JobStatus;
  /** The stage involved, if any. */
  readonly stage: string | null;
  /** Why. */
  readonly reason: string;
}

/** The job ledger as a service. */
export const JobLedgerBase: Context.ServiceClass<
  JobLedger,
  "@medkg/lineage-kit/JobLedger",
  JobLedgerShape
> = Context.Service<
  JobLedger,
  JobLedgerShape
>()("@medkg/lineage-kit/JobLedger");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** The job ledger as an Effect service (see {@link JobLedgerShape}). */
export class JobLedger extends JobLedgerBase {}
