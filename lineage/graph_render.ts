/**
 * Renders the lineage graph as Mermaid, Graphviz DOT, or one self-contained HTML page (see
 * `graph_page.ts`: the graph fitted to the window, a run picker and timelines). The page loads
 * nothing from the network, so it opens from a file on a machine without access.
 *
 * @module
 */
import type { GraphNode, LineageGraph } from "./lineage_view.ts";

export { escapeXml, formatDuration } from "./_text_format.ts";
export {
  bestFit,
  fitScale,
  type GraphLayout,
  layoutChoices,
  layoutGraph,
  type LayoutOptions,
  type PlacedNode,
  type RoutedEdge,
} from "./graph_layout.ts";
export { renderSvg } from "./graph_svg.ts";
export { type HtmlOptions, renderHtml } from "./graph_page.ts";
export type { PageRun } from "./graph_page_runs.ts";

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
