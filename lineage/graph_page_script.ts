/**
 * The script of the lineage page, inline so that the page works from a file with no network.
 * It reads the page's data (`<script type="application/json" id="lk-data">`), then:
 *
 * - picks the layout (row count) that shows the whole graph largest in the graph pane, and picks
 *   again when the pane changes size;
 * - zooms (wheel, buttons, `+` `-`), pans (drag, arrow keys) and fits (`0`, button) by moving
 *   the SVG viewBox;
 * - shortens a node label further if it is still wider than its box in the fonts at hand;
 * - shows a node's full name, kind and neighbours in the details panel when it is clicked (or
 *   focused and Enter is pressed);
 * - highlights the picked run's nodes and edges, and shows its timeline.
 *
 * It writes text with `textContent` only: names from the store never become markup.
 *
 * @module
 */

const VIEW = `
const canvas = document.querySelector(".canvas");
const svg = canvas.querySelector("svg.graph");
const nodeEls = svg.querySelectorAll(".node");
const edgeEls = svg.querySelectorAll(".edge");
const zoomLabel = document.getElementById("zoom-level");
let layout = data.layouts[0];
const view = { cx: layout.w / 2, cy: layout.h / 2, s: 1 };
const size = () => ({ w: canvas.clientWidth || 1, h: canvas.clientHeight || 1 });
const fitScale = (l, w, h) => Math.min(1, (w - 16) / l.w, (h - 16) / l.h);
function draw() {
  const { w, h } = size();
  const vw = w / view.s, vh = h / view.s;
  svg.setAttribute("viewBox", [view.cx - vw / 2, view.cy - vh / 2, vw, vh].map((n) => n.toFixed(1)).join(" "));
  zoomLabel.textContent = Math.round(view.s * 100) + "%";
}
function fit() {
  const { w, h } = size();
  view.s = fitScale(layout, w, h);
  view.cx = layout.w / 2;
  view.cy = layout.h / 2;
  draw();
}
function applyLayout(l) {
  layout = l;
  l.nodes.forEach((p, i) => nodeEls[i].setAttribute("transform", "translate(" + p[0] + "," + p[1] + ")"));
  l.edges.forEach((d, i) => edgeEls[i].setAttribute("d", d));
  canvas.dataset.rows = String(l.rows);
}
function chooseLayout() {
  const { w, h } = size();
  let best = data.layouts[0];
  for (const l of data.layouts) if (fitScale(l, w, h) > fitScale(best, w, h) + 1e-9) best = l;
  if (best !== layout || !canvas.dataset.rows) applyLayout(best);
  fit();
}
function zoomAt(factor, px, py) {
  const { w, h } = size();
  const s = Math.min(4, Math.max(0.1, view.s * factor));
  const gx = view.cx + (px - w / 2) / view.s, gy = view.cy + (py - h / 2) / view.s;
  view.s = s;
  view.cx = gx - (px - w / 2) / s;
  view.cy = gy - (py - h / 2) / s;
  draw();
}
const centre = () => { const { w, h } = size(); return [w / 2, h / 2]; };
document.getElementById("zoom-in").addEventListener("click", () => zoomAt(1.25, ...centre()));
document.getElementById("zoom-out").addEventListener("click", () => zoomAt(0.8, ...centre()));
document.getElementById("zoom-fit").addEventListener("click", fit);
document.getElementById("zoom-actual").addEventListener("click", () => zoomAt(1 / view.s, ...centre()));
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const r = canvas.getBoundingClientRect();
  zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
}, { passive: false });
let drag = null;
canvas.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  drag = { x: e.clientX, y: e.clientY, cx: view.cx, cy: view.cy, moved: false };
});
canvas.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  if (!drag.moved && Math.hypot(dx, dy) < 4) return;
  if (!drag.moved) { drag.moved = true; canvas.setPointerCapture(e.pointerId); canvas.classList.add("dragging"); }
  view.cx = drag.cx - dx / view.s;
  view.cy = drag.cy - dy / view.s;
  draw();
});
const endDrag = (e) => {
  if (drag && drag.moved) { canvas.releasePointerCapture(e.pointerId); canvas.classList.remove("dragging"); }
  canvas.dataset.dragged = drag && drag.moved ? "1" : "";
  drag = null;
};
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);
canvas.addEventListener("keydown", (e) => {
  if (e.target !== canvas) return;
  const step = 60 / view.s;
  const keys = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
  if (keys[e.key]) { view.cx += keys[e.key][0]; view.cy += keys[e.key][1]; draw(); }
  else if (e.key === "+" || e.key === "=") zoomAt(1.25, ...centre());
  else if (e.key === "-") zoomAt(0.8, ...centre());
  else if (e.key === "0") fit();
  else return;
  e.preventDefault();
});
new ResizeObserver(chooseLayout).observe(canvas);
chooseLayout();
`;

const LABELS = `
// Labels were shortened by character count; fonts differ, so shorten by measured width too,
// the way nodeText() did: from the start when it kept a path's end, else in the middle.
for (const t of svg.querySelectorAll(".node .name, .node .caption")) {
  const room = t.classList.contains("name") ? NAME_ROOM : CAPTION_ROOM;
  const fromStart = t.textContent.startsWith("…");
  let chars = [...t.textContent.replace("…", "")];
  while (t.getComputedTextLength() > room && chars.length > 3) {
    if (fromStart) {
      chars = chars.slice(1);
      t.textContent = "…" + chars.join("");
    } else {
      const keep = chars.length - 1;
      const head = Math.floor(keep * 0.4);
      chars = chars.slice(0, head).concat(chars.slice(chars.length - (keep - head)));
      t.textContent = chars.slice(0, head).join("") + "…" + chars.slice(head).join("");
    }
  }
}
`;

const DETAILS = `
const details = document.getElementById("details-body");
let picked = 0;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function listOf(indexes) {
  const ul = el("ul");
  for (const i of indexes) ul.append(el("li", data.nodes[i].name + " (" + data.nodes[i].kind + ")"));
  return indexes.length ? ul : el("span", "none");
}
function showDetails(i) {
  const n = data.nodes[i];
  for (const e of svg.querySelectorAll(".node.selected")) e.classList.remove("selected");
  nodeEls[i].classList.add("selected");
  const dl = el("dl");
  const row = (k, v) => { dl.append(el("dt", k)); const dd = el("dd"); dd.append(v); dl.append(dd); };
  row("name", n.name);
  row("namespace", n.namespace);
  row("kind", n.kind === "dataset" ? "dataset" : n.type === "DAG" ? "pipeline (DAG job)" : "job" + (n.type ? " (" + n.type + ")" : ""));
  const edges = data.edges;
  const from = (k) => edges.filter((e) => e[1] === i && e[2] === k).map((e) => e[0]);
  const to = (k) => edges.filter((e) => e[0] === i && e[2] === k).map((e) => e[1]);
  if (n.kind === "job") {
    row("reads", listOf(from("input")));
    row("writes", listOf(to("output")));
    if (from("parent").length) row("pipeline", listOf(from("parent")));
    if (to("parent").length) row("stages", listOf(to("parent")));
  } else {
    row("written by", listOf(from("output")));
    row("read by", listOf(to("input")));
  }
  const mark = data.runs.length ? data.runs[picked].nodes.find((m) => m[0] === i) : undefined;
  if (mark && mark[3]) row("picked run", mark[3]);
  row("id", el("code", n.id));
  details.replaceChildren(dl);
}
svg.addEventListener("click", (e) => {
  const g = e.target.closest(".node");
  if (g && canvas.dataset.dragged !== "1") showDetails(Number(g.dataset.index));
});
svg.addEventListener("keydown", (e) => {
  const g = e.target.closest && e.target.closest(".node");
  if (g && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); showDetails(Number(g.dataset.index)); }
});
`;

const RUNS = `
const buttons = document.querySelectorAll(".run-option");
const sections = document.querySelectorAll(".timeline");
function pickRun(r) {
  picked = r;
  buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === r)));
  sections.forEach((s, i) => { s.hidden = i !== r; });
  for (const e of svg.querySelectorAll(".in-run, .badged")) e.classList.remove("in-run", "badged");
  for (const e of svg.querySelectorAll("[class*=' st-']")) e.setAttribute("class", e.getAttribute("class").replace(/ st-\\S+/g, ""));
  const run = data.runs[r];
  svg.classList.toggle("run-on", !!run);
  if (!run) return;
  for (const [i, state, badge] of run.nodes) {
    const g = nodeEls[i];
    g.classList.add("in-run", "st-" + state);
    if (state === "skipped") g.classList.remove("in-run");
    const t = g.querySelector(".badge text");
    t.textContent = badge;
    g.classList.toggle("badged", badge !== "");
    const w = Math.max(17, t.getComputedTextLength() + 12);
    const rect = g.querySelector(".badge rect");
    rect.setAttribute("x", String(-w / 2));
    rect.setAttribute("width", String(w));
    t.setAttribute("x", "0");
  }
  for (const i of run.edges) edgeEls[i].classList.add("in-run");
  canvas.dataset.run = String(r);
}
buttons.forEach((b, i) => b.addEventListener("click", () => pickRun(i)));
pickRun(0);
`;

/**
 * The page script, given how wide (in pixels) a node's name and caption lines may be.
 *
 * @category constructors
 */
export const pageScript = (room: { readonly name: number; readonly caption: number }): string =>
  `(function () {
"use strict";
const data = JSON.parse(document.getElementById("lk-data").textContent);
${VIEW}${
    LABELS.replace("NAME_ROOM", String(room.name)).replace("CAPTION_ROOM", String(room.caption))
  }${DETAILS}${RUNS}})();`;
