/**
 * The paired events of MinerU parsing, its own OpenLineage job (`<pipeline>.mineru`, a child of
 * the pipeline run) reading the PDF file dataset and writing the document: START ↔
 * `mineru.requested`, COMPLETE ↔ `mineru.completed`, FAIL ↔ `mineru.failed`.
 *
 * @module
 */
import type { StageErrorRecord } from "../stages/errors.ts";
import type { DatasetId } from "./datasets.ts";
import * as Facets from "./facets.ts";
import type { OutboxEvent } from "./outbox.ts";
import {
  baseData,
  cloudEvent,
  pipelineRunId,
  type PipelineRunScope,
  runEvent,
  stageRunId,
} from "./run_events.ts";

/** The MinerU OpenLineage job's stage name within a pipeline. */
export const MINERU_JOB = "mineru";

/** One MinerU transition. */
export interface MineruTransition {
  /** The OpenLineage event type: START (`mineru.requested`), COMPLETE or FAIL. */
  readonly transition: "START" | "COMPLETE" | "FAIL";
  /** When the transition happened. */
  readonly time: Date;
  /** The MinerU run's attempt number, 1 for the first. */
  readonly attempt: number;
  /** The PDF to parse: where it is, its SHA-256 hex digest, and its file dataset. */
  readonly pdf: { readonly uri: string; readonly sha256: string; readonly dataset: DatasetId };
  /** The dataset the parsed document is stored in. */
  readonly document: DatasetId;
  /** The parsing service, recorded in the `lineageKit_gpu` run facet. */
  readonly service: string;
  /** How many pages the parsed document has (`pages`, `outputStatistics`). */
  readonly pages?: number;
  /** How long the parse took, in milliseconds (`duration_ms`). */
  readonly durationMs?: number;
  /** What went wrong, on FAIL. */
  readonly error?: StageErrorRecord;
  /** gpu_oom | gpu_unavailable | bad_pdf | timeout */
  readonly reason?: string;
}

const dataset = (d: DatasetId) => ({
  namespace: d.namespace,
  name: d.name,
  facets: { dataSource: Facets.dataSource(d.namespace) },
});

/** Where the parsed document is stored, as a URL (the artifact row of the job). */
export const documentUri = (store: DatasetId, jobId: string): string =>
  store.namespace === "file"
    ? new URL(`file://${store.name}/${encodeURIComponent(jobId)}/document`).href
    : `${store.namespace}/${store.name}/${encodeURIComponent(jobId)}/document`;

/** The paired events of a MinerU transition. */
export const mineruEvents = (
  scope: PipelineRunScope,
  t: MineruTransition,
): ReadonlyArray<OutboxEvent> => {
  const runId = stageRunId(scope, MINERU_JOB, t.attempt);
  const base = { ...baseData(scope), doc_id: scope.docId };
  const data = t.transition === "START"
    ? { ...base, pdf_uri: t.pdf.uri, checksum: `sha256:${t.pdf.sha256}`, priority: 0 }
    : t.transition === "COMPLETE"
    ? {
      ...base,
      document_uri: documentUri(t.document, scope.jobId),
      ...(t.pages !== undefined ? { pages: t.pages } : {}),
      ...(t.durationMs !== undefined ? { duration_ms: t.durationMs } : {}),
    }
    : { ...base, reason: t.reason ?? "bad_pdf", error_message: t.error?.message ?? "" };
  const event = t.transition === "START"
    ? "requested"
    : t.transition === "COMPLETE"
    ? "completed"
    : "failed";
  return [
    runEvent({
      transition: t.transition,
      time: t.time,
      runId,
      runFacets: {
        parent: Facets.parent({
          namespace: scope.namespace,
          job: scope.pipeline.name,
          runId: pipelineRunId(scope),
        }),
        lineageKit_gpu: Facets.gpu({ gpuUsed: true, service: t.service }),
        ...(t.error
          ? { errorMessage: Facets.errorMessage(`${t.error.type}: ${t.error.message}`) }
          : {}),
      },
      job: { namespace: scope.namespace, name: `${scope.pipeline.name}.${MINERU_JOB}` },
      jobFacets: { jobType: Facets.jobType("TASK") },
      inputs: [dataset(t.pdf.dataset)],
      outputs: [{
        ...dataset(t.document),
        ...(t.transition === "COMPLETE" && t.pages !== undefined
          ? { outputFacets: { outputStatistics: Facets.outputStatistics(t.pages) } }
          : {}),
      }],
    }),
    cloudEvent({
      scope,
      type: `org.medicalkg.mineru.${event}`,
      stage: MINERU_JOB,
      runId,
      transition: t.transition,
      time: t.time,
      data,
    }),
  ];
};
