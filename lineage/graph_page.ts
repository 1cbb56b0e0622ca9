/**
 * The lineage page: one self-contained HTML file (inline CSS, SVG, script and data; nothing from
 * the network, so it opens from `file://`) with the job/dataset graph fitted to the window, a
 * details panel for the node clicked, a picker of the latest pipeline runs and the picked run's
 * timeline.
 *
 * The page carries the graph laid out for every useful row count (`layoutChoices`); its script
 * shows the one that fits the window best and re-picks on resize. The SVG in the markup is laid
 * out for a window of about 1400×900, so the page reads even before the script runs.
 *
 * @module
 */
import { escapeXml } from "./_text_format.ts";
import { bestFit, type GraphLayout, layoutChoices, NODE_WIDTH } from "./graph_layout.ts";
import { type PageRun, runHighlight, runPicker, skippedStages } from "./graph_page_runs.ts";
import { pageScript } from "./graph_page_script.ts";
import { PAGE_STYLE } from "./graph_page_style.ts";
import { STATE_ICONS, timelineSection } from "./graph_page_timeline.ts";
import { pathData, renderSvg } from "./graph_svg.ts";
import type { LineageGraph } from "./lineage_view.ts";

/**
 * What the HTML page shows besides the graph.
 *
 * @category models
 */
export interface HtmlOptions {
  /**
   * The page title and heading.
   *
   * @default "lineage-kit lineage"
   */
  readonly title?: string;
  /** A line under the title, e.g. the store. */
  readonly subtitle?: string;
  /** Pipeline runs for the run picker and timelines, newest first; the first is picked. */
  readonly timelines?: ReadonlyArray<PageRun>;
}

// The graph pane of a 1400×900 window, less the side panel, header and toolbar.
const STATIC_PANE = { width: 900, height: 780 };
// Labels start 12px in and keep 6px clear of the right edge; a run's badge sits above them.
const LABEL_ROOM = { name: NODE_WIDTH - 18, caption: NODE_WIDTH - 18 };

const round = (n: number) => Math.round(n * 10) / 10;

const layoutData = (l: GraphLayout) => ({
  w: round(l.width),
  h: round(l.height),
  rows: l.rows,
  perRow: l.layersPerRow,
  nodes: l.nodes.map((p) => [round(p.x), round(p.y)]),
  edges: l.edges.map((e) => pathData(e.points)),
});

/** The page's data as JSON that is safe inside a script element. */
const pageData = (
  graph: LineageGraph,
  choices: ReadonlyArray<GraphLayout>,
  runs: ReadonlyArray<PageRun>,
): string => {
  const index = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const data = {
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      kind: n.kind,
      namespace: n.namespace,
      name: n.name,
      type: n.jobType ?? null,
    })),
    edges: graph.edges.map((e) => [index.get(e.from), index.get(e.to), e.kind]),
    layouts: choices.map(layoutData),
    runs: runs.map((r) => runHighlight(graph, r)),
  };
  // "<" escaped keeps "</script>" in a name from ending the element.
  return JSON.stringify(data).replace(/</g, "\\u003c");
};

const LEGEND = [
  "▭ job",
  "▭ pipeline (bold)",
  "⛁ dataset",
  "→ reads / writes",
  "⇣ pipeline → stage (dashed)",
  `${STATE_ICONS.succeeded} succeeded`,
  `${STATE_ICONS.failed} failed`,
  "↻ retry",
  `${STATE_ICONS.waiting} waiting`,
  `${STATE_ICONS.aborted} aborted`,
  `${STATE_ICONS.skipped} skipped`,
].map((s) => `<span>${s}</span>`).join("");

const TOOLBAR = `<div class="toolbar" role="toolbar" aria-label="graph view">` +
  `<button type="button" id="zoom-out" aria-label="zoom out">−</button>` +
  `<button type="button" id="zoom-in" aria-label="zoom in">+</button>` +
  `<button type="button" id="zoom-fit">Fit</button>` +
  `<button type="button" id="zoom-actual">100%</button>` +
  `<output id="zoom-level" aria-live="polite">100%</output>` +
  `<span class="hint">drag to pan · wheel to zoom · click a node for details</span></div>`;

const sidePanel = (graph: LineageGraph, runs: ReadonlyArray<PageRun>): string => {
  const timelines = runs.map((t, i) =>
    timelineSection(t, i, skippedStages(graph, t).map((s) => s.stage))
  );
  return `<aside class="side">` +
    `<section class="details" aria-labelledby="details-h"><h2 id="details-h">Details</h2>` +
    `<div id="details-body" aria-live="polite"><p class="empty">Click a node (or focus it and press Enter) to see its full name and neighbours.</p></div></section>` +
    `<section class="runs" aria-labelledby="runs-h"><h2 id="runs-h">Latest pipeline runs</h2>` +
    (runs.length === 0
      ? `<p class="empty">No pipeline runs.</p>`
      : `<div class="run-list" role="group" aria-labelledby="runs-h">${runPicker(runs)}</div>`) +
    `</section>` +
    `<section class="timelines" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline of the picked run</h2>${
      timelines.join("")
    }</section></aside>`;
};

/**
 * One self-contained HTML page: the graph as inline SVG, the run picker and the timelines.
 *
 * @category constructors
 */
export const renderHtml = (graph: LineageGraph, options: HtmlOptions = {}): string => {
  const title = options.title ?? "lineage-kit lineage";
  const jobs = graph.nodes.filter((n) => n.kind === "job").length;
  const runs = options.timelines ?? [];
  const choices = layoutChoices(graph);
  const counts = `${jobs} jobs · ${
    graph.nodes.length - jobs
  } datasets · ${graph.edges.length} edges`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${PAGE_STYLE}</style></head><body>
<header><h1>${escapeXml(title)}</h1><p class="meta">${
    options.subtitle ? `${escapeXml(options.subtitle)} · ` : ""
  }${counts}</p><p class="legend">${LEGEND}</p></header>
<main class="graph-pane">${TOOLBAR}
<div class="canvas" tabindex="0" aria-label="lineage graph: arrow keys pan, + and - zoom, 0 fits">
${renderSvg(graph, bestFit(choices, STATIC_PANE))}
</div></main>
${sidePanel(graph, runs)}
<script type="application/json" id="lk-data">${pageData(graph, choices, runs)}</script>
<script>${pageScript(LABEL_ROOM)}</script>
</body></html>
`;
};
