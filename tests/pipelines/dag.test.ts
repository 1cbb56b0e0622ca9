import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import {
  ancestors,
  descendants,
  type Edge,
  findCycle,
  findCycles,
  topologicalOrder,
} from "../../pipelines/dag.ts";

// A DAG by construction: an edge may only go from a lower to a higher index (one random bit per
// such pair); then the declaration order is shuffled so it says nothing about the graph.
const dag = fc.integer({ min: 1, max: 12 }).chain((n) => {
  const pairs = Array.from(
    { length: n },
    (_, a) =>
      Array.from({ length: n - a - 1 }, (_, d): Edge => ({ from: `s${a}`, to: `s${a + d + 1}` })),
  )
    .flat();
  return fc.record({
    nodes: fc.shuffledSubarray(
      Array.from({ length: n }, (_, i) => `s${i}`),
      { minLength: n, maxLength: n },
    ),
    edges: fc.array(fc.boolean(), { minLength: pairs.length, maxLength: pairs.length })
      .map((keep) => pairs.filter((_, i) => keep[i])),
  });
});

// The same graphs plus a chain of back edges through some nodes: a cycle for certain.
const cyclic = dag.chain(({ nodes, edges }) =>
  fc.shuffledSubarray([...nodes], { minLength: 1, maxLength: Math.min(nodes.length, 4) }).map(
    (loop) => ({
      nodes,
      edges: [
        ...edges,
        ...loop.map((from, i): Edge => ({ from, to: loop[(i + 1) % loop.length] })),
      ],
    }),
  )
);

const isEdge = (edges: ReadonlyArray<Edge>, from: string, to: string): boolean =>
  edges.some((e) => e.from === from && e.to === to);

describe("topologicalOrder()", () => {
  test.prop([dag])("orders a random DAG so that every edge points forward", ({ nodes, edges }) => {
    const result = topologicalOrder(nodes, edges);
    if (result._tag !== "Ordered") throw new Error(`unexpected cycle ${result.cycle}`);
    expect([...result.order].sort()).toEqual([...nodes].sort());
    for (const { from, to } of edges) {
      expect(result.order.indexOf(from)).toBeLessThan(result.order.indexOf(to));
    }
  });

  test.prop([cyclic])(
    "rejects a graph with a cycle, naming a path of real edges",
    ({ nodes, edges }) => {
      const result = topologicalOrder(nodes, edges);
      if (result._tag !== "Cycle") throw new Error("a cyclic graph was ordered");
      const { cycle } = result;
      expect(cycle.length).toBeGreaterThanOrEqual(2);
      expect(cycle[0]).toBe(cycle[cycle.length - 1]);
      for (let i = 0; i + 1 < cycle.length; i++) {
        expect(isEdge(edges, cycle[i], cycle[i + 1])).toBe(true);
      }
    },
  );

  test.prop([dag])("depends only on the declaration order and the edge set", ({ nodes, edges }) => {
    expect(topologicalOrder(nodes, [...edges].reverse())).toEqual(topologicalOrder(nodes, edges));
  });

  it("breaks ties by declaration order", () => {
    const edges = [{ from: "ingest", to: "parse" }, { from: "parse", to: "embed" }, {
      from: "parse",
      to: "extract",
    }];
    expect(topologicalOrder(["ingest", "extract", "parse", "embed"], edges)).toEqual({
      _tag: "Ordered",
      order: ["ingest", "parse", "extract", "embed"],
    });
  });

  it("reports a self-dependency as a one-node cycle", () => {
    expect(topologicalOrder(["a", "b"], [{ from: "b", to: "b" }])).toEqual({
      _tag: "Cycle",
      cycle: ["b", "b"],
    });
  });
});

describe("findCycles()", () => {
  it("returns one shortest cycle per strongly connected component, in declaration order", () => {
    const edges: ReadonlyArray<Edge> = [
      { from: "a", to: "b" },
      { from: "b", to: "c" },
      { from: "c", to: "a" },
      { from: "c", to: "b" },
      { from: "x", to: "y" },
      { from: "y", to: "x" },
      { from: "c", to: "x" },
    ];
    expect(findCycles(["y", "x", "a", "b", "c"], edges)).toEqual([
      ["y", "x", "y"],
      ["a", "b", "c", "a"],
    ]);
    expect(findCycle(["y", "x", "a", "b", "c"], edges)).toEqual(["y", "x", "y"]);
  });

  test.prop([dag])("finds no cycle in a DAG", ({ nodes, edges }) => {
    expect(findCycles(nodes, edges)).toEqual([]);
  });

  it("ignores edges to nodes it was not given", () => {
    expect(findCycle(["a"], [{ from: "a", to: "ghost" }, { from: "ghost", to: "a" }]))
      .toBeUndefined();
  });
});

describe("ancestors() and descendants()", () => {
  const edges: ReadonlyArray<Edge> = [
    { from: "ingest", to: "parse" },
    { from: "parse", to: "chunk" },
    { from: "chunk", to: "embed" },
    { from: "parse", to: "extract" },
  ];

  it("follow edges transitively, upstream and downstream", () => {
    expect(ancestors("embed", edges)).toEqual(new Set(["chunk", "parse", "ingest"]));
    expect(descendants("parse", edges)).toEqual(new Set(["chunk", "embed", "extract"]));
    expect(ancestors("ingest", edges)).toEqual(new Set());
  });

  test.prop([dag])("are mirror images of each other", ({ nodes, edges }) => {
    for (const a of nodes) {
      for (const b of descendants(a, edges)) expect(ancestors(b, edges).has(a)).toBe(true);
    }
  });
});
