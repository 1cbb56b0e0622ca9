/**
 * The runs of the lineage page: the picker that lists them, and for each run what the graph
 * highlights when it is picked — its pipeline, the stages it ran (the state of their last attempt
 * and how many tries it took), the stages of its pipeline it never started, the datasets it read
 * or wrote, and the edges between them.
 *
 * @module
 */
import { escapeXml, formatDuration } from "./_text_format.ts";
import { formatTime, STATE_ICONS } from "./graph_page_timeline.ts";
import { jobNodeId, type LineageGraph, type RunTimeline } from "./lineage_view.ts";

/**
 * A run to show on the page: its timeline and the datasets its stages read or wrote.
 *
 * @category models
 */
export interface PageRun extends RunTimeline {
  /** Graph ids of the run's datasets; without them the graph highlights no dataset. */
  readonly datasets?: ReadonlyArray<string>;
}

/**
 * A node a run touches: its index in the graph, its state, its badge and a line for details.
 *
 * @category models
 */
export type RunMark = readonly [index: number, state: string, badge: string, summary: string];

/**
 * What the graph highlights for one run.
 *
 * @category models
 */
export interface RunHighlight {
  /** The nodes the run touches, by index in the graph. */
  readonly nodes: ReadonlyArray<RunMark>;
  /** Indexes of the edges between highlighted nodes. */
  readonly edges: ReadonlyArray<number>;
}

/**
 * The stage jobs of a run's pipeline that the run has no attempt of, with their stage names.
 *
 * @category constructors
 */
export const skippedStages = (
  graph: LineageGraph,
  run: RunTimeline,
): ReadonlyArray<{ readonly id: string; readonly stage: string }> => {
  const pipeline = jobNodeId(run.run.namespace, run.run.pipeline);
  const ran = new Set(run.stages.map((s) => jobNodeId(run.run.namespace, s.job)));
  const names = new Map(graph.nodes.map((n) => [n.id, n.name]));
  const prefix = `${run.run.pipeline}.`;
  return graph.edges
    .filter((e) => e.kind === "parent" && e.from === pipeline && !ran.has(e.to))
    .map((e) => {
      const name = names.get(e.to) ?? e.to;
      return { id: e.to, stage: name.startsWith(prefix) ? name.slice(prefix.length) : name };
    });
};

const stageMarks = (
  run: RunTimeline,
): Map<string, { state: string; badge: string; summary: string }> => {
  const byJob = Map.groupBy(run.stages, (s) => jobNodeId(run.run.namespace, s.job));
  return new Map([...byJob].map(([id, attempts]) => {
    const last = attempts[attempts.length - 1];
    const tries = attempts.length;
    const badge = `${STATE_ICONS[last.status]}${tries > 1 ? ` ×${tries}` : ""}`;
    const summary =
      `${last.stage}: ${tries} ${tries === 1 ? "try" : "tries"}, last ${last.status}` +
      ` (${formatDuration(last.durationMs)})`;
    return [id, { state: last.status, badge, summary }];
  }));
};

/**
 * The nodes and edges the graph highlights for a run.
 *
 * @category constructors
 */
export const runHighlight = (graph: LineageGraph, run: PageRun): RunHighlight => {
  const index = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const r = run.run;
  const marks = stageMarks(run);
  const pipeline = jobNodeId(r.namespace, r.pipeline);
  marks.set(pipeline, {
    state: r.status,
    badge: STATE_ICONS[r.status],
    summary: `${r.pipeline}: ${r.status}, ${r.stageCount} stages, ${r.attempts} attempts`,
  });
  for (const d of run.datasets ?? []) marks.set(d, { state: "touched", badge: "", summary: "" });
  const skipped = skippedStages(graph, run);
  for (const s of skipped) {
    marks.set(s.id, {
      state: "skipped",
      badge: STATE_ICONS.skipped,
      summary: `${s.stage}: skipped`,
    });
  }
  const lit = new Set([...marks].filter(([, m]) => m.state !== "skipped").map(([id]) => id));
  const nodes = [...marks].filter(([id]) => index.has(id))
    .map(([id, m]): RunMark => [index.get(id)!, m.state, m.badge, m.summary])
    .sort((a, b) => a[0] - b[0]);
  const edges = graph.edges.flatMap((e, i) => (lit.has(e.from) && lit.has(e.to) ? [i] : []));
  return { nodes, edges };
};

/**
 * The run picker: one toggle button per run with its document, pipeline, status and start time;
 * the first is picked.
 *
 * @category constructors
 */
export const runPicker = (runs: ReadonlyArray<PageRun>): string =>
  runs.map((t, i) => {
    const r = t.run;
    const doc = r.docId ?? r.jobId ?? r.runId;
    const words = `${r.pipeline} · ${r.status} · ${formatTime(r.started)} · ${
      formatDuration(r.durationMs)
    }`;
    return `<button type="button" class="run-option ${r.status}" data-run="${i}" aria-pressed="${
      i === 0
    }"` +
      ` title="${escapeXml(`${doc}\n${words}\nrun ${r.runId}`)}">` +
      `<span class="mark" aria-hidden="true">${STATE_ICONS[r.status]}</span>` +
      `<span class="doc">${escapeXml(doc)}</span><span class="sub">${
        escapeXml(words)
      }</span></button>`;
  }).join("");
