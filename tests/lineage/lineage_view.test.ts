import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  datasetLabel,
  type LineageEvent,
  lineageGraph,
  matchRunId,
  runTimeline,
  summarizeRuns,
} from "../../lineage/lineage_view.ts";
import {
  pipelineEvents,
  pipelineRunId,
  type PipelineRunScope,
  type StageAttempt,
  stageEvents,
  stageRunId,
} from "../../lineage/run_events.ts";
import { gateEvents } from "../../lineage/gate_events.ts";
import { sourceDatasets } from "../../lineage/datasets.ts";

// The graph is generic over dataset identities: these read as the older in-memory hand-offs.
const HANDOFF_NAMESPACE = "inmemory://lineage-kit";
import type { OutboxEvent } from "../../lineage/outbox.ts";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { openStore } from "../../adapters/store/store.ts";
import { readLineageEvents } from "../../cli/_lineage_events.ts";
import { runCli, tempDir } from "../_harness.ts";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();

const scopeOf = (docId: string, startMs: number): PipelineRunScope => ({
  namespace: "test",
  pipeline: { name: "auto", version: "1.0.0", description: "test pipeline" },
  jobId: `job-${docId}`,
  tenantId: "default",
  docId,
  correlationId: `corr-${docId}`,
  runNumber: 1,
  runCreatedAt: at(startMs),
});

const handoff = (name: string) => ({
  namespace: HANDOFF_NAMESPACE,
  name,
  kind: "checkpoint" as const,
});
const ingest = (attempt = 1): StageAttempt => ({
  stage: "ingest",
  type: "Ingest",
  attempt,
  maxAttempts: 3,
  policy: "polite-api",
  implementation: "test",
  inputs: [sourceDatasets.openalex],
  outputs: [handoff("auto.ingest")],
});
const parse: StageAttempt = {
  stage: "parse",
  type: "Parse",
  attempt: 1,
  maxAttempts: 1,
  policy: "default",
  implementation: "test",
  inputs: [handoff("auto.ingest")],
  outputs: [handoff("auto.parse")],
};
const gate: StageAttempt = { ...parse, stage: "pdf_ready", type: "Gate", inputs: [], outputs: [] };
const gateT = { condition: "pdf_ir_ready equals true", timeoutSeconds: 900 };

const ok = scopeOf("openalex:W1", 0);
const retried = scopeOf("openalex:W2", 1000);
const paused = scopeOf("openalex:W3", 2000);

const okRun: ReadonlyArray<OutboxEvent> = [
  ...pipelineEvents(ok, { transition: "START", event: "started", time: at(0) }),
  ...stageEvents(ok, ingest(), { transition: "START", event: "started", time: at(1) }),
  ...stageEvents(ok, ingest(), { transition: "COMPLETE", event: "completed", time: at(11) }),
  ...stageEvents(ok, parse, { transition: "START", event: "started", time: at(12) }),
  ...stageEvents(ok, parse, { transition: "COMPLETE", event: "completed", time: at(20) }),
  ...pipelineEvents(ok, {
    transition: "COMPLETE",
    event: "completed",
    time: at(25),
    durationMs: 25,
    stageCount: 2,
  }),
];
const failRun: ReadonlyArray<OutboxEvent> = [
  ...pipelineEvents(retried, { transition: "START", event: "started", time: at(1000) }),
  ...stageEvents(retried, ingest(1), { transition: "START", event: "started", time: at(1001) }),
  ...stageEvents(retried, ingest(1), {
    transition: "FAIL",
    event: "retrying",
    time: at(1005),
    error: { type: "Transient", message: "503 Service Unavailable" },
    backoffMs: 100,
  }),
  ...stageEvents(retried, ingest(2), { transition: "START", event: "started", time: at(1105) }),
  ...stageEvents(retried, ingest(2), {
    transition: "COMPLETE",
    event: "completed",
    time: at(1110),
  }),
  ...stageEvents(retried, parse, { transition: "START", event: "started", time: at(1111) }),
  ...stageEvents(retried, parse, {
    transition: "FAIL",
    event: "failed",
    time: at(1130),
    error: { type: "InvalidInput", message: "title: expected string" },
  }),
  ...pipelineEvents(retried, {
    transition: "FAIL",
    event: "failed",
    time: at(1131),
    durationMs: 131,
    reason: "stage_failed",
    error: {
      type: "InvalidInput",
      message: "title: expected string",
      stage: "parse",
      policy: "default",
    },
  }),
];
const pauseRun: ReadonlyArray<OutboxEvent> = [
  ...pipelineEvents(paused, { transition: "START", event: "started", time: at(2000) }),
  ...gateEvents(paused, gate, { transition: "START", event: "started", time: at(2001), ...gateT }),
  ...gateEvents(paused, gate, {
    transition: "RUNNING",
    event: "waiting",
    time: at(2002),
    ...gateT,
  }),
  ...pipelineEvents(paused, {
    transition: "RUNNING",
    event: "paused",
    time: at(2003),
    reason: "waiting at gate pdf_ready",
  }),
];

/** The OpenLineage events of runs as stored rows, numbered in order, tagged with their job. */
const asLineage = (
  ...runs: ReadonlyArray<readonly [PipelineRunScope, ReadonlyArray<OutboxEvent>]>
): LineageEvent[] =>
  runs.flatMap(([scope, outbox]) =>
    outbox.filter((e) => e.channel === "openlineage").map((e) => ({
      jobId: scope.jobId,
      docId: scope.docId,
      payload: e.payload,
    }))
  ).map((e, i) => ({ seq: i + 1, ...e }));

const events = asLineage([ok, okRun], [retried, failRun], [paused, pauseRun]);

describe("summarizeRuns()", () => {
  it("summarizes each pipeline run, newest first, with status, times, stages and attempts", () => {
    expect(summarizeRuns(events)).toEqual([
      {
        runId: pipelineRunId(paused),
        namespace: "test",
        pipeline: "auto",
        jobId: "job-openalex:W3",
        docId: "openalex:W3",
        status: "paused",
        started: iso(2000),
        ended: null,
        durationMs: null,
        stageCount: 1,
        attempts: 1,
        error: null,
      },
      {
        runId: pipelineRunId(retried),
        namespace: "test",
        pipeline: "auto",
        jobId: "job-openalex:W2",
        docId: "openalex:W2",
        status: "failed",
        started: iso(1000),
        ended: iso(1131),
        durationMs: 131,
        stageCount: 2,
        attempts: 3,
        error: "parse: InvalidInput: title: expected string",
      },
      {
        runId: pipelineRunId(ok),
        namespace: "test",
        pipeline: "auto",
        jobId: "job-openalex:W1",
        docId: "openalex:W1",
        status: "succeeded",
        started: iso(0),
        ended: iso(25),
        durationMs: 25,
        stageCount: 2,
        attempts: 2,
        error: null,
      },
    ]);
  });

  it("tells a resumed run (an even count of RUNNING) from a paused one, and skips malformed events", () => {
    const resumed = [
      ...pauseRun,
      ...pipelineEvents(paused, {
        transition: "RUNNING",
        event: "resumed",
        time: at(5000),
        reason: "gate pdf_ready opened",
      }),
    ];
    const withJunk: LineageEvent[] = [
      { seq: 0, jobId: null, docId: null, payload: { eventType: "START", n: 1 } },
      { seq: -1, jobId: null, docId: null, payload: "not json" },
      { seq: -2, jobId: null, docId: null, payload: null },
      ...asLineage([paused, resumed]),
    ];
    expect(summarizeRuns(withJunk).map((r) => r.status)).toEqual(["running"]);
    const done = [
      ...resumed,
      ...gateEvents(paused, gate, {
        transition: "COMPLETE",
        event: "opened",
        time: at(5001),
        ...gateT,
      }),
      ...pipelineEvents(paused, {
        transition: "COMPLETE",
        event: "completed",
        time: at(5002),
        durationMs: 3002,
        stageCount: 1,
      }),
    ];
    expect(summarizeRuns(asLineage([paused, done]))).toMatchObject([
      { status: "succeeded", durationMs: 3002, stageCount: 1, attempts: 1 },
    ]);
  });

  it("takes the job and document from stage events when the pipeline's own events lack them", () => {
    const events = asLineage([ok, okRun]).map((e, i) =>
      i === 0 ? { ...e, jobId: null, docId: null } : e
    );
    expect(summarizeRuns(events)[0]).toMatchObject({
      jobId: "job-openalex:W1",
      docId: "openalex:W1",
    });
  });
});

describe("runTimeline()", () => {
  it("lists every stage attempt of the run in start order, with retries and errors", () => {
    expect(runTimeline(events, pipelineRunId(retried))?.stages).toEqual([
      {
        runId: stageRunId(retried, "ingest", 1),
        job: "auto.ingest",
        stage: "ingest",
        attempt: 1,
        maxAttempts: 3,
        status: "failed",
        started: iso(1001),
        ended: iso(1005),
        durationMs: 4,
        error: "Transient: 503 Service Unavailable",
      },
      {
        runId: stageRunId(retried, "ingest", 2),
        job: "auto.ingest",
        stage: "ingest",
        attempt: 2,
        maxAttempts: 3,
        status: "succeeded",
        started: iso(1105),
        ended: iso(1110),
        durationMs: 5,
        error: null,
      },
      {
        runId: stageRunId(retried, "parse", 1),
        job: "auto.parse",
        stage: "parse",
        attempt: 1,
        maxAttempts: 1,
        status: "failed",
        started: iso(1111),
        ended: iso(1130),
        durationMs: 19,
        error: "InvalidInput: title: expected string",
      },
    ]);
  });

  it("shows a gate that has not opened as waiting, and is undefined for unknown or stage runs", () => {
    const t = runTimeline(events, pipelineRunId(paused));
    expect(t?.run.status).toBe("paused");
    expect(t?.stages).toEqual([{
      runId: stageRunId(paused, "pdf_ready", 1),
      job: "auto.pdf_ready",
      stage: "pdf_ready",
      attempt: 1,
      maxAttempts: 1,
      status: "waiting",
      started: iso(2001),
      ended: null,
      durationMs: null,
      error: null,
    }]);
    expect(runTimeline(events, "00000000-0000-7000-8000-000000000000")).toBeUndefined();
    expect(runTimeline(events, stageRunId(ok, "ingest", 1))).toBeUndefined();
  });
});

describe("matchRunId()", () => {
  const runs = summarizeRuns(events);
  const id = pipelineRunId(retried);
  it("finds a run by full id, unique prefix or unique suffix of at least 8 characters", () => {
    expect(matchRunId(runs, id.toUpperCase())).toEqual({ _tag: "Found", runId: id });
    expect(matchRunId(runs, id.slice(-12))).toEqual({ _tag: "Found", runId: id });
    expect(matchRunId(runs, id.slice(-7))).toEqual({ _tag: "NotFound" });
    expect(matchRunId(runs, "ffffffff")).toEqual({ _tag: "NotFound" });
  });
  it("reports every run a shared prefix matches", () => {
    // The three runs were created within seconds: UUIDv7 ids share their leading digits.
    expect(matchRunId(runs, id.slice(0, 8))).toEqual({
      _tag: "Ambiguous",
      candidates: runs.map((r) => r.runId).sort(),
    });
  });
});

describe("lineageGraph()", () => {
  it("has one node per job and dataset, input/output/parent edges, sorted by id", () => {
    const graph = lineageGraph(events);
    const api = "dataset:https://api.openalex.org:/works";
    const ing = "dataset:inmemory://lineage-kit:auto.ingest";
    const par = "dataset:inmemory://lineage-kit:auto.parse";
    expect(graph.nodes).toEqual([
      {
        id: api,
        kind: "dataset",
        namespace: "https://api.openalex.org",
        name: "/works",
        label: "api.openalex.org/works",
      },
      {
        id: ing,
        kind: "dataset",
        namespace: HANDOFF_NAMESPACE,
        name: "auto.ingest",
        label: "auto.ingest",
      },
      {
        id: par,
        kind: "dataset",
        namespace: HANDOFF_NAMESPACE,
        name: "auto.parse",
        label: "auto.parse",
      },
      ...["auto", "auto.ingest", "auto.parse", "auto.pdf_ready"].map((name) => ({
        id: `job:test:${name}`,
        kind: "job",
        namespace: "test",
        name,
        label: name,
        jobType: name === "auto" ? "DAG" : "TASK",
      })),
    ]);
    expect(graph.edges).toEqual([
      { from: api, to: "job:test:auto.ingest", kind: "input" },
      { from: ing, to: "job:test:auto.parse", kind: "input" },
      { from: "job:test:auto", to: "job:test:auto.ingest", kind: "parent" },
      { from: "job:test:auto", to: "job:test:auto.parse", kind: "parent" },
      { from: "job:test:auto", to: "job:test:auto.pdf_ready", kind: "parent" },
      { from: "job:test:auto.ingest", to: ing, kind: "output" },
      { from: "job:test:auto.parse", to: par, kind: "output" },
    ]);
  });

  it("labels datasets: API host and path, file name, store table, checkpoint as its stage", () => {
    expect(datasetLabel("https://clinicaltrials.gov", "/api/v2/studies")).toBe(
      "clinicaltrials.gov/api/v2/studies",
    );
    expect(datasetLabel("file", "/data/records/NCT06171568.json")).toBe("NCT06171568.json");
    expect(datasetLabel("file:///tmp/s/db", "postgres.public.lk_chunks")).toBe("public.lk_chunks");
    expect(datasetLabel("postgres://db:5432", "kit.public.lk_chunks")).toBe("public.lk_chunks");
    expect(datasetLabel("postgres://db:5432", "kit.public.lk_checkpoints.auto.parse")).toBe(
      "auto.parse",
    );
    expect(datasetLabel("file", "/tmp/s/db/postgres.public.lk_checkpoints.pdf.ingest")).toBe(
      "pdf.ingest",
    );
    expect(datasetLabel("inmemory://lineage-kit", "auto.parse")).toBe("auto.parse");
  });
});

describe("the view of a real store after run-pipeline", () => {
  let dir: string;
  let events: ReadonlyArray<LineageEvent>;
  let jobs: number;
  beforeAll(async () => {
    dir = await tempDir();
    const run = await runCli(runPipeline, ["--store", dir, "--json"]);
    expect(run.code).toBe(0);
    jobs = JSON.parse(run.stdout.trim().split("\n").at(-1)!).jobs.succeeded;
    const store = await openStore(dir);
    try {
      events = await readLineageEvents(store.client);
    } finally {
      await store.close();
    }
  });
  afterAll(() => Deno.remove(dir, { recursive: true }));

  it("has one succeeded run per job, each with 7 stage jobs and 7 attempts", () => {
    const runs = summarizeRuns(events);
    expect(jobs).toBeGreaterThanOrEqual(10);
    expect(runs).toHaveLength(jobs);
    expect(new Set(runs.map((r) => r.jobId)).size).toBe(jobs);
    for (const r of runs) {
      expect(r).toMatchObject({
        pipeline: "auto",
        status: "succeeded",
        stageCount: 7,
        attempts: 7,
      });
      expect(r.docId).toMatch(/^(clinicaltrials|openalex|openfda):/);
      expect(r.durationMs).toBeGreaterThanOrEqual(0);
    }
    const t = runTimeline(events, runs[0].runId)!;
    expect(t.stages.map((s) => s.stage).sort()).toEqual(
      ["chunk", "embed", "extract", "index", "ingest", "kg", "parse"],
    );
    expect(t.stages[0].stage).toBe("ingest");
  });

  it("has 8 jobs (auto and its 7 stages) and the datasets they read and write: source APIs (for their record files), checkpoints, store tables", () => {
    const graph = lineageGraph(events);
    const jobNames = graph.nodes.filter((n) => n.kind === "job").map((n) => n.name);
    expect(jobNames).toEqual([
      "auto",
      "auto.chunk",
      "auto.embed",
      "auto.extract",
      "auto.index",
      "auto.ingest",
      "auto.kg",
      "auto.parse",
    ]);
    const labels = graph.nodes.filter((n) => n.kind === "dataset").map((n) => n.label).sort();
    expect(labels).toEqual([
      "api.fda.gov/drug/label.json",
      "api.openalex.org/works",
      "auto.chunk",
      "auto.embed",
      "auto.extract",
      "auto.ingest",
      "auto.parse",
      "clinicaltrials.gov/api/v2/studies",
      "public.lk_chunks",
      "public.lk_kg_edges",
      "public.lk_kg_nodes",
    ]);
    expect(graph.edges.filter((e) => e.kind === "parent")).toHaveLength(7);
  });
});
