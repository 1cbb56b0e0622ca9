/**
 * Kit CloudEvents for the Kafka tests, built by the real event builders (`run_events.ts`,
 * `gate_events.ts`, `mineru_queue.ts`), and an in-memory outbox for driving the relay.
 */
import { Effect, Layer, Result } from "effect";
import {
  pipelineEvents,
  type PipelineRunScope,
  type StageAttempt,
  stageEvents,
} from "../../lineage/run_events.ts";
import { gateEvents } from "../../lineage/gate_events.ts";
import { makeMineruEvent } from "../../adapters/kafka/mineru_queue.ts";
import type { KitCloudEvent } from "../../lineage/cloudevent_types.ts";
import {
  type OutboxChannel,
  type OutboxEvent,
  type OutboxRow,
  OutboxStore,
} from "../../lineage/outbox.ts";
import type { OutboxWithDeliveryLog } from "../../lineage/delivery_log.ts";

/** The run scope of one document's job. */
export const scopeOf = (docId: string, n = 1): PipelineRunScope => ({
  namespace: "test",
  pipeline: { name: "pdf", version: "1.0.0", description: "test pipeline" },
  jobId: `job-${docId}`,
  tenantId: "default",
  docId,
  correlationId: `corr-${n}`,
  runNumber: 1,
  runCreatedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
});

const attemptOf = (stage: string, attempt = 1): StageAttempt => ({
  stage,
  type: stage === "download" ? "Download" : stage === "pdf_ready" ? "Gate" : "Chunk",
  attempt,
  maxAttempts: 3,
  policy: "default",
  implementation: "test",
  inputs: [],
  outputs: [],
});

const at = (scope: PipelineRunScope, ms: number) => new Date(scope.runCreatedAt.getTime() + ms);

/** Every outbox event (both channels) of one document's run: a retry, a gate, then a failure. */
export const runOutbox = (scope: PipelineRunScope): ReadonlyArray<OutboxEvent> => {
  const dl1 = attemptOf("download", 1);
  const dl2 = attemptOf("download", 2);
  const gate = attemptOf("pdf_ready");
  const chunk = attemptOf("chunk");
  const transient = { type: "Transient" as const, message: "503 Service Unavailable" };
  const gateT = { condition: "pdf_ir_ready equals true", timeoutSeconds: 900 };
  return [
    ...pipelineEvents(scope, { transition: "START", event: "started", time: at(scope, 0) }),
    ...stageEvents(scope, dl1, { transition: "START", event: "started", time: at(scope, 1) }),
    ...stageEvents(scope, dl1, {
      transition: "FAIL",
      event: "retrying",
      time: at(scope, 5),
      durationMs: 4,
      error: transient,
      retryCount: 0,
      backoffMs: 1374,
    }),
    ...stageEvents(scope, dl2, { transition: "START", event: "started", time: at(scope, 1400) }),
    ...stageEvents(scope, dl2, {
      transition: "COMPLETE",
      event: "completed",
      time: at(scope, 1450),
      durationMs: 50,
      outputCount: 1,
      retryCount: 1,
    }),
    ...gateEvents(scope, gate, {
      transition: "START",
      event: "started",
      time: at(scope, 1451),
      ...gateT,
    }),
    ...gateEvents(scope, gate, {
      transition: "RUNNING",
      event: "waiting",
      time: at(scope, 1452),
      ...gateT,
    }),
    ...pipelineEvents(scope, {
      transition: "RUNNING",
      event: "paused",
      time: at(scope, 1453),
      reason: "waiting at gate pdf_ready",
    }),
    ...pipelineEvents(scope, {
      transition: "RUNNING",
      event: "resumed",
      time: at(scope, 9000),
      reason: "gate pdf_ready opened",
    }),
    ...gateEvents(scope, gate, {
      transition: "COMPLETE",
      event: "opened",
      time: at(scope, 9001),
      waitedMs: 7548,
      ...gateT,
    }),
    ...stageEvents(scope, chunk, { transition: "START", event: "started", time: at(scope, 9002) }),
    ...stageEvents(scope, chunk, {
      transition: "FAIL",
      event: "failed",
      time: at(scope, 9010),
      durationMs: 8,
      error: { type: "InvalidInput", message: "sections: expected array" },
      retryCount: 0,
      reason: "invalid_input",
    }),
    ...pipelineEvents(scope, {
      transition: "FAIL",
      event: "failed",
      time: at(scope, 9011),
      durationMs: 9011,
      error: {
        type: "InvalidInput",
        message: "sections: expected array",
        stage: "chunk",
        policy: "default",
      },
      reason: "stage_failed",
    }),
  ];
};

/** The CloudEvents of {@link runOutbox}. */
export const runCloudEvents = (scope: PipelineRunScope): ReadonlyArray<KitCloudEvent> =>
  runOutbox(scope).filter((e) => e.channel === "cloudevents").map((e) =>
    e.payload as KitCloudEvent
  );

/** One event of each MinerU type for a document. */
export const mineruEvents = (docId: string): ReadonlyArray<KitCloudEvent> => {
  const ids = { job_id: `job-${docId}`, tenant_id: "default", doc_id: docId, correlation_id: "c" };
  const time = new Date("2026-01-01T00:00:00Z");
  return [
    makeMineruEvent("org.medicalkg.mineru.requested", {
      ...ids,
      pdf_uri: `file:///pdfs/${docId}.pdf`,
      checksum: `sha256:${"ab".repeat(32)}`,
      priority: 5,
    }, { time }),
    makeMineruEvent("org.medicalkg.mineru.completed", {
      ...ids,
      document_uri: `file:///documents/${docId}.json`,
      pages: 6,
      duration_ms: 48211,
    }, { time }),
    makeMineruEvent("org.medicalkg.mineru.failed", {
      ...ids,
      reason: "gpu_oom",
      error_message: "CUDA out of memory",
    }, { time }),
  ].map(Result.getOrThrow);
};

/** Outbox rows of several documents' runs, interleaved event by event (as concurrent jobs do). */
export const interleavedRows = (docIds: ReadonlyArray<string>): ReadonlyArray<OutboxRow> => {
  const perDoc = docIds.map((d, i) => runOutbox(scopeOf(d, i + 1)));
  const rows: Array<OutboxRow> = [];
  const longest = Math.max(...perDoc.map((e) => e.length));
  for (let i = 0; i < longest; i++) {
    perDoc.forEach((events, d) => {
      if (i < events.length) {
        rows.push({ ...events[i], seq: rows.length + 1, jobId: `job-${docIds[d]}` });
      }
    });
  }
  return rows;
};

/** An outbox over fixed rows with per-sink delivery records, as the relay sees the store. */
export const memoryOutbox = (
  rows: ReadonlyArray<OutboxRow>,
): Layer.Layer<OutboxStore> => {
  const settled = new Map<string, Set<number>>();
  const dead = new Map<string, Set<number>>();
  const leases = new Map<string, string>();
  const of = (m: Map<string, Set<number>>, sink: string) =>
    m.get(sink) ?? m.set(sink, new Set()).get(sink)!;
  const open = (sink: string, channels: ReadonlyArray<OutboxChannel>) =>
    rows.filter((r) => channels.includes(r.channel) && !of(settled, sink).has(r.seq));
  const all: ReadonlyArray<OutboxChannel> = ["openlineage", "cloudevents"];
  const log: OutboxWithDeliveryLog = {
    pending: (sink, limit) => Effect.sync(() => open(sink, all).slice(0, limit)),
    acknowledge: (sink, seq) =>
      Effect.sync(() => rows.forEach((r) => r.seq <= seq && of(settled, sink).add(r.seq))),
    backlog: (sink) => Effect.sync(() => open(sink, all).length),
    totals: () =>
      Effect.sync(() => ({
        openlineage: rows.filter((r) => r.channel === "openlineage").length,
        cloudevents: rows.filter((r) => r.channel === "cloudevents").length,
      })),
    pendingFor: (sink, channels, limit, after = 0) =>
      Effect.sync(() => open(sink, channels).filter((r) => r.seq > after).slice(0, limit)),
    settle: (sink, record) =>
      Effect.sync(() => {
        const seqs = [
          ...(record.delivered ?? []),
          ...(record.skipped ?? []),
          ...(record.deadLetters ?? []).map((d) => d.seq),
        ];
        seqs.forEach((seq) => of(settled, sink).add(seq));
        (record.deadLetters ?? []).forEach((d) => of(dead, sink).add(d.seq));
      }),
    counts: (sink, channels) =>
      Effect.sync(() => ({
        pending: open(sink, channels).length,
        deadLettered: of(dead, sink).size,
      })),
    know: () => Effect.void,
    compact: () => Effect.void,
    // One relay at a time, as the SQL store's leases do.
    claim: (sink, holder) =>
      Effect.sync(() => {
        const current = leases.get(sink);
        if (current !== undefined && current !== holder) return false;
        leases.set(sink, holder);
        return true;
      }),
    release: (sink, holder) =>
      Effect.sync(() => void (leases.get(sink) === holder && leases.delete(sink))),
  };
  return Layer.succeed(OutboxStore, log);
};
