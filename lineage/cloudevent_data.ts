/**
 * The `data` payload of each CloudEvent type of the catalogue, as TypeScript types. The zod
 * schemas in `cloudevent_types.ts` decode to these.
 *
 * @module
 */
import type { StageErrorType } from "../stages/errors.ts";

/**
 * The fields every orchestration event's `data` carries.
 *
 * @category models
 */
export interface JobData {
  /** The job's id in the ledger. */
  readonly job_id: string;
  /** The tenant the job belongs to. */
  readonly tenant_id: string;
  /** The id shared by every event of the job (a UUID given when the job is enqueued). */
  readonly correlation_id: string;
}

/**
 * `data` of `pipeline.started` (and the fields every pipeline event shares).
 *
 * @category models
 */
export interface PipelineData extends JobData {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The pipeline's version. */
  readonly pipeline_version: string;
  /** Which run of the job this is: 1 for the first, one more for each re-run. */
  readonly run_number: number;
}

/**
 * `data` of `pipeline.completed`.
 *
 * @category models
 */
export interface PipelineCompletedData extends PipelineData {
  /** Milliseconds from the start of the run to its end, pauses included. */
  readonly duration_ms: number;
  /** How many stages the pipeline has. */
  readonly stage_count: number;
}

/**
 * `data` of `pipeline.failed`: the stage that failed the job and why.
 *
 * @category models
 */
export interface PipelineFailedData extends PipelineData {
  /** Milliseconds from the start of the run to its end, pauses included. */
  readonly duration_ms: number;
  /** The kind of error that failed the job. */
  readonly error_type: StageErrorType;
  /** The error's message; may be empty. */
  readonly error_message: string;
  /** The stage that failed the job, or `pipeline` when no stage is to blame. */
  readonly stage: string;
  /** The resilience policy of that stage, or `none` when no stage is to blame. */
  readonly policy_name: string;
  /** Why the run ended, e.g. `stage_failed`, `gate_timed_out`, `interrupted`. */
  readonly reason: string;
}

/**
 * `data` of `pipeline.paused` and `pipeline.resumed`.
 *
 * @category models
 */
export interface PipelinePauseData extends PipelineData {
  /** Why the run paused or resumed, e.g. `waiting at gate <gate>`. */
  readonly reason?: string;
}

/**
 * `data` of `stage.started` (and the fields every stage event shares).
 *
 * @category models
 */
export interface StageData extends JobData {
  /** The stage's name in the pipeline. */
  readonly stage: string;
  /** The attempt number, 1 for the first. */
  readonly attempt: number;
  /** The name of the resilience policy the stage runs under. */
  readonly policy_name: string;
}

/**
 * `data` of `stage.completed`.
 *
 * @category models
 */
export interface StageCompletedData extends StageData {
  /** How long the attempt took, in milliseconds. */
  readonly duration_ms: number;
  /** How many items the stage's output holds. */
  readonly output_count: number;
  /** Whether the stage's implementation uses a GPU. */
  readonly gpu_used: boolean;
  /** How many failed attempts came before this one (`attempt` - 1). */
  readonly retry_count: number;
}

/**
 * `data` of `stage.failed`: the attempt after which the policy gave up.
 *
 * @category models
 */
export interface StageFailedData extends StageData {
  /** The kind of error the last attempt ended with. */
  readonly error_type: StageErrorType;
  /** The error's message; may be empty. */
  readonly error_message: string;
  /** How many failed attempts came before this one (`attempt` - 1). */
  readonly retry_count: number;
  /** Why the stage gave up, e.g. `retries_exhausted`, `timeout`, `gpu_oom`, `interrupted`. */
  readonly reason: string;
  /** How long the attempt ran, in milliseconds. */
  readonly duration_ms: number;
}

/**
 * `data` of `stage.retrying`: a failed attempt that the policy will retry after `backoff_ms`.
 *
 * @category models
 */
export interface StageRetryingData extends StageData {
  /** The attempt that failed (the same as `attempt`). */
  readonly attempt_number: number;
  /** Milliseconds until the next attempt starts. */
  readonly backoff_ms: number;
  /** The kind of error the attempt ended with (a retryable one). */
  readonly error_type: StageErrorType;
  /** The error's message; may be empty. */
  readonly error_message: string;
  /** How many failed attempts came before this one (`attempt` - 1). */
  readonly retry_count: number;
  /** How long the attempt ran, in milliseconds. */
  readonly duration_ms: number;
}

/**
 * `data` of the gate events (`waiting`, `opened`, `timed_out`).
 *
 * @category models
 */
export interface GateData extends JobData {
  /** The gate stage's name. */
  readonly gate: string;
  /** The gate's ledger condition, rendered as text. */
  readonly condition: string;
  /** How long the job may wait at the gate, in seconds. */
  readonly timeout_seconds: number;
  /** How long the job waited at the gate, in milliseconds; set once it stops waiting. */
  readonly waited_ms?: number;
}

/**
 * `data` of `mineru.requested`: a PDF for the MinerU GPU workers to parse.
 *
 * @category models
 */
export interface MineruRequestedData {
  /** The job's id in the ledger. */
  readonly job_id: string;
  /** The tenant the job belongs to. */
  readonly tenant_id: string;
  /** The document's id, `{source}:{docKey}`. */
  readonly doc_id: string;
  /** Where the worker reads the PDF. */
  readonly pdf_uri: string;
  /** `sha256:` and the PDF's hex digest, for the worker to check what it read. */
  readonly checksum: string;
  /** 0 (lowest) to 9 (highest). */
  readonly priority: number;
  /** The id shared by every event of the job. */
  readonly correlation_id: string;
}

/**
 * The fields every MinerU result's `data` carries.
 *
 * @category models
 */
export interface MineruResultData {
  /** The job's id in the ledger. */
  readonly job_id: string;
  /** The tenant the job belongs to. */
  readonly tenant_id: string;
  /** The document's id, `{source}:{docKey}`. */
  readonly doc_id: string;
  /** The id shared by every event of the job. */
  readonly correlation_id: string;
}

/**
 * `data` of `mineru.completed`: where the parsed document was stored.
 *
 * @category models
 */
export interface MineruCompletedData extends MineruResultData {
  /** Where the parsed document was stored. */
  readonly document_uri: string;
  /** How many pages the parsed document has. */
  readonly pages?: number;
  /** How long the parse took, in milliseconds. */
  readonly duration_ms?: number;
}

/**
 * Why MinerU could not turn a PDF into a document.
 *
 * @category models
 */
export type MineruFailureReason = "gpu_oom" | "gpu_unavailable" | "bad_pdf" | "timeout";

/**
 * `data` of `mineru.failed`.
 *
 * @category models
 */
export interface MineruFailedData extends MineruResultData {
  /** Why the parse failed. */
  readonly reason: MineruFailureReason;
  /** The worker's error message; may be empty. */
  readonly error_message: string;
}

/**
 * The `data` of each CloudEvent type.
 *
 * @category models
 */
export interface CloudEventDataByType {
  /** A pipeline run started. */
  readonly "org.medicalkg.orchestration.pipeline.started": PipelineData;
  /** A pipeline run finished with every stage done. */
  readonly "org.medicalkg.orchestration.pipeline.completed": PipelineCompletedData;
  /** A pipeline run failed or was aborted. */
  readonly "org.medicalkg.orchestration.pipeline.failed": PipelineFailedData;
  /** A pipeline run paused at a gate. */
  readonly "org.medicalkg.orchestration.pipeline.paused": PipelinePauseData;
  /** A paused pipeline run resumed. */
  readonly "org.medicalkg.orchestration.pipeline.resumed": PipelinePauseData;
  /** A stage attempt started. */
  readonly "org.medicalkg.orchestration.stage.started": StageData;
  /** A stage attempt succeeded. */
  readonly "org.medicalkg.orchestration.stage.completed": StageCompletedData;
  /** A stage attempt failed or was interrupted, and no retry follows. */
  readonly "org.medicalkg.orchestration.stage.failed": StageFailedData;
  /** A stage attempt failed and will be retried. */
  readonly "org.medicalkg.orchestration.stage.retrying": StageRetryingData;
  /** A job waits at a gate whose condition does not hold yet. */
  readonly "org.medicalkg.orchestration.gate.waiting": GateData;
  /** A gate's condition holds; the job goes on. */
  readonly "org.medicalkg.orchestration.gate.opened": GateData;
  /** A job waited at a gate longer than its timeout. */
  readonly "org.medicalkg.orchestration.gate.timed_out": GateData;
  /** A PDF was sent to MinerU to be parsed. */
  readonly "org.medicalkg.mineru.requested": MineruRequestedData;
  /** MinerU parsed the PDF. */
  readonly "org.medicalkg.mineru.completed": MineruCompletedData;
  /** MinerU could not parse the PDF. */
  readonly "org.medicalkg.mineru.failed": MineruFailedData;
}
