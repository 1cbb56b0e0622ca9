/**
 * Lays a lineage graph out to fit a window: layers left to right in dependency order
 * (`graph_layers.ts`), wrapped into rows of `layersPerRow` layers when one row would be too wide,
 * with edges routed around the node boxes (`graph_routing.ts`). {@link layoutChoices} lays the
 * graph out once per useful row count, so a page can pick the one that best fits its window.
 *
 * @module
 */
import { assignLayers, orderLayers } from "./graph_layers.ts";
import {
  type Box,
  type GridCell,
  type Lane,
  planRoutes,
  type Point,
  type RoutePlan,
  routePoints,
  TOP_HOP,
  type Track,
} from "./graph_routing.ts";
import type { GraphEdge, GraphNode, LineageGraph } from "./lineage_view.ts";

/**
 * The width of every node box.
 *
 * @category models
 */
export const NODE_WIDTH = 200;
/**
 * The height of every node box.
 *
 * @category models
 */
export const NODE_HEIGHT = 44;

// Rows of nodes keep room for a parent edge's turn above a node (TOP_HOP) and then some.
const SLOT_GAP = 2 * TOP_HOP + 6;
const TRACK_GAP = 8;
const LANE_GAP = 8;
const PAD = 14;
const MARGIN = 16;
const MIN_CORRIDOR = 40;
const MIN_GUTTER = 32;

/**
 * A node placed on the page: its box, its layer and where that layer sits in the wrapped grid.
 *
 * @category models
 */
export interface PlacedNode extends Box {
  /** The node it places. */
  readonly node: GraphNode;
  /** The dependency layer, counted from the left across all rows. */
  readonly layer: number;
  /** The row of layers it is in. */
  readonly row: number;
  /** The layer's place within its row. */
  readonly column: number;
  /** Its place in its layer, from the top. */
  readonly slot: number;
}

/**
 * An edge as an orthogonal polyline from its source's right side to its target.
 *
 * @category models
 */
export interface RoutedEdge {
  /** The edge it routes. */
  readonly edge: GraphEdge;
  /** The polyline: the start on the source, each bend, the end on the target. */
  readonly points: ReadonlyArray<Point>;
}

/**
 * A laid-out graph: nodes in the graph's node order, edges in its edge order.
 *
 * @category models
 */
export interface GraphLayout {
  /** Placed nodes, in the graph's node order. */
  readonly nodes: ReadonlyArray<PlacedNode>;
  /** Routed edges, in the graph's edge order. */
  readonly edges: ReadonlyArray<RoutedEdge>;
  /** The width of the whole drawing. */
  readonly width: number;
  /** The height of the whole drawing. */
  readonly height: number;
  /** How many layers each row holds. */
  readonly layersPerRow: number;
  /** How many rows the layers wrap into. */
  readonly rows: number;
}

/**
 * How to lay a graph out.
 *
 * @category models
 */
export interface LayoutOptions {
  /**
   * Layers per row; the layout wraps into more rows when there are more layers.
   *
   * @default every layer in one row
   */
  readonly layersPerRow?: number;
}

interface Layering {
  readonly order: ReadonlyArray<ReadonlyArray<string>>;
}

interface Cell extends GridCell {
  readonly layer: number;
  readonly slot: number;
}

const layering = (graph: LineageGraph): Layering => ({
  order: orderLayers(graph, assignLayers(graph)),
});

const stackHeight = (count: number) => count * NODE_HEIGHT + Math.max(0, count - 1) * SLOT_GAP;

/** Room for `count` parallel lines `gap` apart, padded, and at least `least`. */
const spread = (count: number, gap: number, least: number) =>
  Math.max(least, count === 0 ? 0 : 2 * PAD + (count - 1) * gap);

const startsOf = (sizes: ReadonlyArray<number>, between: (i: number) => number) => {
  const starts: number[] = [];
  sizes.reduce((at, size, i) => (starts.push(at), at + size + between(i)), 0);
  return starts;
};

const cellsOf = (l: Layering, perRow: number, rowHeights: ReadonlyArray<number>) => {
  const cells = new Map<string, Cell>();
  l.order.forEach((ids, layer) => {
    const row = Math.floor(layer / perRow);
    // Each layer is centred in its row, so short layers line up with the middle of tall ones.
    const offset = (rowHeights[row] - stackHeight(ids.length)) / 2;
    ids.forEach((id, slot) =>
      cells.set(id, {
        row,
        column: layer % perRow,
        top: offset + slot * (NODE_HEIGHT + SLOT_GAP),
        height: NODE_HEIGHT,
        layer,
        slot,
      })
    );
  });
  return cells;
};

/** Lines `gap` apart centred in a band that starts at `start` and is `size` wide. */
const centred = (start: number, size: number, count: number, gap: number, i: number) =>
  start + (size - (count - 1) * gap) / 2 + i * gap;

/** Corridor widths and gutter heights from the tracks and lanes the routes need. */
const spacing = (plan: RoutePlan, perRow: number, rowHeights: ReadonlyArray<number>) => {
  const rows = rowHeights.length;
  // The outermost corridors and gutters are the margins.
  const least = (
    i: number,
    last: number,
    inner: number,
  ) => (i === 0 || i === last ? MARGIN : inner);
  const corridors = plan.tracks.map((n, i) => spread(n, TRACK_GAP, least(i, perRow, MIN_CORRIDOR)));
  const gutters = plan.lanes.map((n, g) => spread(n, LANE_GAP, least(g, rows, MIN_GUTTER)));
  const corridorX = startsOf(corridors, () => NODE_WIDTH);
  const gutterY = startsOf(gutters, (g) => rowHeights[g] ?? 0);
  return {
    columnX: (c: number) => corridorX[c] + corridors[c],
    rowY: (r: number) => gutterY[r] + gutters[r],
    trackX: (t: Track) =>
      centred(
        corridorX[t.corridor],
        corridors[t.corridor],
        plan.tracks[t.corridor],
        TRACK_GAP,
        t.track,
      ),
    laneY: (g: Lane) =>
      centred(gutterY[g.gutter], gutters[g.gutter], plan.lanes[g.gutter], LANE_GAP, g.lane),
    width: corridorX[perRow] + corridors[perRow],
    height: gutterY[rows] + gutters[rows],
  };
};

const place = (graph: LineageGraph, l: Layering, perRow: number): GraphLayout => {
  const rows = Math.max(1, Math.ceil(l.order.length / perRow));
  const rowHeights = Array.from(
    { length: rows },
    (_, r) =>
      Math.max(
        NODE_HEIGHT,
        ...l.order.slice(r * perRow, (r + 1) * perRow).map((ids) => stackHeight(ids.length)),
      ),
  );
  const cells = cellsOf(l, perRow, rowHeights);
  const plan = planRoutes(graph.edges, cells, { rows, columns: perRow, rowHeights });
  const at = spacing(plan, perRow, rowHeights);
  const nodes = graph.nodes.map((node): PlacedNode => {
    const c = cells.get(node.id)!;
    const { layer, row, column, slot } = c;
    const [x, y] = [at.columnX(column), at.rowY(row) + c.top];
    return { node, x, y, width: NODE_WIDTH, height: NODE_HEIGHT, layer, row, column, slot };
  });
  const box = new Map(nodes.map((p) => [p.node.id, p]));
  const edges = graph.edges.map((edge, i): RoutedEdge => ({
    edge,
    points: routePoints(plan.routes[i], box.get(edge.from)!, box.get(edge.to)!, at),
  }));
  return { nodes, edges, width: at.width, height: at.height, layersPerRow: perRow, rows };
};

/**
 * Places the nodes and routes the edges, wrapping after `layersPerRow` layers.
 *
 * @example
 * ```ts
 * import { layoutGraph } from "./graph_layout.ts";
 *
 * const job = (name: string) => ({
 *   id: `job:n:${name}`, kind: "job" as const, namespace: "n", name, label: name,
 * });
 * const layout = layoutGraph({
 *   nodes: [job("a"), job("b")],
 *   edges: [{ from: "job:n:a", to: "job:n:b", kind: "parent" }],
 * });
 * console.log(layout.nodes.map((p) => p.layer)); // [0, 1]
 * ```
 *
 * @category constructors
 */
export const layoutGraph = (graph: LineageGraph, options: LayoutOptions = {}): GraphLayout => {
  const l = layering(graph);
  const layers = Math.max(1, l.order.length);
  const perRow = Math.min(layers, Math.max(1, Math.floor(options.layersPerRow ?? layers)));
  return place(graph, l, perRow);
};

/**
 * The graph laid out once for every row count that changes the layout, fewest rows first: one
 * row, then the fewest layers per row that make two rows, three, and so on.
 *
 * @category constructors
 */
export const layoutChoices = (graph: LineageGraph): ReadonlyArray<GraphLayout> => {
  const l = layering(graph);
  const layers = Math.max(1, l.order.length);
  const perRow = new Set<number>();
  for (let rows = 1; rows <= layers; rows++) perRow.add(Math.ceil(layers / rows));
  return [...perRow].map((k) => place(graph, l, k));
};

/**
 * The scale at which a layout fits a viewport, never above 1 (full size).
 *
 * @category constructors
 */
export const fitScale = (
  layout: Pick<GraphLayout, "width" | "height">,
  viewport: { readonly width: number; readonly height: number },
): number => Math.min(1, viewport.width / layout.width, viewport.height / layout.height);

/**
 * The layout that shows the graph largest in a viewport; of equals, the one with fewest rows.
 *
 * @category constructors
 */
export const bestFit = (
  choices: ReadonlyArray<GraphLayout>,
  viewport: { readonly width: number; readonly height: number },
): GraphLayout =>
  choices.reduce((best, c) => (fitScale(c, viewport) > fitScale(best, viewport) ? c : best));
