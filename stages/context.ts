/**
 * The immutable context every stage attempt receives.
 *
 * @module
 */

/** Who and what an attempt is running for. A new value is built for every attempt. */
export interface StageContext {
  /** The tenant the job belongs to. */
  readonly tenantId: string;
  /** The job's id. */
  readonly jobId: string;
  /** The document the job processes, `{source}:{docKey}`. */
  readonly docId: string;
  /** The job's correlation id, carried on its CloudEvents (`correlationid`). */
  readonly correlationId: string;
  /** The name and version of the pipeline being run. */
  readonly pipeline: { readonly name: string; readonly version: string };
  /** The stage's name in the pipeline YAML. */
  readonly stage: string;
  /** 1-based attempt number of this stage within the current pipeline run. */
  readonly attempt: number;
  /** Extra string values for the attempt. */
  readonly metadata: Readonly<Record<string, string>>;
}
