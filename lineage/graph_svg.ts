/**
 * The lineage graph as SVG markup: rounded boxes for jobs, cylinders for datasets, each with a
 * short two-line label and its full name as a tooltip, and orthogonal edges with rounded bends.
 *
 * @module
 */
import { escapeXml } from "./_text_format.ts";
import { nodeText } from "./graph_labels.ts";
import type { GraphLayout, PlacedNode, RoutedEdge } from "./graph_layout.ts";
import type { Point } from "./graph_routing.ts";
import type { LineageGraph } from "./lineage_view.ts";

const BEND_RADIUS = 6;
const round = (n: number) => Math.round(n * 10) / 10;
const xy = (p: Point) => `${round(p.x)},${round(p.y)}`;

/**
 * SVG path data for a polyline, each bend rounded with a quadratic curve.
 *
 * @example
 * ```ts
 * import { pathData } from "./graph_svg.ts";
 *
 * console.log(pathData([{ x: 0, y: 0 }, { x: 20, y: 0 }, { x: 20, y: 20 }]));
 * // "M0,0 L14,0 Q20,0 20,6 L20,20"
 * ```
 *
 * @category constructors
 */
export const pathData = (points: ReadonlyArray<Point>): string => {
  const parts = [`M${xy(points[0])}`];
  for (let i = 1; i < points.length - 1; i++) {
    const [a, p, b] = [points[i - 1], points[i], points[i + 1]];
    const r = Math.min(
      BEND_RADIUS,
      Math.hypot(p.x - a.x, p.y - a.y) / 2,
      Math.hypot(b.x - p.x, b.y - p.y) / 2,
    );
    const toward = (q: Point) => {
      const len = Math.hypot(q.x - p.x, q.y - p.y) || 1;
      return { x: p.x + ((q.x - p.x) / len) * r, y: p.y + ((q.y - p.y) / len) * r };
    };
    parts.push(`L${xy(toward(a))}`, `Q${xy(p)} ${xy(toward(b))}`);
  }
  parts.push(`L${xy(points[points.length - 1])}`);
  return parts.join(" ");
};

/** The outline of a node: a rounded box for a job, a cylinder for a dataset. */
const shape = (p: PlacedNode): string => {
  const { width: w, height: h } = p;
  if (p.node.kind === "job") {
    return `<rect class="box" width="${w}" height="${h}" rx="10" ry="10"/>`;
  }
  const r = w / 2;
  return `<path class="box" d="M0,6 a${r},6 0 0,0 ${w},0 a${r},6 0 0,0 ${-w},0 v${
    h - 12
  } a${r},6 0 0,0 ${w},0 v${-(h - 12)}"/>`;
};

const nodeSvg = (p: PlacedNode, index: number): string => {
  const n = p.node;
  const text = nodeText(n);
  // Dataset captions sit lower: the cylinder's top ellipse takes the first few pixels.
  const top = n.kind === "dataset" ? 4 : 0;
  const type = n.jobType ? ` data-job-type="${escapeXml(n.jobType)}"` : "";
  return `<g class="node ${n.kind}" data-id="${escapeXml(n.id)}" data-index="${index}"${type}` +
    ` transform="translate(${round(p.x)},${round(p.y)})" tabindex="0" role="button"` +
    ` aria-label="${escapeXml(text.full.replace("\n", ", "))}">` +
    `<title>${escapeXml(text.full)}</title>${shape(p)}` +
    `<text class="caption" x="12" y="${top + 17}">${escapeXml(text.caption)}</text>` +
    `<text class="name" x="12" y="${top + 34}">${escapeXml(text.name)}</text>` +
    `<g class="badge" transform="translate(${
      p.width - 30
    },-10)"><rect x="-9" width="18" height="17" rx="8.5"/><text y="12.5"></text></g></g>`;
};

const edgeSvg = (e: RoutedEdge, index: number): string =>
  `<path class="edge ${e.edge.kind}" data-index="${index}" d="${
    pathData(e.points)
  }" marker-end="url(#arrow)"/>`;

/**
 * The graph as an SVG element laid out by `layout`; it scales to its container's width.
 *
 * @category constructors
 */
export const renderSvg = (graph: LineageGraph, layout: GraphLayout): string => {
  if (layout.nodes.length !== graph.nodes.length) throw new Error("layout of another graph");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" preserveAspectRatio="xMidYMid meet" role="group" aria-label="lineage graph: ${graph.nodes.length} nodes, ${graph.edges.length} edges">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>`,
    `<g class="edges">${layout.edges.map(edgeSvg).join("")}</g>`,
    `<g class="nodes">${layout.nodes.map(nodeSvg).join("")}</g>`,
    "</svg>",
  ].join("\n");
};
