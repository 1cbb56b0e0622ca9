/**
 * The MinerU bridge over the `mineru.queue` contract: publishes `mineru.requested` for each job
 * waiting for its PDF to be parsed (once per job, by one bridge), and applies the answers
 * external GPU workers send back (`mineru.completed` / `mineru.failed`).
 *
 * @module
 */
import { Clock, Effect } from "effect";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  type StageError,
  Timeout,
} from "../stages/errors.ts";
import { pathToFileURL } from "node:url";
import type { MineruRequestedData } from "../lineage/cloudevent_types.ts";
import type { Document } from "../stages/ir.ts";
import type { StoreError } from "../lineage/outbox.ts";
import type { Config } from "./loader.ts";
import { type Job, JobLedger } from "./ledger.ts";
import type { PipelineRuntime } from "./runtime.ts";
import {
  awaitsParsing,
  exclusively,
  failed,
  leaseFor,
  parsed,
  parsingOf,
  requested,
} from "./mineru_parsing.ts";

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
