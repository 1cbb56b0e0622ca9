/**
 * Orthogonal edge routes for a layered layout that wraps into rows, routed so that no edge
 * crosses a node box.
 *
 * The layout is a grid: columns of equally wide nodes with corridors between them, and rows with
 * gutters between them. Corridors and gutters hold no nodes, so a route that leaves its source
 * sideways into the next corridor, runs only along corridors and gutters, and enters its target
 * from the corridor before it crosses no box. An edge between neighbouring columns of one row
 * turns once in the corridor between them; any other edge climbs or drops to a gutter, runs
 * along it and drops or climbs to its target. Reads and writes enter a node from the left;
 * parent edges (pipeline → stage) drop onto its top, so the two read apart.
 *
 * Edges that leave one node share a track (a bus with branches), and so do edges that enter one
 * node; tracks whose vertical spans do not meet share a place in the corridor, and lanes in a
 * gutter likewise.
 *
 * @module
 */
import type { GraphEdge } from "./lineage_view.ts";

/**
 * Where a node sits in the grid; `top` is measured from the top of its row.
 *
 * @category models
 */
export interface GridCell {
  /** The row of layers the node is in. */
  readonly row: number;
  /** The layer's place in its row. */
  readonly column: number;
  /** How far below the top of its row the node starts. */
  readonly top: number;
  /** The node's height. */
  readonly height: number;
}

/**
 * A vertical track: corridor `i` lies left of column `i`; the last one is the right margin.
 *
 * @category models
 */
export interface Track {
  /** Which corridor. */
  readonly corridor: number;
  /** Which track in it, from the left. */
  readonly track: number;
}

/**
 * A horizontal lane: gutter `i` lies above row `i`; the last one is the bottom margin.
 *
 * @category models
 */
export interface Lane {
  /** Which gutter. */
  readonly gutter: number;
  /** Which lane in it, from the top. */
  readonly lane: number;
}

/**
 * The route of one edge: out of its source on a track, maybe along a lane, in on a track.
 *
 * @category models
 */
export interface PlannedRoute {
  /** Where the edge enters its target: the left side (reads, writes) or the top (parent). */
  readonly port: "left" | "top";
  /** The track it leaves its source on. */
  readonly out: Track;
  /** The gutter lane it runs along; null between neighbouring layers of one row. */
  readonly lane: Lane | null;
  /** The track it enters its target from; the same as `out` for neighbouring layers. */
  readonly into: Track;
}

/**
 * Routes in edge order, and how many tracks each corridor and lanes each gutter need.
 *
 * @category models
 */
export interface RoutePlan {
  /** One route per edge, in edge order. */
  readonly routes: ReadonlyArray<PlannedRoute>;
  /** How many tracks each corridor needs. */
  readonly tracks: ReadonlyArray<number>;
  /** How many lanes each gutter needs. */
  readonly lanes: ReadonlyArray<number>;
}

/**
 * The grid's shape: rows, columns per row and each row's height.
 *
 * @category models
 */
export interface GridShape {
  /** How many rows. */
  readonly rows: number;
  /** How many layers per row. */
  readonly columns: number;
  /** Each row's height: its tallest layer. */
  readonly rowHeights: ReadonlyArray<number>;
}

/** A track shared by the edges out of one node (`from`) or into one node (`to`). */
interface NetRef {
  readonly key: string;
  readonly end: "from" | "to";
}

interface Draft {
  readonly port: "left" | "top";
  readonly out: NetRef;
  readonly into: NetRef;
  readonly gutter: number | null;
}

// Spans count rows and gutters on one scale: gutter g is 2g, row r is 2r + 1.
interface Net {
  readonly place: number;
  readonly order: readonly [number, number, number];
  lo: number;
  hi: number;
}

const rowUnit = (row: number) => 2 * row + 1;

/** The gutter a non-neighbouring edge runs along: above its target's row when rows differ. */
const gutterOf = (e: GraphEdge, s: GridCell, t: GridCell, shape: GridShape): number => {
  if (s.row !== t.row) return Math.max(s.row, t.row);
  if (e.kind === "parent") return s.row;
  const middle = (s.top + s.height / 2 + t.top + t.height / 2) / 2;
  return middle <= shape.rowHeights[s.row] / 2 ? s.row : s.row + 1;
};

const drafts = (
  edges: ReadonlyArray<GraphEdge>,
  cells: ReadonlyMap<string, GridCell>,
  shape: GridShape,
): Draft[] => {
  // Parent edges and data edges never share a track: they leave and enter nodes differently.
  const outRef = (e: GraphEdge): NetRef => ({
    key: `out ${e.kind === "parent"} ${e.from}`,
    end: "from",
  });
  const inRef = (e: GraphEdge): NetRef => ({ key: `in ${e.kind === "parent"} ${e.to}`, end: "to" });
  const direct = (e: GraphEdge) => {
    const s = cells.get(e.from)!;
    const t = cells.get(e.to)!;
    return s.row === t.row && t.column === s.column + 1;
  };
  const company = new Map<string, number>();
  for (const e of edges.filter(direct)) {
    for (const key of [outRef(e).key, inRef(e).key]) company.set(key, (company.get(key) ?? 0) + 1);
  }
  return edges.map((e): Draft => {
    const port = e.kind === "parent" ? "top" : "left";
    if (direct(e)) {
      // One bend in the corridor between: bundle on whichever end has more company.
      const shared = company.get(outRef(e).key)! >= company.get(inRef(e).key)!
        ? outRef(e)
        : inRef(e);
      return { port, out: shared, into: shared, gutter: null };
    }
    const gutter = gutterOf(e, cells.get(e.from)!, cells.get(e.to)!, shape);
    return { port, out: outRef(e), into: inRef(e), gutter };
  });
};

/** Gives each net the first slot in its place whose nets it does not overlap, in preferred order. */
const pack = (nets: ReadonlyArray<Net>, places: number) => {
  const slots = Array.from({ length: places }, () => [] as Net[][]);
  const at = new Map<Net, number>();
  const sorted = [...nets].sort((a, b) =>
    a.order[0] - b.order[0] || a.order[1] - b.order[1] || a.order[2] - b.order[2]
  );
  for (const net of sorted) {
    const taken = slots[net.place];
    let i = taken.findIndex((slot) => slot.every((o) => o.hi < net.lo || net.hi < o.lo));
    if (i < 0) i = taken.push([]) - 1;
    taken[i].push(net);
    at.set(net, i);
  }
  return { at, counts: slots.map((s) => s.length) };
};

const grow = (net: Net, lo: number, hi: number) => {
  net.lo = Math.min(net.lo, lo);
  net.hi = Math.max(net.hi, hi);
};

/** The tracks and lanes the drafted routes need, each with the span it must cover. */
const collectNets = (
  edges: ReadonlyArray<GraphEdge>,
  cells: ReadonlyMap<string, GridCell>,
  plans: ReadonlyArray<Draft>,
) => {
  const tracks = new Map<string, Net>();
  const lanes = new Map<string, Net>();
  const track = (ref: NetRef, e: GraphEdge) => {
    const cell = cells.get(ref.end === "from" ? e.from : e.to)!;
    if (!tracks.has(ref.key)) {
      tracks.set(ref.key, {
        // Out of a node: the corridor right of it; into a node: the one left of it.
        place: ref.end === "from" ? cell.column + 1 : cell.column,
        order: [ref.end === "from" ? 0 : 1, cell.row, cell.top],
        lo: rowUnit(cell.row),
        hi: rowUnit(cell.row),
      });
    }
    // A direct edge stays in its row; any other reaches its gutter, added below.
    return tracks.get(ref.key)!;
  };
  edges.forEach((e, i) => {
    const d = plans[i];
    const [out, into] = [track(d.out, e), track(d.into, e)];
    if (d.gutter === null) return;
    for (const net of [out, into]) grow(net, 2 * d.gutter, 2 * d.gutter);
    const s = cells.get(e.from)!;
    const key = `${d.out.key} ${d.gutter}`;
    if (!lanes.has(key)) {
      lanes.set(key, {
        place: d.gutter,
        order: [s.row, s.column, s.top],
        lo: 2 * out.place,
        hi: 2 * out.place,
      });
    }
    grow(
      lanes.get(key)!,
      Math.min(2 * out.place, 2 * into.place),
      Math.max(2 * out.place, 2 * into.place),
    );
  });
  return { tracks, lanes };
};

/**
 * Plans every edge's route through the grid: which corridor tracks and gutter lane it uses.
 *
 * @category constructors
 */
export const planRoutes = (
  edges: ReadonlyArray<GraphEdge>,
  cells: ReadonlyMap<string, GridCell>,
  shape: GridShape,
): RoutePlan => {
  const plans = drafts(edges, cells, shape);
  const { tracks, lanes } = collectNets(edges, cells, plans);
  const packedTracks = pack([...tracks.values()], shape.columns + 1);
  const packedLanes = pack([...lanes.values()], shape.rows + 1);
  const trackOf = (ref: NetRef): Track => {
    const net = tracks.get(ref.key)!;
    return { corridor: net.place, track: packedTracks.at.get(net)! };
  };
  return {
    routes: plans.map((d) => ({
      port: d.port,
      out: trackOf(d.out),
      lane: d.gutter === null
        ? null
        : { gutter: d.gutter, lane: packedLanes.at.get(lanes.get(`${d.out.key} ${d.gutter}`)!)! },
      into: trackOf(d.into),
    })),
    tracks: packedTracks.counts,
    lanes: packedLanes.counts,
  };
};

/**
 * A point in page coordinates.
 *
 * @category models
 */
export interface Point {
  /** Left to right. */
  readonly x: number;
  /** Top to bottom. */
  readonly y: number;
}

/**
 * A node's box in page coordinates.
 *
 * @category models
 */
export interface Box {
  /** Left edge. */
  readonly x: number;
  /** Top edge. */
  readonly y: number;
  /** Width. */
  readonly width: number;
  /** Height. */
  readonly height: number;
}

/**
 * How far above a node a parent edge turns to drop onto its top; rows keep twice this apart.
 *
 * @category models
 */
export const TOP_HOP = 9;

/** Drops repeated points and the middle of three in a line, so every point is a bend or an end. */
const simplify = (points: ReadonlyArray<Point>): Point[] => {
  const out: Point[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && last.x === p.x && last.y === p.y) continue;
    const before = out[out.length - 2];
    if (
      before && last &&
      ((before.x === last.x && last.x === p.x) || (before.y === last.y && last.y === p.y))
    ) {
      out[out.length - 1] = p;
      continue;
    }
    out.push(p);
  }
  return out;
};

/**
 * The polyline of a planned route between two placed boxes, given where tracks and lanes are.
 *
 * @category constructors
 */
export const routePoints = (
  route: PlannedRoute,
  from: Box,
  to: Box,
  at: { readonly trackX: (t: Track) => number; readonly laneY: (l: Lane) => number },
): Point[] => {
  const start = { x: from.x + from.width, y: from.y + from.height / 2 };
  const outX = at.trackX(route.out);
  const inX = at.trackX(route.into);
  const middle = route.lane === null
    ? []
    : [{ x: outX, y: at.laneY(route.lane) }, { x: inX, y: at.laneY(route.lane) }];
  const end = route.port === "left"
    ? [{ x: inX, y: to.y + to.height / 2 }, { x: to.x, y: to.y + to.height / 2 }]
    : [
      { x: inX, y: to.y - TOP_HOP },
      { x: to.x + to.width / 2, y: to.y - TOP_HOP },
      { x: to.x + to.width / 2, y: to.y },
    ];
  return simplify([start, { x: outX, y: start.y }, ...middle, ...end]);
};
