/**
 * Pure graph functions over named nodes: a deterministic topological order, cycle paths, and
 * ancestors and descendants. Edges point downstream: `{ from: "parse", to: "chunk" }` means chunk
 * depends on parse. Edges whose ends are not among the nodes are ignored.
 *
 * @module
 */

/** `to` depends on `from`: `from` runs first. */
export interface Edge {
  /** The node that runs first (the upstream one). */
  readonly from: string;
  /** The node that depends on `from`. */
  readonly to: string;
}

/** A topological order, or a cycle path whose first and last node are the same. */
export type OrderResult =
  | { readonly _tag: "Ordered"; readonly order: ReadonlyArray<string> }
  | { readonly _tag: "Cycle"; readonly cycle: ReadonlyArray<string> };

type Adjacency = ReadonlyMap<string, ReadonlyArray<string>>;

// Successors of each node, sorted by the successor's declaration index, so every walk is
// deterministic whatever order the edges came in.
const successors = (nodes: ReadonlyArray<string>, edges: ReadonlyArray<Edge>): Adjacency => {
  const index = new Map(nodes.map((node, i) => [node, i]));
  const out = new Map<string, Array<string>>(nodes.map((node) => [node, []]));
  for (const { from, to } of edges) {
    const list = out.get(from);
    if (list !== undefined && index.has(to) && !list.includes(to)) list.push(to);
  }
  for (const list of out.values()) list.sort((a, b) => index.get(a)! - index.get(b)!);
  return out;
};

/**
 * Kahn's algorithm; among the nodes ready at each step the one declared first goes next, so the
 * order is a function of the declaration order alone. On a cycle, returns one cycle path instead.
 *
 * @example
 * ```ts
 * topologicalOrder(["b", "a"], [{ from: "a", to: "b" }]);
 * // { _tag: "Ordered", order: ["a", "b"] }
 * ```
 */
export const topologicalOrder = (
  nodes: ReadonlyArray<string>,
  edges: ReadonlyArray<Edge>,
): OrderResult => {
  const unique = [...new Set(nodes)];
  const next = successors(unique, edges);
  const indegree = new Map(unique.map((node) => [node, 0]));
  for (const list of next.values()) {
    for (const to of list) indegree.set(to, indegree.get(to)! + 1);
  }
  const order: Array<string> = [];
  const placed = new Set<string>();
  while (order.length < unique.length) {
    const ready = unique.find((node) => !placed.has(node) && indegree.get(node) === 0);
    if (ready === undefined) {
      return { _tag: "Cycle", cycle: findCycle(unique, edges) ?? [] };
    }
    order.push(ready);
    placed.add(ready);
    for (const to of next.get(ready)!) indegree.set(to, indegree.get(to)! - 1);
  }
  return { _tag: "Ordered", order };
};

/** One cycle path (`["a", "b", "a"]`), starting at the first-declared node on a cycle. */
export const findCycle = (
  nodes: ReadonlyArray<string>,
  edges: ReadonlyArray<Edge>,
): ReadonlyArray<string> | undefined => findCycles(nodes, edges)[0];

/**
 * One cycle per strongly connected component that has one, each the shortest cycle through the
 * component's first-declared node, in declaration order of those nodes.
 */
export const findCycles = (
  nodes: ReadonlyArray<string>,
  edges: ReadonlyArray<Edge>,
): ReadonlyArray<ReadonlyArray<string>> => {
  const unique = [...new Set(nodes)];
  const next = successors(unique, edges);
  const index = new Map(unique.map((node, i) => [node, i]));
  return components(unique, next)
    .filter((scc) => scc.length > 1 || next.get(scc[0])!.includes(scc[0]))
    .map((scc) => [...scc].sort((a, b) => index.get(a)! - index.get(b)!))
    .sort((a, b) => index.get(a[0])! - index.get(b[0])!)
    .map((scc) => shortestCycle(scc[0], new Set(scc), next));
};

// Tarjan's strongly connected components, iterative so deep graphs cannot overflow the stack.
const components = (
  nodes: ReadonlyArray<string>,
  next: Adjacency,
): ReadonlyArray<ReadonlyArray<string>> => {
  const low = new Map<string, number>();
  const seen = new Map<string, number>();
  const stack: Array<string> = [];
  const onStack = new Set<string>();
  const result: Array<Array<string>> = [];
  for (const root of nodes) {
    if (seen.has(root)) continue;
    const work: Array<[string, number]> = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [node, i] = frame;
      if (i === 0) {
        seen.set(node, seen.size);
        low.set(node, seen.get(node)!);
        stack.push(node);
        onStack.add(node);
      }
      const children = next.get(node)!;
      if (i < children.length) {
        frame[1] = i + 1;
        const child = children[i];
        if (!seen.has(child)) work.push([child, 0]);
        else if (onStack.has(child)) low.set(node, Math.min(low.get(node)!, seen.get(child)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(node)!));
      }
      if (low.get(node) === seen.get(node)) {
        const scc: Array<string> = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          scc.push(member);
        } while (member !== node);
        result.push(scc);
      }
    }
  }
  return result;
};

// Breadth-first from `start` inside its component until an edge leads back to `start`.
const shortestCycle = (
  start: string,
  within: ReadonlySet<string>,
  next: Adjacency,
): ReadonlyArray<string> => {
  const parent = new Map<string, string>([[start, start]]);
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head];
    for (const child of next.get(node)!) {
      if (child === start) return [...pathTo(node, parent), start];
      if (within.has(child) && !parent.has(child)) {
        parent.set(child, node);
        queue.push(child);
      }
    }
  }
  return [start, start];
};

const pathTo = (node: string, parent: ReadonlyMap<string, string>): Array<string> => {
  const path = [node];
  while (path[0] !== parent.get(path[0])) path.unshift(parent.get(path[0])!);
  return path;
};

const reachable = (start: string, step: Adjacency): ReadonlySet<string> => {
  const found = new Set<string>();
  const queue = [...(step.get(start) ?? [])];
  while (queue.length > 0) {
    const node = queue.pop()!;
    if (found.has(node)) continue;
    found.add(node);
    queue.push(...(step.get(node) ?? []));
  }
  return found;
};

const adjacency = (edges: ReadonlyArray<Edge>, reverse: boolean): Adjacency => {
  const out = new Map<string, Array<string>>();
  for (const { from, to } of edges) {
    const [a, b] = reverse ? [to, from] : [from, to];
    out.set(a, [...(out.get(a) ?? []), b]);
  }
  return out;
};

/** Every node `name` depends on, directly or not (itself only when on a cycle). */
export const ancestors = (name: string, edges: ReadonlyArray<Edge>): ReadonlySet<string> =>
  reachable(name, adjacency(edges, true));

/** Every node that depends on `name`, directly or not (itself only when on a cycle). */
export const descendants = (name: string, edges: ReadonlyArray<Edge>): ReadonlySet<string> =>
  reachable(name, adjacency(edges, false));
