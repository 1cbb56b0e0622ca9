/**
 * Puts the nodes of a lineage graph into layers, left to right in dependency order, and orders
 * each layer so that edges stay short and cross little. Pure: coordinates are
 * `graph_layout.ts`'s business.
 *
 * Reads and writes decide the layers. A pipeline (a job with no reads or writes and no parent of
 * its own) gets the first layer to itself: its stages sit where their data puts them, and the
 * parent edges reach them over the top (see `graph_routing.ts`).
 *
 * @module
 */
import type { GraphEdge, LineageGraph } from "./lineage_view.ts";

/** Nodes with no reads or writes and no parent: pipelines, and jobs with no edges at all. */
const pipelineLike = (graph: LineageGraph): Set<string> => {
  const tied = new Set<string>();
  for (const e of graph.edges) {
    if (e.kind !== "parent") tied.add(e.from);
    tied.add(e.to);
  }
  return new Set(graph.nodes.map((n) => n.id).filter((id) => !tied.has(id)));
};

/** Edges among the other nodes; parent edges only where the child has no data edges of its own. */
const layeringEdges = (graph: LineageGraph, apart: Set<string>): GraphEdge[] => {
  const hasData = new Set<string>();
  for (const e of graph.edges) {
    if (e.kind === "parent") continue;
    hasData.add(e.from);
    hasData.add(e.to);
  }
  return graph.edges.filter((e) =>
    !apart.has(e.from) && (e.kind !== "parent" || !hasData.has(e.to))
  );
};

/** Longest-path depth from the sources; a cycle is broken at the first node in id order. */
const longestPath = (ids: ReadonlyArray<string>, edges: ReadonlyArray<GraphEdge>) => {
  const out = new Map<string, string[]>(ids.map((id) => [id, []]));
  const indegree = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const e of edges) {
    out.get(e.from)!.push(e.to);
    indegree.set(e.to, indegree.get(e.to)! + 1);
  }
  const depth = new Map<string, number>();
  const done = new Set<string>();
  const ready = ids.filter((id) => indegree.get(id) === 0);
  while (done.size < ids.length) {
    const next = ready.shift() ?? ids.find((id) => !done.has(id))!;
    if (done.has(next)) continue;
    done.add(next);
    const d = depth.get(next) ?? 0;
    depth.set(next, d);
    for (const to of out.get(next)!) {
      if (done.has(to)) continue;
      depth.set(to, Math.max(depth.get(to) ?? 0, d + 1));
      indegree.set(to, indegree.get(to)! - 1);
      if (indegree.get(to) === 0) ready.push(to);
    }
  }
  return { depth, out };
};

/**
 * The layer of every node: one right of its deepest predecessor. A source moves right to just
 * before its first reader, so that a dataset only a late stage reads does not stretch an edge
 * across the page.
 *
 * @category constructors
 */
export const assignLayers = (graph: LineageGraph): Map<string, number> => {
  const apart = pipelineLike(graph);
  const ids = graph.nodes.map((n) => n.id).filter((id) => !apart.has(id));
  const edges = layeringEdges(graph, apart);
  const { depth, out } = longestPath(ids, edges);
  const hasPredecessor = new Set(edges.map((e) => e.to));
  for (const id of ids) {
    const readers = out.get(id)!.map((to) => depth.get(to)!);
    if (!hasPredecessor.has(id) && readers.length > 0) {
      depth.set(id, Math.max(depth.get(id)!, Math.min(...readers) - 1));
    }
  }
  const shift = apart.size > 0 ? 1 : 0;
  return new Map(graph.nodes.map((n) => [n.id, apart.has(n.id) ? 0 : depth.get(n.id)! + shift]));
};

const SWEEPS = 4;

/**
 * The nodes of each layer, top to bottom. Starts in id order, then sweeps right and left a few
 * times sorting each layer by the mean position of its neighbours in the layers already placed
 * (the barycentre heuristic); stable sorts keep the result deterministic.
 *
 * @category constructors
 */
export const orderLayers = (
  graph: LineageGraph,
  layers: ReadonlyMap<string, number>,
): string[][] => {
  const count = Math.max(0, ...layers.values()) + 1;
  const order: string[][] = Array.from({ length: graph.nodes.length > 0 ? count : 0 }, () => []);
  for (const n of graph.nodes) order[layers.get(n.id)!].push(n.id);
  const neighbours = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) {
    neighbours.get(e.from)!.push(e.to);
    neighbours.get(e.to)!.push(e.from);
  }
  // Positions are centred per layer, since the layout centres each layer in its row.
  const position = new Map<string, number>();
  const place = (layer: string[]) =>
    layer.forEach((id, i) => position.set(id, i - (layer.length - 1) / 2));
  order.forEach(place);
  const sortBy = (i: number, side: (l: number) => boolean) => {
    const key = (id: string) => {
      const near = neighbours.get(id)!.filter((o) => side(layers.get(o)!));
      if (near.length === 0) return position.get(id)!;
      return near.reduce((sum, o) => sum + position.get(o)!, 0) / near.length;
    };
    order[i] = [...order[i]].sort((a, b) => key(a) - key(b));
    place(order[i]);
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    for (let i = 1; i < order.length; i++) sortBy(i, (l) => l < i);
    for (let i = order.length - 2; i >= 0; i--) sortBy(i, (l) => l > i);
  }
  return order;
};
