/**
 * The MinerU bridge: takes jobs paused at a gate with their PDF downloaded and not yet parsed,
 * has the PDF parser (MinerU) turn the PDF into a document, stores it as the job's `document`
 * artifact and sets `pdf_ir_ready` (which wakes the sensor). GPU failures fail the job at once,
 * with no retry and no fallback; MinerU parsing is its own OpenLineage job.
 *
 * @module
 */
import { Clock, Effect, Exit } from "effect";
import { isStageError, Permanent, type StageError, toErrorRecord } from "../stages/errors.ts";
import type { StoreError } from "../lineage/outbox.ts";
import { pipelineEvents } from "../lineage/run_events.ts";
import { MINERU_JOB, mineruEvents } from "../lineage/mineru_events.ts";
import type { DatasetId } from "../lineage/datasets.ts";
import type { Config } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import { PipelineRuntime } from "./runtime.ts";
import { runScope } from "./runner.ts";
import { PdfParser } from "./pdf_parser.ts";
import { guardAttempt, type Resilience } from "../policies/resilience.ts";

/** The policy MinerU parsing runs under. */
export const MINERU_POLICY = "gpu-bound";

/** What one bridge pass did, by job id. */
export interface BridgeReport {
  readonly parsed: ReadonlyArray<string>;
  readonly failed: ReadonlyArray<
    { readonly jobId: string; readonly error: string; readonly reason: string }
  >;
}

/** The `mineru.failed` reason of an error. */
export const mineruFailureReason = (error: StageError): string => {
  switch (error._tag) {
    case "GpuOutOfMemory":
      return "gpu_oom";
    case "GpuUnavailable":
    case "CircuitOpen":
      // An open breaker means the GPU service failed repeatedly: it is unavailable.
      return "gpu_unavailable";
    case "Timeout":
      return "timeout";
    default:
      return "bad_pdf";
  }
};

/** Whether the bridge should take the job now. */
export const awaitsParsing = (job: Job): boolean =>
  job.status === "paused" && job.pdfDownloaded && !job.pdfIrReady && job.pdf !== null;

const parseOne = (job: Job, config: Config) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const runtime = yield* PipelineRuntime;
    const parser = yield* PdfParser;
    const pipeline = config.pipeline(job.pipeline);
    if (!pipeline || !job.pdf || !job.runCreatedAt) return undefined;
    const scope = runScope(job, pipeline, runtime, job.runNumber, job.runCreatedAt);
    const attempt = (job.attempts[MINERU_JOB] ?? 0) + 1;
    const pdf = {
      uri: job.pdf.uri,
      sha256: job.pdf.sha256,
      dataset: { namespace: "file", name: job.pdf.path, kind: "table" } satisfies DatasetId,
    };
    const document: DatasetId = {
      namespace: runtime.store.namespace,
      name: `${runtime.store.prefix}.public.lk_artifacts`,
      kind: "table",
    };
    const base = { attempt, pdf, document, service: parser.service };
    const start = yield* Clock.currentTimeMillis;
    yield* ledger.appendEvents(
      job.jobId,
      mineruEvents(scope, { ...base, transition: "START", time: new Date(start) }),
    );
    // GPU work runs under the gpu-bound policy: one attempt, its timeout, and the breaker shared
    // by every job that calls this parser, so repeated GPU failures fail later jobs fast.
    const exit = yield* Effect.exit(guardAttempt(
      config.policies.get(MINERU_POLICY)!,
      { stage: `${pipeline.name}.${MINERU_JOB}`, dependency: parser.service },
      parser.parse({
        docId: job.docId,
        source: job.request.source,
        location: job.request.location,
        pdf: job.pdf,
      }),
    ));
    const end = yield* Clock.currentTimeMillis;
    const time = new Date(end);
    if (Exit.isSuccess(exit)) {
      const pages = new Set(
        exit.value.sections.flatMap((s) => s.blocks.flatMap((b) => (b.page ? [b.page] : []))),
      ).size;
      yield* ledger.setFields(
        job.jobId,
        { pdfIrReady: true, artifacts: { document: exit.value } },
        mineruEvents(scope, {
          ...base,
          transition: "COMPLETE",
          time,
          pages,
          durationMs: end - start,
        }),
      );
      return { _tag: "parsed" as const, jobId: job.jobId };
    }
    const found = exit.cause.reasons.find((r) => r._tag === "Fail");
    const error: StageError = found && isStageError(found.error)
      ? found.error
      : new Permanent({ message: "PDF parser crashed" });
    const record = toErrorRecord(error);
    const reason = mineruFailureReason(error);
    const jobError = { ...record, stage: MINERU_JOB, policy: MINERU_POLICY, attempts: attempt };
    yield* ledger.finishRun(
      {
        jobId: job.jobId,
        runNumber: job.runNumber,
        status: "failed",
        error: jobError,
        stage: MINERU_JOB,
        reason: `mineru: ${reason}`,
        at: time,
        from: ["paused"],
      },
      [
        ...mineruEvents(scope, { ...base, transition: "FAIL", time, error: record, reason }),
        ...pipelineEvents(scope, {
          transition: "FAIL",
          event: "failed",
          time,
          durationMs: end - scope.runCreatedAt.getTime(),
          error: jobError,
          reason,
        }),
      ],
    );
    return {
      _tag: "failed" as const,
      jobId: job.jobId,
      error: `${record.type}: ${record.message}`,
      reason,
    };
  });

/** One bridge pass over the jobs waiting for their PDF to be parsed. */
export const bridgeTick = (
  config: Config,
  options: { readonly concurrency?: number } = {},
): Effect.Effect<BridgeReport, StoreError, JobLedger | PipelineRuntime | PdfParser | Resilience> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const waiting = (yield* ledger.list({ statuses: ["paused"] })).filter(awaitsParsing);
    const results = yield* Effect.forEach(waiting, (job) => parseOne(job, config), {
      // One PDF at a time by default: MinerU serialises GPU work anyway, and the breaker then
      // sees failures in order, so the threshold stops requests exactly when reached.
      concurrency: options.concurrency ?? 1,
    });
    const parsed: string[] = [];
    const failed: Array<{ jobId: string; error: string; reason: string }> = [];
    for (const r of results) {
      if (r?._tag === "parsed") parsed.push(r.jobId);
      else if (r?._tag === "failed") failed.push(r);
    }
    return { parsed, failed };
  });
