/**
 * The MinerU bridge over HTTP: takes jobs paused at a gate with their PDF downloaded and not yet
 * parsed, has the PDF parser (MinerU) turn the PDF into a document, stores it as the job's
 * `document` artifact and sets `pdf_ir_ready` (which wakes the sensor). GPU failures fail the job
 * at once, with no retry and no fallback. Several bridges may run at once (processes sharing a
 * PostgreSQL store): a lease on the job makes exactly one of them send its PDF.
 *
 * @module
 */
import { type Cause, Clock, Effect, Exit } from "effect";
import { isStageError, Permanent, type StageError } from "../stages/errors.ts";
import type { StoreError } from "../lineage/outbox.ts";
import { MINERU_JOB } from "../lineage/mineru_events.ts";
import type { Config } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import type { PipelineRuntime } from "./runtime.ts";
import { PdfParser } from "./pdf_parser.ts";
import { guardAttempt, type Resilience } from "../policies/resilience.ts";
import {
  awaitsParsing,
  exclusively,
  failed,
  leaseFor,
  MINERU_POLICY,
  parsed,
  parsingOf,
  requested,
} from "./mineru_parsing.ts";
import { observePdfParse } from "./run_metrics.ts";

/** What one bridge pass did, by job id. */
export interface BridgeReport {
  /** Jobs whose PDF was parsed: the document is stored and `pdf_ir_ready` is set. */
  readonly parsed: ReadonlyArray<string>;
  /** Jobs failed because parsing failed: the error (`Type: message`) and `mineru.failed` reason. */
  readonly failed: ReadonlyArray<
    { readonly jobId: string; readonly error: string; readonly reason: string }
  >;
}

const failureOf = (cause: Cause.Cause<StageError>): StageError => {
  const found = cause.reasons.find((r) => r._tag === "Fail");
  return found && isStageError(found.error)
    ? found.error
    : new Permanent({ message: "PDF parser crashed" });
};

const parseOne = (waiting: Job, config: Config) =>
  exclusively(waiting, leaseFor(config), (job) => parseClaimed(job, config));

const parseClaimed = (job: Job, config: Config) =>
  Effect.gen(function* () {
    const parser = yield* PdfParser;
    const p = yield* parsingOf(job, config, parser.service);
    if (!p || !job.pdf) return undefined;
    const start = yield* Clock.currentTimeMillis;
    yield* requested(p, start);
    // GPU work runs under the gpu-bound policy: one attempt, its timeout, and the breaker shared
    // by every job that calls this parser, so repeated GPU failures fail later jobs fast.
    const exit = yield* Effect.exit(guardAttempt(
      config.policies.get(MINERU_POLICY)!,
      { stage: `${p.pipeline}.${MINERU_JOB}`, dependency: parser.service },
      parser.parse({
        docId: job.docId,
        source: job.request.source,
        location: job.request.location,
        pdf: job.pdf,
      }),
    ));
    const end = yield* Clock.currentTimeMillis;
    yield* observePdfParse(Exit.isSuccess(exit) ? "parsed" : "failed", end - start);
    if (Exit.isSuccess(exit)) {
      yield* parsed(p, exit.value, end, end - start);
      return { _tag: "parsed" as const, jobId: job.jobId };
    }
    return { _tag: "failed" as const, ...(yield* failed(p, failureOf(exit.cause), end)) };
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
    const report: {
      parsed: string[];
      failed: Array<{ jobId: string; error: string; reason: string }>;
    } = { parsed: [], failed: [] };
    for (const r of results) {
      if (r?._tag === "parsed") report.parsed.push(r.jobId);
      else if (r?._tag === "failed") report.failed.push(r);
    }
    return report;
  });
