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
  readonly job_id: string;
  readonly tenant_id: string;
  readonly correlation_id: string;
}

/**
 * `data` of `pipeline.started` (and the fields every pipeline event shares).
 *
 * @category models
 */
export interface PipelineData extends JobData {
  readonly pipeline: string;
  readonly pipeline_version: string;
  readonly run_number: number;
}

/**
 * `data` of `pipeline.completed`.
 *
 * @category models
 */
export interface PipelineCompletedData extends PipelineData {
  readonly duration_ms: number;
  readonly stage_count: number;
}

/**
 * `data` of `pipeline.failed`: the stage that failed the job and why.
 *
 * @category models
 */
export interface PipelineFailedData extends PipelineData {
  readonly duration_ms: number;
  readonly error_type: StageErrorType;
  readonly error_message: string;
  readonly stage: string;
  readonly policy_name: string;
  readonly reason: string;
}

/**
 * `data` of `pipeline.paused` and `pipeline.resumed`.
 *
 * @category models
 */
export interface PipelinePauseData extends PipelineData {
  readonly reason?: string;
}

/**
 * `data` of `stage.started` (and the fields every stage event shares).
 *
 * @category models
 */
export interface StageData extends JobData {
  readonly stage: string;
  readonly attempt: number;
  readonly policy_name: string;
}

/**
 * `data` of `stage.completed`.
 *
 * @category models
 */
export interface StageCompletedData extends StageData {
  readonly duration_ms: number;
  readonly output_count: number;
  readonly gpu_used: boolean;
  readonly retry_count: number;
}

/**
 * `data` of `stage.failed`: the attempt after which the policy gave up.
 *
 * @category models
 */
export interface StageFailedData extends StageData {
  readonly error_type: StageErrorType;
  readonly error_message: string;
  readonly retry_count: number;
  readonly reason: string;
  readonly duration_ms: number;
}

/**
 * `data` of `stage.retrying`: a failed attempt that the policy will retry after `backoff_ms`.
 *
 * @category models
 */
export interface StageRetryingData extends StageData {
  readonly attempt_number: number;
  readonly backoff_ms: number;
  readonly error_type: StageErrorType;
  readonly error_message: string;
  readonly retry_count: number;
  readonly duration_ms: number;
}

/**
 * `data` of the gate events (`waiting`, `opened`, `timed_out`).
 *
 * @category models
 */
export interface GateData extends JobData {
  readonly gate: string;
  /** The gate's ledger condition, rendered as text. */
  readonly condition: string;
  readonly timeout_seconds: number;
  readonly waited_ms?: number;
}

/**
 * `data` of `mineru.requested`: a PDF for the MinerU GPU workers to parse.
 *
 * @category models
 */
export interface MineruRequestedData {
  readonly job_id: string;
  readonly tenant_id: string;
  readonly doc_id: string;
  /** Where the worker reads the PDF. */
  readonly pdf_uri: string;
  /** `sha256:` and the PDF's hex digest, for the worker to check what it read. */
  readonly checksum: string;
  /** 0 (lowest) to 9 (highest). */
  readonly priority: number;
  readonly correlation_id: string;
}

/**
 * The fields every MinerU result's `data` carries.
 *
 * @category models
 */
export interface MineruResultData {
  readonly job_id: string;
  readonly tenant_id: string;
  readonly doc_id: string;
  readonly correlation_id: string;
}

/**
 * `data` of `mineru.completed`: where the parsed document was stored.
 *
 * @category models
 */
export interface MineruCompletedData extends MineruResultData {
  readonly document_uri: string;
  readonly pages?: number;
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
  readonly reason: MineruFailureReason;
  readonly error_message: string;
}

/**
 * The `data` of each CloudEvent type.
 *
 * @category models
 */
export interface CloudEventDataByType {
  readonly "org.medicalkg.orchestration.pipeline.started": PipelineData;
  readonly "org.medicalkg.orchestration.pipeline.completed": PipelineCompletedData;
  readonly "org.medicalkg.orchestration.pipeline.failed": PipelineFailedData;
  readonly "org.medicalkg.orchestration.pipeline.paused": PipelinePauseData;
  readonly "org.medicalkg.orchestration.pipeline.resumed": PipelinePauseData;
  readonly "org.medicalkg.orchestration.stage.started": StageData;
  readonly "org.medicalkg.orchestration.stage.completed": StageCompletedData;
  readonly "org.medicalkg.orchestration.stage.failed": StageFailedData;
  readonly "org.medicalkg.orchestration.stage.retrying": StageRetryingData;
  readonly "org.medicalkg.orchestration.gate.waiting": GateData;
  readonly "org.medicalkg.orchestration.gate.opened": GateData;
  readonly "org.medicalkg.orchestration.gate.timed_out": GateData;
  readonly "org.medicalkg.mineru.requested": MineruRequestedData;
  readonly "org.medicalkg.mineru.completed": MineruCompletedData;
  readonly "org.medicalkg.mineru.failed": MineruFailedData;
}
