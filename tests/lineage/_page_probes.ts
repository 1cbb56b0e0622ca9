/**
 * Expressions the lineage page tests evaluate in Chromium to read the page as a person sees it:
 * where things are on the screen, which run is picked, what the timeline says.
 */

/** A box on the screen, in CSS pixels. */
export interface Rect {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

/** Whether `r` lies wholly inside `outer`. */
export const inside = (r: Rect, outer: Rect) =>
  r.left >= outer.left && r.top >= outer.top && r.right <= outer.right && r.bottom <= outer.bottom;

/** An expression for the screen box of the first element `selector` matches. */
export const rectOf = (selector: string) =>
  `(() => { const r = document.querySelector(${
    JSON.stringify(selector)
  }).getBoundingClientRect(); return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; })()`;

/** Where the page stands: window, scrolling, zoom, rows, and every node's box and labels. */
export const PAGE_STATE = `(() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; };
  const canvas = document.querySelector(".canvas");
  return {
    innerWidth, innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    scrollHeight: document.documentElement.scrollHeight,
    canvas: box(canvas),
    zoom: document.getElementById("zoom-level").textContent,
    rows: canvas.dataset.rows,
    viewBox: document.querySelector("svg.graph").getAttribute("viewBox"),
    nodes: [...document.querySelectorAll("svg .node")].map((g) => {
      const shape = box(g.querySelector(".box"));
      const hit = document.elementFromPoint((shape.left + shape.right) / 2, (shape.top + shape.bottom) / 2);
      return {
        id: g.dataset.id,
        box: shape,
        hit: hit && hit.closest(".node") ? hit.closest(".node").dataset.id : null,
        title: g.querySelector("title").textContent,
        caption: g.querySelector(".caption").textContent,
        name: g.querySelector(".name").textContent,
        text: [box(g.querySelector(".caption")), box(g.querySelector(".name"))],
        classes: g.getAttribute("class"),
      };
    }),
  };
})()`;

/** What {@link PAGE_STATE} returns. */
export interface PageState {
  readonly innerWidth: number;
  readonly innerHeight: number;
  readonly scrollWidth: number;
  readonly scrollHeight: number;
  readonly canvas: Rect;
  readonly zoom: string;
  readonly rows: string;
  readonly viewBox: string;
  readonly nodes: ReadonlyArray<{
    id: string;
    box: Rect;
    hit: string | null;
    title: string;
    caption: string;
    name: string;
    text: [Rect, Rect];
    classes: string;
  }>;
}

/** Which run is picked: pressed buttons, shown timeline, highlighted nodes, states and edges. */
export const PICKED = `(() => ({
  pressed: [...document.querySelectorAll(".run-option")].map((b) => b.getAttribute("aria-pressed")),
  shown: [...document.querySelectorAll(".timeline")].filter((s) => !s.hidden).map((s) => s.dataset.run),
  lit: [...document.querySelectorAll("svg .node.in-run")].map((g) => g.dataset.id).sort(),
  states: Object.fromEntries([...document.querySelectorAll("svg .node[class*=' st-']")]
    .map((g) => [g.dataset.id, g.getAttribute("class").match(/ st-(\\S+)/)[1]])),
  edges: [...document.querySelectorAll("svg .edge.in-run")].map((p) => Number(p.dataset.index)),
}))()`;

/** The rows of the shown timeline: classes, the mark, stage, try and state cells, mark colour. */
export const TIMELINE =
  `[...document.querySelectorAll(".timeline:not([hidden]) .attempts > li")].map((li) => ({
  classes: li.className,
  cells: [...li.querySelectorAll(".mark, .stage, .try, .state")].map((s) => s.textContent),
  colour: getComputedStyle(li.querySelector(".mark")).color,
}))`;
