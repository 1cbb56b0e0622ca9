/**
 * The immutable context every stage attempt receives.
 *
 * @module
 */

/** Who and what an attempt is running for. A new value is built for every attempt. */
export interface StageContext {
  readonly tenantId: string;
  readonly jobId: string;
  readonly docId: string;
  readonly correlationId: string;
  readonly pipeline: { readonly name: string; readonly version: string };
  readonly stage: string;
  /** 1-based attempt number of this stage within the current pipeline run. */
  readonly attempt: number;
  readonly metadata: Readonly<Record<string, string>>;
}
