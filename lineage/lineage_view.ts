/**
 * A read-only view of the OpenLineage events a store holds: pipeline-run summaries, the stage
 * timeline of one pipeline run, and the job/dataset graph. Pure: the caller reads the events.
 *
 * Pipeline runs are the runs of `DAG` jobs; stage runs name their pipeline run in the `parent`
 * facet, one run per attempt. A pipeline's RUNNING events alternate between paused and resumed,
 * so an odd count of them means the run is paused now.
 *
 * @module
 */

/** One stored OpenLineage event, with the ledger job and document it belongs to when known. */
export interface LineageEvent {
  readonly seq: number;
  readonly jobId: string | null;
  readonly docId: string | null;
  readonly payload: unknown;
}

/** Where a pipeline run stands. */
export type RunStatus = "running" | "paused" | "succeeded" | "failed" | "aborted";

/** Where a stage attempt stands; `waiting` is a gate whose condition does not hold yet. */
export type AttemptStatus = "running" | "waiting" | "succeeded" | "failed" | "aborted";

/** One pipeline run. Times are ISO strings; `ended` and `durationMs` are null while it is open. */
export interface PipelineRunSummary {
  readonly runId: string;
  readonly namespace: string;
  readonly pipeline: string;
  readonly jobId: string | null;
  readonly docId: string | null;
  readonly status: RunStatus;
  readonly started: string | null;
  readonly ended: string | null;
  readonly durationMs: number | null;
  /** Distinct stage jobs with at least one attempt. */
  readonly stageCount: number;
  /** Stage attempts (stage runs) in all. */
  readonly attempts: number;
  readonly error: string | null;
}

/** One stage attempt of a pipeline run. */
export interface StageAttemptView {
  readonly runId: string;
  readonly job: string;
  readonly stage: string;
  readonly attempt: number;
  readonly maxAttempts: number | null;
  readonly status: AttemptStatus;
  readonly started: string | null;
  readonly ended: string | null;
  readonly durationMs: number | null;
  readonly error: string | null;
}

/** A pipeline run with its stage attempts in time order. */
export interface RunTimeline {
  readonly run: PipelineRunSummary;
  readonly stages: ReadonlyArray<StageAttemptView>;
}

/** A node of the lineage graph: a job or a dataset. */
export interface GraphNode {
  readonly id: string;
  readonly kind: "job" | "dataset";
  readonly namespace: string;
  readonly name: string;
  readonly label: string;
  /** For jobs: DAG (pipeline) or TASK (stage). */
  readonly jobType?: string;
}

/** An edge: dataset → job (input), job → dataset (output), pipeline → stage (parent). */
export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: "input" | "output" | "parent";
}

/** The lineage graph; nodes sorted by id, edges by (from, to, kind). */
export interface LineageGraph {
  readonly nodes: ReadonlyArray<GraphNode>;
  readonly edges: ReadonlyArray<GraphEdge>;
}

type Obj = Record<string, unknown>;
const obj = (u: unknown): Obj => (u !== null && typeof u === "object" ? u as Obj : {});
const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined);
const num = (u: unknown): number | undefined => (typeof u === "number" ? u : undefined);

interface DatasetRef {
  readonly namespace: string;
  readonly name: string;
}

interface RunRecord {
  readonly runId: string;
  readonly namespace: string;
  readonly job: string;
  jobType?: string;
  parentRunId?: string;
  parentJob?: string;
  parentNamespace?: string;
  attempt?: number;
  maxAttempts?: number;
  error?: string;
  jobId: string | null;
  docId: string | null;
  readonly transitions: Array<{ type: string; time: string }>;
  readonly inputs: Map<string, DatasetRef>;
  readonly outputs: Map<string, DatasetRef>;
  /** What each dataset of the run is shown as, learnt from the event that carried its facets. */
  readonly shown: Map<string, DatasetRef>;
}

// A record file saved from an API (a `symlinks` identity of type API) is shown as that API: one
// node per source however many files a run read, as before they were named as files.
const shownAs = (d: unknown): unknown => {
  const symlinks = obj(obj(obj(d).facets).symlinks).identifiers;
  const api = Array.isArray(symlinks) ? symlinks.find((i) => obj(i).type === "API") : undefined;
  return api ?? d;
};

// A dataset's facets come with the START event of a run only (they do not change within it):
// the later events name the dataset as written, and `known` says what START showed it as.
const datasetsOf = (u: unknown, known: Map<string, DatasetRef>): DatasetRef[] =>
  (Array.isArray(u) ? u : []).flatMap((d) => {
    const key = `${str(obj(d).namespace)}\n${str(obj(d).name)}`;
    const shown = obj(d).facets === undefined ? known.get(key) ?? d : shownAs(d);
    const namespace = str(obj(shown).namespace);
    const name = str(obj(shown).name);
    if (namespace === undefined || name === undefined) return [];
    known.set(key, { namespace, name });
    return [{ namespace, name }];
  });

// A driver may hand jsonb back as text; anything that does not parse is skipped like any other
// malformed event.
const payloadOf = (u: unknown): Obj => {
  if (typeof u !== "string") return obj(u);
  try {
    return obj(JSON.parse(u));
  } catch {
    return {};
  }
};

const addEvent = (runs: Map<string, RunRecord>, e: LineageEvent): void => {
  const p = payloadOf(e.payload);
  const run = obj(p.run);
  const job = obj(p.job);
  const runId = str(run.runId);
  const jobName = str(job.name);
  const type = str(p.eventType);
  if (runId === undefined || jobName === undefined || type === undefined) return;
  let r = runs.get(runId);
  if (!r) {
    r = {
      runId,
      namespace: str(job.namespace) ?? "",
      job: jobName,
      jobId: e.jobId,
      docId: e.docId,
      transitions: [],
      inputs: new Map(),
      outputs: new Map(),
      shown: new Map(),
    };
    runs.set(runId, r);
  }
  const facets = obj(run.facets);
  const parent = obj(facets.parent);
  const attempt = obj(facets.lineageKit_attempt);
  r.jobType ??= str(obj(obj(job.facets).jobType).jobType);
  r.parentRunId ??= str(obj(parent.run).runId);
  r.parentJob ??= str(obj(parent.job).name);
  r.parentNamespace ??= str(obj(parent.job).namespace);
  r.attempt ??= num(attempt.attempt);
  r.maxAttempts ??= num(attempt.maxAttempts);
  r.error = str(obj(facets.errorMessage).message) ?? r.error;
  r.jobId ??= e.jobId;
  r.docId ??= e.docId;
  r.transitions.push({ type, time: str(p.eventTime) ?? "" });
  for (const d of datasetsOf(p.inputs, r.shown)) r.inputs.set(`${d.namespace}\n${d.name}`, d);
  for (const d of datasetsOf(p.outputs, r.shown)) r.outputs.set(`${d.namespace}\n${d.name}`, d);
};

/** Groups events by OpenLineage run, in outbox order; malformed events are skipped. */
const collectRuns = (events: ReadonlyArray<LineageEvent>): Map<string, RunRecord> => {
  const runs = new Map<string, RunRecord>();
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) addEvent(runs, e);
  return runs;
};

const isPipelineRun = (r: RunRecord): boolean =>
  r.jobType === "DAG" || (r.jobType === undefined && r.parentRunId === undefined);

const TERMINAL: Readonly<Record<string, "succeeded" | "failed" | "aborted">> = {
  COMPLETE: "succeeded",
  FAIL: "failed",
  ABORT: "aborted",
};

const span = (r: RunRecord) => {
  const first = r.transitions[0];
  const last = r.transitions[r.transitions.length - 1];
  const started = first.type === "START" ? first.time : null;
  const ended = TERMINAL[last.type] ? last.time : null;
  const durationMs = started && ended ? Date.parse(ended) - Date.parse(started) : null;
  return { last: last.type, started, ended, durationMs };
};

const runStatus = (r: RunRecord, last: string): RunStatus => {
  if (TERMINAL[last]) return TERMINAL[last];
  const running = r.transitions.filter((t) => t.type === "RUNNING").length;
  return running % 2 === 1 ? "paused" : "running";
};

const childrenByParent = (runs: Map<string, RunRecord>): Map<string, RunRecord[]> => {
  const children = new Map<string, RunRecord[]>();
  for (const r of runs.values()) {
    if (r.parentRunId === undefined || r.parentRunId === r.runId) continue;
    children.set(r.parentRunId, [...(children.get(r.parentRunId) ?? []), r]);
  }
  return children;
};

const summarize = (r: RunRecord, children: ReadonlyArray<RunRecord>): PipelineRunSummary => {
  const { last, started, ended, durationMs } = span(r);
  return {
    runId: r.runId,
    namespace: r.namespace,
    pipeline: r.job,
    jobId: r.jobId ?? children.find((c) => c.jobId)?.jobId ?? null,
    docId: r.docId ?? children.find((c) => c.docId)?.docId ?? null,
    status: runStatus(r, last),
    started,
    ended,
    durationMs,
    stageCount: new Set(children.map((c) => c.job)).size,
    attempts: children.length,
    error: r.error ?? null,
  };
};

const newestFirst = (a: PipelineRunSummary, b: PipelineRunSummary): number =>
  (b.started ?? "").localeCompare(a.started ?? "") || b.runId.localeCompare(a.runId);

/** The pipeline runs the events describe, newest first. */
export const summarizeRuns = (
  events: ReadonlyArray<LineageEvent>,
): ReadonlyArray<PipelineRunSummary> => {
  const runs = collectRuns(events);
  const children = childrenByParent(runs);
  return [...runs.values()].filter(isPipelineRun)
    .map((r) => summarize(r, children.get(r.runId) ?? []))
    .sort(newestFirst);
};

const stageStatus = (last: string): AttemptStatus =>
  TERMINAL[last] ?? (last === "RUNNING" ? "waiting" : "running");

const attemptView = (r: RunRecord, ordinal: number): StageAttemptView => {
  const { last, started, ended, durationMs } = span(r);
  const prefix = r.parentJob !== undefined ? `${r.parentJob}.` : "";
  return {
    runId: r.runId,
    job: r.job,
    stage: r.job.startsWith(prefix) ? r.job.slice(prefix.length) : r.job,
    attempt: r.attempt ?? ordinal,
    maxAttempts: r.maxAttempts ?? null,
    status: stageStatus(last),
    started,
    ended,
    durationMs,
    error: r.error ?? null,
  };
};

/** The stage attempts of one pipeline run in the order they started; undefined if unknown. */
export const runTimeline = (
  events: ReadonlyArray<LineageEvent>,
  runId: string,
): RunTimeline | undefined => {
  const runs = collectRuns(events);
  const run = runs.get(runId);
  if (!run || !isPipelineRun(run)) return undefined;
  const children = childrenByParent(runs).get(runId) ?? [];
  const seen = new Map<string, number>();
  // Outbox order breaks ties between attempts that started in the same millisecond.
  const stages = children.map((c, i) => ({ c, i, start: c.transitions[0].time }))
    .sort((a, b) => a.start.localeCompare(b.start) || a.i - b.i)
    .map(({ c }) => {
      const ordinal = (seen.get(c.job) ?? 0) + 1;
      seen.set(c.job, ordinal);
      return attemptView(c, ordinal);
    });
  return { run: summarize(run, children), stages };
};

/**
 * The graph ids of the datasets that the stage attempts of one pipeline run read or wrote,
 * sorted; empty for an unknown run.
 */
export const runDatasets = (
  events: ReadonlyArray<LineageEvent>,
  runId: string,
): ReadonlyArray<string> => {
  const stages = childrenByParent(collectRuns(events)).get(runId) ?? [];
  const ids = stages.flatMap((r) =>
    [...r.inputs.values(), ...r.outputs.values()].map((d) => datasetNodeId(d.namespace, d.name))
  );
  return [...new Set(ids)].sort();
};

/** How a run id the user typed matched: one run, none, or several (a prefix too short). */
export type RunIdMatch =
  | { readonly _tag: "Found"; readonly runId: string }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Ambiguous"; readonly candidates: ReadonlyArray<string> };

/**
 * Finds the pipeline run a full id names, or a unique prefix or suffix of at least `minLength`
 * characters: run ids are UUIDv7, so runs started close together share their leading digits.
 */
export const matchRunId = (
  runs: ReadonlyArray<PipelineRunSummary>,
  given: string,
  minLength = 8,
): RunIdMatch => {
  const wanted = given.toLowerCase();
  if (runs.some((r) => r.runId === wanted)) return { _tag: "Found", runId: wanted };
  if (wanted.length < minLength) return { _tag: "NotFound" };
  const candidates = runs.map((r) => r.runId)
    .filter((id) => id.startsWith(wanted) || id.endsWith(wanted)).sort();
  if (candidates.length === 0) return { _tag: "NotFound" };
  return candidates.length === 1
    ? { _tag: "Found", runId: candidates[0] }
    : { _tag: "Ambiguous", candidates };
};

/**
 * The short label of a dataset: host and path for APIs, the file name for files, the stage for a
 * checkpoint (`….lk_checkpoints.auto.parse` → `auto.parse`), the table for a store table.
 */
export const datasetLabel = (namespace: string, name: string): string => {
  if (/^https?:\/\//.test(namespace)) return `${namespace.replace(/^https?:\/\//, "")}${name}`;
  const checkpoint = /(?:^|\.)lk_checkpoints\.(.+)$/.exec(name);
  if (checkpoint) return checkpoint[1];
  if (namespace === "file") return name.slice(name.lastIndexOf("/") + 1);
  if (/^(postgres|file):\/\//.test(namespace)) return name.split(".").slice(-2).join(".");
  return name;
};

/** The graph id of a job. */
export const jobNodeId = (namespace: string, name: string): string => `job:${namespace}:${name}`;

/** The graph id of a dataset. */
export const datasetNodeId = (namespace: string, name: string): string =>
  `dataset:${namespace}:${name}`;

const byKey = <T>(key: (t: T) => string) => (a: T, b: T): number =>
  key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** Jobs and datasets of every run, with input, output and parent edges, deduplicated. */
export const lineageGraph = (events: ReadonlyArray<LineageEvent>): LineageGraph => {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const edgeKey = (e: GraphEdge) => `${e.from}\n${e.to}\n${e.kind}`;
  const edge = (e: GraphEdge) => edges.set(edgeKey(e), e);
  const job = (namespace: string, name: string, jobType: string | undefined) => {
    const id = jobNodeId(namespace, name);
    const type = nodes.get(id)?.jobType ?? jobType;
    nodes.set(id, {
      id,
      kind: "job",
      namespace,
      name,
      label: name,
      ...(type ? { jobType: type } : {}),
    });
    return id;
  };
  const dataset = (d: DatasetRef) => {
    const id = datasetNodeId(d.namespace, d.name);
    const label = datasetLabel(d.namespace, d.name);
    nodes.set(id, { id, kind: "dataset", namespace: d.namespace, name: d.name, label });
    return id;
  };
  for (const r of collectRuns(events).values()) {
    const id = job(r.namespace, r.job, r.jobType);
    for (const d of r.inputs.values()) edge({ from: dataset(d), to: id, kind: "input" });
    for (const d of r.outputs.values()) edge({ from: id, to: dataset(d), kind: "output" });
    if (r.parentJob !== undefined && r.parentJob !== r.job) {
      // A parent whose own events are not in the store still gets its node.
      const parent = job(r.parentNamespace ?? r.namespace, r.parentJob, "DAG");
      edge({ from: parent, to: id, kind: "parent" });
    }
  }
  return {
    nodes: [...nodes.values()].sort(byKey((n) => n.id)),
    edges: [...edges.values()].sort(byKey(edgeKey)),
  };
};
