/**
 * A job's MinerU parsing, as both bridges (HTTP and the `mineru.queue` contract) record it: which
 * jobs wait for it, the lease that makes one bridge handle a job, and the ledger changes and
 * lineage events of a request, a parsed document and a failure. MinerU parsing is its own
 * OpenLineage job (`<pipeline>.mineru`); GPU failures fail the job at once, with no retry and no
 * fallback.
 *
 * @module
 */
import { Effect, Fiber } from "effect";
import { keepRenewing } from "../lineage/lease_renewal.ts";
import { type StageError, toErrorRecord } from "../stages/errors.ts";
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

/** The policy MinerU parsing runs under. */
export const MINERU_POLICY = "gpu-bound";

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
export const MINERU_WORK = "mineru";

/**
 * Runs `work` on the job with its MinerU lease held, so that of several bridges (processes or
 * passes) exactly one handles it; `undefined` when another holds it or, once claimed, the job
 * no longer waits for parsing (a bridge that held it first finished it).
 */
export const exclusively = <A, E, R>(
  job: Job,
  leaseMs: number,
  work: (job: Job) => Effect.Effect<A, E, R>,
): Effect.Effect<A | undefined, E | StoreError, R | JobLedger> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const holder = crypto.randomUUID();
    if (!(yield* ledger.claimWork(job.jobId, MINERU_WORK, holder, leaseMs))) return undefined;
    // Renewed while the work runs: waiting for a GPU permit or a slow parse must not let the
    // lease lapse and another bridge send the same PDF.
    const renewal = yield* Effect.forkChild(
      keepRenewing(ledger.claimWork(job.jobId, MINERU_WORK, holder, leaseMs), {
        everyMs: leaseMs / 3,
        graceMs: Number.POSITIVE_INFINITY,
      }),
    );
    return yield* Effect.gen(function* () {
      const current = yield* ledger.get(job.jobId);
      return current && awaitsParsing(current) ? yield* work(current) : undefined;
    }).pipe(
      Effect.ensuring(
        Effect.andThen(
          Fiber.interrupt(renewal),
          ledger.releaseWork(job.jobId, MINERU_WORK, holder).pipe(Effect.ignore),
        ),
      ),
    );
  });

// Longer than the parse may take under its policy, so a live bridge never loses its lease.
export const leaseFor = (config: Config): number =>
  (config.policies.get(MINERU_POLICY)?.timeoutSeconds ?? 600) * 1000 + 60_000;

/** One job's parsing: its run scope and the lineage identities of the MinerU run. */
export interface Parsing {
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

export const parsingOf = (job: Job, config: Config, service: string) =>
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
export const requested = (p: Parsing, timeMs: number, marker?: Record<string, unknown>) =>
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
export const parsed = (p: Parsing, document: Document, timeMs: number, durationMs?: number) =>
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
export const failed = (p: Parsing, error: StageError, timeMs: number) =>
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
