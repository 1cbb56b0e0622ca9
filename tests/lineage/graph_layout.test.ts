import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { assignLayers } from "../../lineage/graph_layers.ts";
import {
  bestFit,
  fitScale,
  type GraphLayout,
  layoutChoices,
  layoutGraph,
  NODE_HEIGHT,
  NODE_WIDTH,
} from "../../lineage/graph_layout.ts";
import { type Box, type Point, TOP_HOP } from "../../lineage/graph_routing.ts";
import type { GraphEdge, GraphNode, LineageGraph } from "../../lineage/lineage_view.ts";

const job = (name: string, jobType?: string): GraphNode => ({
  id: `job:n:${name}`,
  kind: "job",
  namespace: "n",
  name,
  label: name,
  ...(jobType ? { jobType } : {}),
});
const dataset = (name: string): GraphNode => ({
  id: `dataset:n:${name}`,
  kind: "dataset",
  namespace: "n",
  name,
  label: name,
});
const edge = (from: GraphNode, to: GraphNode, kind: GraphEdge["kind"]): GraphEdge => ({
  from: from.id,
  to: to.id,
  kind,
});

/** A pipeline, a gate with no data, and two stages reading and writing four datasets. */
const pipelineGraph = (): LineageGraph => {
  const [p, g, s1, s2] = [job("p", "DAG"), job("p.gate"), job("p.s1"), job("p.s2")];
  const [d0, d1, d2, d3] = ["d0", "d1", "d2", "d3"].map(dataset);
  return {
    nodes: [p, g, s1, s2, d0, d1, d2, d3],
    edges: [
      edge(p, g, "parent"),
      edge(p, s1, "parent"),
      edge(p, s2, "parent"),
      edge(d0, s1, "input"),
      edge(s1, d1, "output"),
      edge(d1, s2, "input"),
      edge(d3, s2, "input"),
      edge(s2, d2, "output"),
    ],
  };
};

/** A chain of `n` layers: d0 → j1 → d2 → j3 → … */
const chain = (n: number): LineageGraph => {
  const nodes = Array.from({ length: n }, (_, i) => (i % 2 ? job(`j${i}`) : dataset(`d${i}`)));
  return {
    nodes,
    edges: nodes.slice(1).map((to, i) => edge(nodes[i], to, i % 2 ? "output" : "input")),
  };
};

describe("assignLayers()", () => {
  it("gives pipelines the first layer and moves a source right to just before its reader", () => {
    expect(Object.fromEntries(assignLayers(pipelineGraph()))).toEqual({
      "job:n:p": 0,
      "job:n:p.gate": 1,
      "dataset:n:d0": 1,
      "job:n:p.s1": 2,
      "dataset:n:d1": 3,
      "dataset:n:d3": 3,
      "job:n:p.s2": 4,
      "dataset:n:d2": 5,
    });
  });

  it("puts each node one layer right of its deepest predecessor, even in a cycle", () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => job(n));
    const layout = layoutGraph({
      nodes: [a, b, c, d],
      edges: [
        edge(a, b, "parent"),
        edge(b, c, "parent"),
        edge(a, c, "parent"),
        edge(c, d, "parent"),
        edge(d, c, "parent"),
      ],
    });
    expect(layout.nodes.map((p) => [p.node.name, p.layer, p.slot])).toEqual([
      ["a", 0, 0],
      ["b", 1, 0],
      ["c", 2, 0],
      ["d", 3, 0],
    ]);
  });
});

describe("layoutGraph()", () => {
  it("wraps after layersPerRow layers: row and column follow from the layer", () => {
    const layout = layoutGraph(pipelineGraph(), { layersPerRow: 2 });
    expect([layout.rows, layout.layersPerRow]).toEqual([3, 2]);
    expect(layout.nodes.map((p) => [p.node.name, p.layer, p.row, p.column])).toEqual([
      ["p", 0, 0, 0],
      ["p.gate", 1, 0, 1],
      ["p.s1", 2, 1, 0],
      ["p.s2", 4, 2, 0],
      ["d0", 1, 0, 1],
      ["d1", 3, 1, 1],
      ["d2", 5, 2, 1],
      ["d3", 3, 1, 1],
    ]);
    const oneRow = layoutGraph(pipelineGraph());
    expect(oneRow.rows).toBe(1);
    expect(layout.width).toBeLessThan(oneRow.width / 2);
  });

  it("draws a read between neighbouring layers as one straight line, side to side", () => {
    const [d, j] = [dataset("d"), job("j")];
    const layout = layoutGraph({ nodes: [d, j], edges: [edge(d, j, "input")] });
    const [pd, pj] = layout.nodes;
    expect(layout.edges[0].points).toEqual([
      { x: pd.x + NODE_WIDTH, y: pd.y + NODE_HEIGHT / 2 },
      { x: pj.x, y: pj.y + NODE_HEIGHT / 2 },
    ]);
  });

  it("drops a parent edge onto its stage's top, turning in the corridor and above the box", () => {
    const [p, s] = [job("p", "DAG"), job("p.s")];
    const layout = layoutGraph({ nodes: [p, s], edges: [edge(p, s, "parent")] });
    // Margins of 16, nodes 200 wide, a 40 px corridor between them with its track in the middle.
    expect(layout.nodes.map((n) => [n.x, n.y])).toEqual([[16, 16], [256, 16]]);
    expect(layout.edges[0].points).toEqual([
      { x: 216, y: 38 },
      { x: 236, y: 38 },
      { x: 236, y: 16 - TOP_HOP },
      { x: 356, y: 16 - TOP_HOP },
      { x: 356, y: 16 },
    ]);
    expect([layout.width, layout.height]).toEqual([472, 76]);
  });
});

describe("layoutChoices() and bestFit()", () => {
  it("lays a graph out once per row count that changes the layout, fewest rows first", () => {
    const choices = layoutChoices(chain(12));
    expect(choices.map((l) => [l.layersPerRow, l.rows])).toEqual(
      [[12, 1], [6, 2], [4, 3], [3, 4], [2, 6], [1, 12]],
    );
  });

  it("picks the layout shown largest in the viewport; of equals, the one with fewest rows", () => {
    const choices = layoutChoices(chain(12));
    const wide = { width: 4000, height: 300 };
    const narrow = { width: 500, height: 1400 };
    const squarish = { width: 1000, height: 800 };
    expect([wide, narrow, squarish].map((v) => bestFit(choices, v).rows)).toEqual([1, 6, 3]);
    for (const v of [wide, narrow, squarish]) {
      const best = fitScale(bestFit(choices, v), v);
      expect(choices.every((c) => fitScale(c, v) <= best)).toBe(true);
    }
  });
});

const crossesInside = (a: Point, b: Point, box: Box): boolean => {
  const e = 0.5;
  const [x0, x1] = [Math.min(a.x, b.x), Math.max(a.x, b.x)];
  const [y0, y1] = [Math.min(a.y, b.y), Math.max(a.y, b.y)];
  return x1 > box.x + e && x0 < box.x + box.width - e && y1 > box.y + e &&
    y0 < box.y + box.height - e;
};

/** Every property the page relies on, for one layout; returns the broken ones. */
const problems = (graph: LineageGraph, layout: GraphLayout): string[] => {
  const out: string[] = [];
  const boxes = layout.nodes;
  const at = new Map(boxes.map((p) => [p.node.id, p]));
  boxes.forEach((a, i) => {
    if (a.x < 0 || a.y < 0 || a.x + a.width > layout.width || a.y + a.height > layout.height) {
      out.push(`${a.node.id} outside the layout`);
    }
    for (const b of boxes.slice(i + 1)) {
      if (crossesInside(a, { x: a.x + a.width, y: a.y + a.height }, b)) {
        out.push(`${a.node.id} overlaps ${b.node.id}`);
      }
    }
  });
  layout.edges.forEach(({ edge: e, points }, i) => {
    const [s, t] = [at.get(e.from)!, at.get(e.to)!];
    const end = e.kind === "parent"
      ? { x: t.x + t.width / 2, y: t.y }
      : { x: t.x, y: t.y + t.height / 2 };
    if (e !== graph.edges[i]) out.push(`edge ${i} out of order`);
    const first = { x: s.x + s.width, y: s.y + s.height / 2 };
    if (JSON.stringify(points[0]) !== JSON.stringify(first)) out.push(`edge ${i} starts off`);
    if (JSON.stringify(points.at(-1)) !== JSON.stringify(end)) out.push(`edge ${i} ends off`);
    points.slice(1).forEach((b, k) => {
      const a = points[k];
      if (a.x !== b.x && a.y !== b.y) out.push(`edge ${i} segment ${k} is diagonal`);
      for (const box of boxes) {
        if (crossesInside(a, b, box)) out.push(`edge ${i} crosses ${box.node.id}`);
      }
    });
  });
  return out;
};

const graphArb = fc.record({
  kinds: fc.array(fc.constantFrom("job", "dataset", "pipeline"), { minLength: 1, maxLength: 14 }),
  links: fc.array(
    fc.tuple(
      fc.nat(),
      fc.nat(),
      fc.constantFrom("input", "output", "parent") as fc.Arbitrary<
        GraphEdge["kind"]
      >,
    ),
    { maxLength: 30 },
  ),
}).map(({ kinds, links }): LineageGraph => {
  const nodes = kinds.map((k, i) =>
    k === "dataset" ? dataset(`d${i}`) : job(`j${i}`, k === "pipeline" ? "DAG" : "TASK")
  );
  const edges = new Map<string, GraphEdge>();
  for (const [a, b, kind] of links) {
    const [from, to] = [nodes[a % nodes.length], nodes[b % nodes.length]];
    if (from !== to) edges.set(`${from.id} ${to.id} ${kind}`, edge(from, to, kind));
  }
  return { nodes, edges: [...edges.values()] };
});

describe("every layout of any graph", () => {
  test.prop([graphArb], { numRuns: 150 })(
    "layoutChoices() keeps boxes apart and inside, and routes edges orthogonally around them",
    (graph) => {
      for (const layout of layoutChoices(graph)) {
        expect(problems(graph, layout)).toEqual([]);
      }
    },
  );
});
