/**
 * The MinerU bridge: takes jobs paused at a gate with their PDF downloaded and not yet parsed,
 * has the PDF parser (MinerU) turn the PDF into a document, stores it as the job's `document`
 * artifact and sets `pdf_ir_ready` (which wakes the sensor). GPU failures fail the job at once,
 * with no retry and no fallback; MinerU parsing is its own OpenLineage job. Several bridges may
 * run at once (processes sharing a PostgreSQL store): a lease on the job makes exactly one of
 * them send its PDF.
 *
 * @module
 */
import { type Cause, Clock, Effect, Exit } from "effect";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  isStageError,
  Permanent,
  type StageError,
  Timeout,
  toErrorRecord,
} from "../stages/errors.ts";
import { pathToFileURL } from "node:url";
import type { MineruRequestedData } from "../lineage/cloudevent_types.ts";
import type { Document } from "../stages/ir.ts";
import type { StageErrorRecord } from "../stages/errors.ts";
import { gateEvents } from "../lineage/gate_events.ts";
import type { StoreError } from "../lineage/outbox.ts";
import { pipelineEvents, type PipelineRunScope } from "../lineage/run_events.ts";
import { MINERU_JOB, mineruEvents } from "../lineage/mineru_events.ts";
import type { DatasetId } from "../lineage/datasets.ts";
import type { Config } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import { PipelineRuntime } from "./runtime.ts";
import { runScope } from "./run_claim.ts";
import { PdfParser } from "./pdf_parser.ts";
import { guardAttempt, type Resilience } from "../policies/resilience.ts";

/** The policy MinerU parsing runs under. */
export const MINERU_POLICY = "gpu-bound";

/** What one bridge pass did, by job id. */
export interface BridgeReport {
  /** Jobs whose PDF was parsed: the document is stored and `pdf_ir_ready` is set. */
  readonly parsed: ReadonlyArray<string>;
  /** Jobs failed because parsing failed: the error (`Type: message`) and `mineru.failed` reason. */
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

/** The ledger lease a bridge holds on a job while it sends the PDF and records the answer. */
const MINERU_WORK = "mineru";

/**
 * Runs `work` on the job with its MinerU lease held, so that of several bridges (processes or
 * passes) exactly one handles it; `undefined` when another holds it or, once claimed, the job
 * no longer waits for parsing (a bridge that held it first finished it).
 */
const exclusively = <A, E, R>(
  job: Job,
  leaseMs: number,
  work: (job: Job) => Effect.Effect<A, E, R>,
): Effect.Effect<A | undefined, E | StoreError, R | JobLedger> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const holder = crypto.randomUUID();
    if (!(yield* ledger.claimWork(job.jobId, MINERU_WORK, holder, leaseMs))) return undefined;
    return yield* Effect.gen(function* () {
      const current = yield* ledger.get(job.jobId);
      return current && awaitsParsing(current) ? yield* work(current) : undefined;
    }).pipe(
      Effect.ensuring(ledger.releaseWork(job.jobId, MINERU_WORK, holder).pipe(Effect.ignore)),
    );
  });

// Longer than the parse may take under its policy, so a live bridge never loses its lease.
const leaseFor = (config: Config): number =>
  (config.policies.get(MINERU_POLICY)?.timeoutSeconds ?? 600) * 1000 + 60_000;

/** One job's parsing: its run scope and the lineage identities of the MinerU run. */
interface Parsing {
  readonly job: Job;
  readonly scope: PipelineRunScope;
  readonly pipeline: string;
  /** The policy of the gate the job waits at (for its closing event). */
  readonly gatePolicy: string;
  readonly base: {
    readonly attempt: number;
    readonly pdf: { uri: string; sha256: string; dataset: DatasetId };
    readonly document: DatasetId;
    readonly service: string;
  };
}

const parsingOf = (job: Job, config: Config, service: string) =>
  Effect.gen(function* () {
    const runtime = yield* PipelineRuntime;
    const pipeline = config.pipeline(job.pipeline);
    if (!pipeline || !job.pdf || !job.runCreatedAt) return undefined;
    return {
      job,
      pipeline: pipeline.name,
      gatePolicy: pipeline.stages.find((st) => st.name === job.currentStage)?.policy ?? "default",
      scope: runScope(job, pipeline, runtime, job.runNumber, job.runCreatedAt, job.resumes),
      base: {
        attempt: 1,
        pdf: {
          uri: job.pdf.uri,
          sha256: job.pdf.sha256,
          dataset: { namespace: "file", name: job.pdf.path, kind: "table" },
        },
        document: {
          namespace: runtime.store.namespace,
          name: `${runtime.store.prefix}.public.lk_artifacts`,
          kind: "table",
        },
        service,
      },
    } satisfies Parsing;
  });

/** Records that the PDF was sent to MinerU (`mineru.requested`, the MinerU run's START). */
const requested = (p: Parsing, timeMs: number, marker?: Record<string, unknown>) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const events = mineruEvents(p.scope, {
      ...p.base,
      transition: "START",
      time: new Date(timeMs),
    });
    yield* marker
      ? ledger.setFields(p.job.jobId, { artifacts: { mineru_request: marker } }, events)
      : ledger.appendEvents(p.job.jobId, events);
  });

/** Stores the parsed document and sets `pdf_ir_ready` (which wakes the sensor). */
const parsed = (p: Parsing, document: Document, timeMs: number, durationMs?: number) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const pages = new Set(
      document.sections.flatMap((s) => s.blocks.flatMap((b) => (b.page ? [b.page] : []))),
    ).size;
    yield* ledger.setFields(
      p.job.jobId,
      { pdfIrReady: true, artifacts: { document } },
      mineruEvents(p.scope, {
        ...p.base,
        transition: "COMPLETE",
        time: new Date(timeMs),
        pages,
        ...(durationMs !== undefined ? { durationMs } : {}),
      }),
    );
  });

/** Fails the job at once: MinerU could not parse its PDF. */
const failed = (p: Parsing, error: StageError, timeMs: number) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const time = new Date(timeMs);
    const record = toErrorRecord(error);
    const reason = mineruFailureReason(error);
    const jobError = { ...record, stage: MINERU_JOB, policy: MINERU_POLICY, attempts: 1 };
    const mineruFail = mineruEvents(p.scope, {
      ...p.base,
      transition: "FAIL",
      time,
      error: record,
      reason,
    });
    const ended = yield* ledger.finishRun(
      {
        jobId: p.job.jobId,
        runNumber: p.job.runNumber,
        status: "failed",
        error: jobError,
        stage: MINERU_JOB,
        reason: `mineru: ${reason}`,
        at: time,
        from: ["paused"],
      },
      [
        ...mineruFail,
        // The gate's run, open since the job paused there, ends too.
        ...gateClosingEvents(p, time, record),
        ...pipelineEvents(p.scope, {
          transition: "FAIL",
          event: "failed",
          time,
          durationMs: timeMs - p.scope.runCreatedAt.getTime(),
          error: jobError,
          reason,
        }),
      ],
    );
    // Another process ended the job first (timeout, resume): the MinerU run still ends.
    if (!ended) yield* ledger.appendEvents(p.job.jobId, mineruFail);
    return { jobId: p.job.jobId, error: `${record.type}: ${record.message}`, reason };
  });

/** The gate stage run's FAIL, when the job is paused at a gate of its pipeline. */
const gateClosingEvents = (p: Parsing, time: Date, error: StageErrorRecord) => {
  const gate = p.job.currentStage;
  if (!gate) return [];
  return gateEvents(p.scope, {
    stage: gate,
    type: "Gate",
    attempt: 1,
    maxAttempts: 1,
    policy: p.gatePolicy,
    implementation: "ledger-gate",
    inputs: [],
    outputs: [],
  }, {
    transition: "FAIL",
    event: "failed",
    time,
    condition: "",
    timeoutSeconds: 0,
    waitedMs: time.getTime() - (p.job.pausedAt?.getTime() ?? time.getTime()),
    error,
  });
};

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

/** Where requests go when external GPU workers parse PDFs (the `mineru.queue` contract). */
export interface MineruQueuePort {
  /** The queue, for lineage (e.g. `mineru-queue@broker:9092`). */
  readonly service: string;
  /** Publishes one parse request. */
  readonly request: (data: MineruRequestedData) => Effect.Effect<void, StageError>;
}

/** A worker's answer, as the bridge needs it. */
export type MineruAnswer =
  | {
    readonly type: "completed";
    readonly jobId: string;
    readonly documentUri: string;
    readonly durationMs?: number;
  }
  | {
    readonly type: "failed";
    readonly jobId: string;
    readonly reason: string;
    readonly message: string;
  };

const errorOfReason = (reason: string, message: string): StageError => {
  switch (reason) {
    case "gpu_oom":
      return new GpuOutOfMemory({ message });
    case "gpu_unavailable":
      return new GpuUnavailable({ message });
    case "timeout":
      return new Timeout({ message, timeoutMs: 0 });
    default:
      return new InvalidInput({ message, path: "pdf" });
  }
};

/**
 * Publishes `mineru.requested` for each job waiting for its PDF to be parsed and not yet
 * requested; the request is remembered (artifact `mineru_request`) so a job is sent once.
 */
export const requestTick = (
  config: Config,
  queue: MineruQueuePort,
): Effect.Effect<ReadonlyArray<string>, StoreError, JobLedger | PipelineRuntime> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const sent: string[] = [];
    for (const waiting of (yield* ledger.list({ statuses: ["paused"] })).filter(awaitsParsing)) {
      const requestedNow = yield* exclusively(
        waiting,
        leaseFor(config),
        (job) =>
          Effect.gen(function* () {
            if ((yield* ledger.artifacts(job.jobId)).has("mineru_request")) return false;
            const p = yield* parsingOf(job, config, queue.service);
            if (!p || !job.pdf) return false;
            const data: MineruRequestedData = {
              job_id: job.jobId,
              tenant_id: job.tenantId,
              doc_id: job.docId,
              pdf_uri: pathToFileURL(job.pdf.path).href,
              checksum: `sha256:${job.pdf.sha256}`,
              priority: 0,
              correlation_id: job.correlationId,
            };
            const sentOk = yield* Effect.result(queue.request(data));
            if (sentOk._tag === "Failure") return false; // stays unrequested: the next pass sends it
            yield* requested(p, yield* Clock.currentTimeMillis, { sentTo: queue.service });
            return true;
          }),
      );
      if (requestedNow === true) sent.push(waiting.jobId);
    }
    return sent;
  });

/**
 * Applies a worker's answer: a completed one loads the document (`load` reads the worker's
 * content list at `document_uri`) and sets `pdf_ir_ready`; a failed one fails the job. Answers for
 * jobs no longer waiting (duplicates) are ignored.
 */
export const applyAnswer = <E>(
  config: Config,
  queue: Pick<MineruQueuePort, "service">,
  answer: MineruAnswer,
  load: (uri: string, job: Job) => Effect.Effect<Document, E>,
): Effect.Effect<"parsed" | "failed" | "ignored", StoreError, JobLedger | PipelineRuntime> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const job = yield* ledger.get(answer.jobId);
    if (!job || !awaitsParsing(job)) return "ignored";
    const p = yield* parsingOf(job, config, queue.service);
    if (!p) return "ignored";
    const now = yield* Clock.currentTimeMillis;
    if (answer.type === "failed") {
      yield* failed(p, errorOfReason(answer.reason, answer.message), now);
      return "failed";
    }
    const document = yield* Effect.result(load(answer.documentUri, job));
    if (document._tag === "Failure") {
      const message = `cannot read the parsed document at ${answer.documentUri}: ${
        String(document.failure)
      }`;
      yield* failed(p, new InvalidInput({ message, path: "document_uri" }), now);
      return "failed";
    }
    yield* parsed(p, document.success, now, answer.durationMs);
    return "parsed";
  });
