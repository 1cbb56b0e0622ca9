/**
 * Renders the lineage graph as Mermaid, Graphviz DOT, or one self-contained HTML page: an inline
 * SVG laid out here (columns by topological depth) and a timeline of recent pipeline runs. The
 * page loads nothing from the network, so it opens from a file on a machine without access.
 *
 * @module
 */
import type {
  GraphEdge,
  GraphNode,
  LineageGraph,
  RunTimeline,
  StageAttemptView,
} from "./lineage_view.ts";

/** Escapes text for XML and HTML content and attribute values. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Mermaid and DOT need plain identifiers; node order is sorted by id, so these are stable.
const shortIds = (graph: LineageGraph): Map<string, string> =>
  new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));

const mermaidText = (s: string): string =>
  s.replace(/[#"<>&\n]/g, (c) => (c === "\n" ? " " : `#${c.charCodeAt(0)};`));

/** The graph as a Mermaid `flowchart LR`: jobs rounded, datasets as cylinders. */
export const renderMermaid = (graph: LineageGraph): string => {
  const ids = shortIds(graph);
  const lines = ["flowchart LR"];
  for (const n of graph.nodes) {
    const label = `"${mermaidText(n.label)}"`;
    lines.push(`  ${ids.get(n.id)}${n.kind === "job" ? `(${label})` : `[(${label})]`}`);
  }
  for (const e of graph.edges) {
    lines.push(`  ${ids.get(e.from)} ${e.kind === "parent" ? "-.->" : "-->"} ${ids.get(e.to)}`);
  }
  const classOf = (n: GraphNode) =>
    n.kind === "dataset" ? "dataset" : n.jobType === "DAG" ? "pipeline" : "job";
  lines.push(
    "  classDef pipeline fill:#dbe4ff,stroke:#3451b2",
    "  classDef job fill:#e7f0fd,stroke:#3b6fd8",
    "  classDef dataset fill:#fff4dc,stroke:#b7791f",
  );
  for (const cls of ["pipeline", "job", "dataset"]) {
    const members = graph.nodes.filter((n) => classOf(n) === cls).map((n) => ids.get(n.id));
    if (members.length > 0) lines.push(`  class ${members.join(",")} ${cls}`);
  }
  return lines.join("\n") + "\n";
};

const dotString = (s: string): string =>
  `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;

/** The graph as Graphviz DOT, left to right: jobs rounded boxes, datasets cylinders. */
export const renderDot = (graph: LineageGraph): string => {
  const ids = shortIds(graph);
  const lines = [
    "digraph lineage {",
    "  rankdir=LR;",
    '  node [fontname="Helvetica", fontsize=11];',
  ];
  for (const n of graph.nodes) {
    const shape = n.kind === "job"
      ? `shape=box, style="rounded,filled", fillcolor=${
        n.jobType === "DAG" ? '"#dbe4ff"' : '"#e7f0fd"'
      }`
      : 'shape=cylinder, style=filled, fillcolor="#fff4dc"';
    lines.push(
      `  ${ids.get(n.id)} [label=${dotString(n.label)}, tooltip=${dotString(n.id)}, ${shape}];`,
    );
  }
  for (const e of graph.edges) {
    const style = e.kind === "parent" ? ' [style=dashed, color="#8a8f98"]' : "";
    lines.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)}${style};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
};

/** A node placed on the page: its top-left corner, size, column and row. */
export interface PlacedNode {
  readonly node: GraphNode;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly column: number;
  readonly row: number;
}

/** The graph laid out in columns by depth. */
export interface GraphLayout {
  readonly nodes: ReadonlyArray<PlacedNode>;
  readonly width: number;
  readonly height: number;
}

const NODE_W = 180;
const NODE_H = 44;
const COL_STEP = NODE_W + 70;
const ROW_STEP = NODE_H + 30;
const MARGIN = 24;

/** Longest-path depth from the sources; a cycle is broken at its smallest id. */
const depths = (graph: LineageGraph): Map<string, number> => {
  const out = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  const indegree = new Map<string, number>(graph.nodes.map((n) => [n.id, 0]));
  for (const e of graph.edges) {
    out.get(e.from)?.push(e.to);
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  }
  const depth = new Map<string, number>();
  const done = new Set<string>();
  const ready = graph.nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  while (done.size < graph.nodes.length) {
    const next = ready.shift() ?? graph.nodes.find((n) => !done.has(n.id))!.id;
    if (done.has(next)) continue;
    done.add(next);
    const d = depth.get(next) ?? 0;
    depth.set(next, d);
    for (const to of out.get(next) ?? []) {
      if (done.has(to)) continue;
      depth.set(to, Math.max(depth.get(to) ?? 0, d + 1));
      indegree.set(to, indegree.get(to)! - 1);
      if (indegree.get(to) === 0) ready.push(to);
    }
  }
  return depth;
};

/** Places the nodes: one column per depth, rows ordered by where their predecessors sit. */
export const layoutGraph = (graph: LineageGraph): GraphLayout => {
  const depth = depths(graph);
  const columns: GraphNode[][] = [];
  for (const n of graph.nodes) (columns[depth.get(n.id)!] ??= []).push(n);
  const preds = new Map<string, string[]>();
  for (const e of graph.edges) preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
  const row = new Map<string, number>();
  const filled = columns.map((c) => c ?? []);
  filled.forEach((column, i) => {
    // Barycentre ordering: fewer crossings than id order, and still deterministic.
    const weight = (n: GraphNode) => {
      const rows = (preds.get(n.id) ?? []).filter((p) => depth.get(p)! < i).map((p) => row.get(p)!);
      return rows.length === 0
        ? Number.MAX_SAFE_INTEGER
        : rows.reduce((a, b) => a + b) / rows.length;
    };
    const ordered = i === 0 ? column : [...column].sort((a, b) => weight(a) - weight(b));
    ordered.forEach((n, r) => row.set(n.id, r));
  });
  const tallest = Math.max(1, ...filled.map((c) => c.length));
  const nodes = graph.nodes.map((node): PlacedNode => {
    const column = depth.get(node.id)!;
    const offset = ((tallest - filled[column].length) * ROW_STEP) / 2;
    const r = row.get(node.id)!;
    return {
      node,
      x: MARGIN + column * COL_STEP,
      y: MARGIN + offset + r * ROW_STEP,
      width: NODE_W,
      height: NODE_H,
      column,
      row: r,
    };
  });
  return {
    nodes,
    width: MARGIN * 2 + Math.max(0, filled.length - 1) * COL_STEP + NODE_W,
    height: MARGIN * 2 + (tallest - 1) * ROW_STEP + NODE_H,
  };
};

const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

const edgePath = (from: PlacedNode, to: PlacedNode, e: GraphEdge): string => {
  const x1 = from.x + from.width;
  const y1 = from.y + from.height / 2;
  const x2 = to.x - 2;
  const y2 = to.y + to.height / 2;
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  return `<path class="edge ${e.kind}" d="M${x1},${y1} C${x1 + bend},${y1} ${
    x2 - bend
  },${y2} ${x2},${y2}" marker-end="url(#arrow)"/>`;
};

const nodeSvg = (p: PlacedNode): string => {
  const n = p.node;
  const label = `<text x="${p.width / 2}" y="${p.height / 2 + 5}">${
    escapeXml(clip(n.label, 24))
  }</text>`;
  const title = `<title>${escapeXml(`${n.kind} ${n.namespace} ${n.name}`)}</title>`;
  const shape = n.kind === "job"
    ? `<rect width="${p.width}" height="${p.height}" rx="12" ry="12"/>`
    : `<path d="M0,7 a${p.width / 2},7 0 0,0 ${p.width},0 a${p.width / 2},7 0 0,0 ${-p
      .width},0 v${p.height - 14} a${p.width / 2},7 0 0,0 ${p.width},0 v${-(p.height - 14)}"/>`;
  const type = n.jobType ? ` data-job-type="${escapeXml(n.jobType)}"` : "";
  return `<g class="node ${n.kind}" data-id="${
    escapeXml(n.id)
  }"${type} transform="translate(${p.x},${p.y})">${title}${shape}${label}</g>`;
};

/** The graph as a standalone SVG element, laid out by {@link layoutGraph}. */
export const renderSvg = (graph: LineageGraph): string => {
  const layout = layoutGraph(graph);
  const at = new Map(layout.nodes.map((p) => [p.node.id, p]));
  const edges = graph.edges.map((e) => edgePath(at.get(e.from)!, at.get(e.to)!, e));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="lineage graph">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5f6b7a"/></marker></defs>`,
    `<g class="edges">${edges.join("")}</g>`,
    `<g class="nodes">${layout.nodes.map(nodeSvg).join("")}</g>`,
    "</svg>",
  ].join("\n");
};

/** A duration in words: 850ms, 1.25s, 2m05s, 1h02m. */
export const formatDuration = (ms: number | null): string => {
  if (ms === null) return "–";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
};

const BAR_X = 230;
const BAR_W = 620;
const BAR_ROW = 22;

const timelineSvg = (t: RunTimeline): string => {
  const t0 = Date.parse(t.run.started ?? t.stages[0]?.started ?? "") || 0;
  const ends = t.stages.map((s) => Date.parse(s.ended ?? s.started ?? "") || t0);
  const span = Math.max(1, t.run.durationMs ?? 0, ...ends.map((e) => e - t0));
  const row = (s: StageAttemptView, i: number) => {
    const start = (Date.parse(s.started ?? "") || t0) - t0;
    const x = BAR_X + (start / span) * BAR_W;
    const w = Math.max(3, ((s.durationMs ?? span - start) / span) * BAR_W);
    const y = i * BAR_ROW;
    const tip = `${s.stage} attempt ${s.attempt}: ${s.status}, ${formatDuration(s.durationMs)}${
      s.error ? ` — ${s.error}` : ""
    }`;
    return `<g class="attempt ${s.status}"><title>${escapeXml(tip)}</title>` +
      `<text x="0" y="${y + 15}">${escapeXml(clip(`${s.stage} #${s.attempt}`, 30))}</text>` +
      `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${
        BAR_ROW - 8
      }" rx="3"/>` +
      `<text class="dur" x="${(x + w + 6).toFixed(1)}" y="${y + 15}">${
        escapeXml(formatDuration(s.durationMs))
      }</text></g>`;
  };
  const height = Math.max(1, t.stages.length) * BAR_ROW + 4;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${
    BAR_X + BAR_W + 80
  }" height="${height}">${t.stages.map(row).join("")}</svg>`;
};

const runSection = (t: RunTimeline): string => {
  const r = t.run;
  const errors = t.stages.filter((s) => s.error).map((s) =>
    `<li>${escapeXml(`${s.stage} #${s.attempt}: ${s.error}`)}</li>`
  );
  return `<section class="run ${r.status}"><h3>${escapeXml(r.pipeline)} · ${
    escapeXml(r.docId ?? r.jobId ?? "")
  } · <span class="status">${r.status}</span> · ${
    escapeXml(formatDuration(r.durationMs))
  }</h3><p class="meta"><code>${escapeXml(r.runId)}</code> started ${
    escapeXml(r.started ?? "?")
  }</p>${timelineSvg(t)}${
    errors.length > 0 ? `<ul class="errors">${errors.join("")}</ul>` : ""
  }</section>`;
};

const STYLE =
  `body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}h3{font-size:14px;margin:16px 0 2px}
.meta{color:#59636e;font-size:12px;margin:0 0 6px}.scroll{overflow:auto;border:1px solid #d1d9e0;border-radius:6px}
svg text{font-size:13px;fill:#1f2328}.graph text{text-anchor:middle}
.node.job rect{fill:#e7f0fd;stroke:#3b6fd8;stroke-width:1.5}.node.job[data-job-type="DAG"] rect{fill:#dbe4ff;stroke:#3451b2;stroke-width:2}
.node.dataset path{fill:#fff4dc;stroke:#b7791f;stroke-width:1.5}
.edge{fill:none;stroke:#5f6b7a;stroke-width:1.3}.edge.parent{stroke:#a3acb9;stroke-dasharray:5 4}
.attempt rect{fill:#8c959f}.attempt.succeeded rect{fill:#2da44e}.attempt.failed rect{fill:#cf222e}
.attempt.running rect{fill:#0969da}.attempt.waiting rect{fill:#d4a72c}.timeline .dur{fill:#59636e;font-size:11px}
.status{font-weight:600}.run.failed .status{color:#cf222e}.run.succeeded .status{color:#1a7f37}
.errors{color:#cf222e;font-size:12px;margin:4px 0}.legend span{margin-right:14px;font-size:12px}
.scroll.fit svg.graph{width:100%;height:auto}button{font:inherit;font-size:12px}`;

// The only script: toggles between the graph at full size (scrolling) and fitted to the page.
const FIT_SCRIPT = `document.getElementById("fit").addEventListener("click",function(){
var s=document.querySelector(".scroll");s.classList.toggle("fit");
this.textContent=s.classList.contains("fit")?"full size":"fit to width";});`;

/** What the HTML page shows besides the graph. */
export interface HtmlOptions {
  /** @default "lineage-kit lineage" */
  readonly title?: string;
  /** A line under the title, e.g. the store. */
  readonly subtitle?: string;
  /** Pipeline runs to draw as timelines, newest first. */
  readonly timelines?: ReadonlyArray<RunTimeline>;
}

/** One self-contained HTML page: the graph as inline SVG and the run timelines. */
export const renderHtml = (graph: LineageGraph, options: HtmlOptions = {}): string => {
  const title = options.title ?? "lineage-kit lineage";
  const jobs = graph.nodes.filter((n) => n.kind === "job").length;
  const timelines = options.timelines ?? [];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title>
<style>${STYLE}</style></head><body>
<h1>${escapeXml(title)}</h1>
<p class="meta">${escapeXml(options.subtitle ?? "")} ${jobs} jobs · ${
    graph.nodes.length - jobs
  } datasets · ${graph.edges.length} edges</p>
<p class="legend"><span>▭ job</span><span>⛁ dataset</span><span>→ reads / writes</span><span>⇢ pipeline → stage</span><button id="fit" type="button">fit to width</button></p>
<div class="scroll">${renderSvg(graph)}</div>
<h2>Latest pipeline runs</h2>
${timelines.length === 0 ? "<p>No pipeline runs.</p>" : timelines.map(runSection).join("\n")}
<script>${FIT_SCRIPT}</script>
</body></html>
`;
};
