/**
 * The lineage page of real runs (`_page_store.ts`: the bundled records through `auto`, one PDF
 * whose download is retried, one whose download fails), written by `deno task lineage graph`, and
 * then used in headless Chromium at a 1400×900 window like a person would: look, hover, click,
 * pick runs, zoom and pan.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { main as lineageGraphCli } from "../../cli/lineage_graph.ts";
import { kindWord, nodeText } from "../../lineage/graph_labels.ts";
import { type PageRun, runHighlight, skippedStages } from "../../lineage/graph_page_runs.ts";
import {
  jobNodeId,
  type LineageEvent,
  type LineageGraph,
  lineageGraph,
  runDatasets,
  runTimeline,
  summarizeRuns,
} from "../../lineage/lineage_view.ts";
import { runCli, tempDir } from "../_harness.ts";
import { type BrowserPage, chromiumPath, noChromium, openPage } from "./_chromium.ts";
import { buildPageStore, papers } from "./_page_store.ts";
import {
  inside,
  PAGE_STATE,
  type PageState,
  PICKED,
  type Rect,
  rectOf,
  TIMELINE,
} from "./_page_probes.ts";

if (!chromiumPath) console.warn(`graph_page.test.ts:${noChromium}`);

let dir: string;
let file: string;
let events: ReadonlyArray<LineageEvent>;
let graph: LineageGraph;
let runs: ReadonlyArray<PageRun>;

const ns = "lineage-kit";
const pdfJob = (stage: string) => jobNodeId(ns, `pdf-two-phase.${stage}`);
const docOf = (paper: string) => `unpaywall:10.5555/${paper.toLowerCase()}`;
const runOf = (paper: string) => runs.findIndex((r) => r.run.docId === docOf(paper));

beforeAll(async () => {
  dir = await tempDir();
  const records = resolve(dir, "records");
  await Deno.mkdir(records);
  events = await buildPageStore(resolve(dir, "store"), records);
  graph = lineageGraph(events);
  runs = summarizeRuns(events).slice(0, 5).map((r) => ({
    ...runTimeline(events, r.runId)!,
    datasets: runDatasets(events, r.runId),
  }));
  file = resolve(dir, "lineage.html");
  const written = await runCli(lineageGraphCli, [
    "--store",
    resolve(dir, "store"),
    "--format",
    "html",
    "--out",
    file,
  ]);
  expect(written).toEqual({ code: 0, stdout: file, stderr: "" });
}, 120_000);
afterAll(() => Deno.remove(dir, { recursive: true }));

describe("the runs the page offers", () => {
  it("are the five newest: the two PDF runs, then three auto runs", () => {
    expect(runs.map((r) => r.run.pipeline)).toEqual(
      ["pdf-two-phase", "pdf-two-phase", "auto", "auto", "auto"],
    );
    expect(runs.slice(0, 2).map((r) => [r.run.docId, r.run.status]).sort()).toEqual([
      [docOf(papers.missing), "failed"],
      [docOf(papers.retried), "paused"],
    ]);
    expect(runs.slice(2).every((r) => r.run.status === "succeeded")).toBe(true);
  });

  it("runHighlight() marks the retried run's pipeline, stages and datasets, and the edges between", () => {
    const run = runs[runOf(papers.retried)];
    const index = (id: string) => graph.nodes.findIndex((n) => n.id === id);
    const took = (stage: string) => run.stages.filter((s) => s.stage === stage).at(-1)!.durationMs;
    const ms = (stage: string) => {
      const d = took(stage)!;
      return d < 1000 ? `${Math.round(d)}ms` : `${(d / 1000).toFixed(2)}s`;
    };
    const checkpoints = `dataset:${pathToFileURL(resolve(dir, "store/db")).href}:` +
      "postgres.public.lk_checkpoints.pdf-two-phase";
    const datasets = [
      `${checkpoints}.download`,
      `${checkpoints}.ingest`,
      "dataset:https://api.unpaywall.org:/v2",
    ];
    expect(run.datasets).toEqual(datasets);
    expect(runDatasets(events, "no-such-run")).toEqual([]);
    const lit = [
      [
        jobNodeId(ns, "pdf-two-phase"),
        "paused",
        "‖",
        "pdf-two-phase: paused, 3 stages, 4 attempts",
      ],
      [
        pdfJob("download"),
        "succeeded",
        "✓ ×2",
        `download: 2 tries, last succeeded (${ms("download")})`,
      ],
      [pdfJob("gate_pdf_ir_ready"), "waiting", "‖", "gate_pdf_ir_ready: 1 try, last waiting (–)"],
      [pdfJob("ingest"), "succeeded", "✓", `ingest: 1 try, last succeeded (${ms("ingest")})`],
      ...datasets.map((d) => [d, "touched", "", ""]),
    ] as const;
    const highlight = runHighlight(graph, run);
    expect(highlight.nodes).toEqual(
      lit.map(([id, ...rest]) => [index(id), ...rest]).sort((a, b) => Number(a[0]) - Number(b[0])),
    );
    const ids = new Set<string>(lit.map(([id]) => id));
    expect(highlight.edges.map((i) => graph.edges[i])).toEqual(
      graph.edges.filter((e) => ids.has(e.from) && ids.has(e.to)),
    );
    expect(highlight.edges).toHaveLength(7);
  });

  it("skippedStages() names the stages of the pipeline the failed run never started", () => {
    expect(skippedStages(graph, runs[runOf(papers.missing)])).toEqual([
      { id: pdfJob("gate_pdf_ir_ready"), stage: "gate_pdf_ir_ready" },
    ]);
    expect(skippedStages(graph, runs[runOf(papers.retried)])).toEqual([]);
  });
});

describe.skipIf(!chromiumPath)(`the page in a 1400×900 Chromium window${noChromium}`, () => {
  let page: BrowserPage;
  let first: PageState;

  beforeAll(async () => {
    page = await openPage(`file://${file}`, {
      width: 1400,
      height: 900,
      profile: resolve(dir, "profile"),
    });
    first = await page.evaluate<PageState>(PAGE_STATE);
  }, 60_000);
  afterAll(() => page?.close());

  // Screenshots go to the test's folder, or to $LINEAGE_PAGE_SHOTS to look at them afterwards.
  const shot = async (name: string) => {
    const path = resolve(Deno.env.get("LINEAGE_PAGE_SHOTS") ?? dir, name);
    await page.screenshot(path);
    const png = await Deno.readFile(path);
    const view = new DataView(png.buffer, png.byteOffset);
    return [view.getUint32(16), view.getUint32(20)];
  };

  it("shows every node of the graph inside the window, uncovered, with no scrolling", async () => {
    expect(first.innerWidth).toBe(1400);
    expect(first.scrollWidth).toBeLessThanOrEqual(first.innerWidth);
    expect(first.scrollHeight).toBeLessThanOrEqual(first.innerHeight);
    expect(first.nodes.map((n) => n.id).sort()).toEqual(graph.nodes.map((n) => n.id).sort());
    const viewport = { left: 0, top: 0, right: first.innerWidth, bottom: first.innerHeight };
    expect(inside(first.canvas, viewport)).toBe(true);
    const outside = first.nodes.filter((n) => !inside(n.box, first.canvas)).map((n) => n.id);
    expect(outside).toEqual([]);
    // Nothing covers a node: the element at its centre belongs to it.
    expect(first.nodes.filter((n) => n.hit !== n.id).map((n) => n.id)).toEqual([]);
    // Big enough to read: 13 px labels at 60 % or more.
    expect(Number(first.zoom.replace("%", ""))).toBeGreaterThanOrEqual(60);
    expect(await shot("window.png")).toEqual([first.innerWidth, first.innerHeight]);
    expect(page.errors).toEqual([]);
  });

  it("shows the auto pipeline, its 7 stages and the 11 datasets they read and write", () => {
    const auto = jobNodeId(ns, "auto");
    const stages = graph.edges.filter((e) => e.kind === "parent" && e.from === auto).map((e) =>
      e.to
    );
    const datasets = new Set(
      graph.edges.filter((e) =>
        e.kind !== "parent" && (stages.includes(e.to) || stages.includes(e.from))
      )
        .map((e) => (e.kind === "input" ? e.from : e.to)),
    );
    expect([stages.length, datasets.size]).toEqual([7, 11]);
    const shown = new Set(first.nodes.filter((n) => inside(n.box, first.canvas)).map((n) => n.id));
    expect([auto, ...stages, ...datasets].filter((id) => !shown.has(id))).toEqual([]);
  });

  it("labels each node within its box, names whole, and titles it with its full name", () => {
    const byId = new Map(graph.nodes.map((n) => [n.id, n]));
    for (const n of first.nodes) {
      const model = byId.get(n.id)!;
      expect(n.title).toBe(`${model.name}\n${kindWord(model)} in ${model.namespace}`);
      // What the page shows is what nodeText() made: the browser did not need to cut further.
      expect([n.caption, n.name]).toEqual([nodeText(model).caption, nodeText(model).name]);
      expect(n.name).not.toContain("…");
      for (const t of n.text) expect(t.right).toBeLessThanOrEqual(n.box.right);
    }
  });

  it("switches the highlighted run from the run picker, by mouse and by keyboard", async () => {
    const expected = (r: number) => {
      const h = runHighlight(graph, runs[r]);
      return {
        pressed: runs.map((_, i) => String(i === r)),
        shown: [String(r)],
        lit: h.nodes.filter((m) => m[1] !== "skipped").map((m) => graph.nodes[m[0]].id).sort(),
        states: Object.fromEntries(h.nodes.map((m) => [graph.nodes[m[0]].id, m[1]])),
        edges: [...h.edges],
      };
    };
    expect(await page.evaluate(PICKED)).toEqual(expected(0));
    const failed = runOf(papers.missing);
    const button = await page.evaluate<Rect>(rectOf(`.run-option[data-run="${failed}"]`));
    await page.click((button.left + button.right) / 2, (button.top + button.bottom) / 2);
    const now = await page.evaluate<ReturnType<typeof expected>>(PICKED);
    expect(now).toEqual(expected(failed));
    expect([now.states[pdfJob("download")], now.states[pdfJob("gate_pdf_ir_ready")]])
      .toEqual(["failed", "skipped"]);
    await page.evaluate(`document.querySelector('.run-option[data-run="2"]').focus()`);
    await page.press("Enter");
    const auto = await page.evaluate<ReturnType<typeof expected>>(PICKED);
    expect(auto).toEqual(expected(2));
    expect(auto.lit.filter((id) => id.startsWith(`job:${ns}:auto`))).toHaveLength(8);
  });

  it("marks failed, retried and skipped stages in the timeline with an icon and words", async () => {
    const pick = async (r: number) => {
      const b = await page.evaluate<Rect>(rectOf(`.run-option[data-run="${r}"]`));
      await page.click((b.left + b.right) / 2, (b.top + b.bottom) / 2);
      return page.evaluate<Array<{ classes: string; cells: string[]; colour: string }>>(TIMELINE);
    };
    const retried = await pick(runOf(papers.retried));
    expect(retried.map((r) => [r.classes, r.cells])).toEqual([
      ["attempt succeeded", ["✓", "ingest", "1/10", "succeeded"]],
      ["attempt failed retried", ["✗", "download", "1/10", "failed, retried"]],
      ["attempt succeeded retry", ["✓", "download", "↻ 2/10", "succeeded on retry"]],
      ["attempt waiting", ["‖", "gate_pdf_ir_ready", "1/3", "waiting"]],
    ]);
    // Colour as well as icon and words: a failed mark is not drawn like a succeeded one.
    expect(retried[1].colour).not.toBe(retried[0].colour);
    await shot("retried-run.png");
    const failed = await pick(runOf(papers.missing));
    expect(failed.map((r) => [r.classes, r.cells])).toEqual([
      ["attempt succeeded", ["✓", "ingest", "1/10", "succeeded"]],
      ["attempt failed", ["✗", "download", "1/10", "failed"]],
      ["skipped-stage", ["–", "gate_pdf_ir_ready", "", "skipped"]],
    ]);
    const errors = await page.evaluate<string[]>(
      `[...document.querySelectorAll(".timeline:not([hidden]) .error")].map((e) => e.textContent)`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `^Permanent: http://127\\.0\\.0\\.1:\\d+/pdfs/${papers.missing}\\.pdf: HTTP 404 Not Found$`,
      ),
    );
  });

  it("shows a clicked node's full name, namespace and neighbours in the details panel", async () => {
    const fda = "dataset:https://api.fda.gov:/drug/label.json";
    const n = first.nodes.find((x) => x.id === fda)!;
    await page.click((n.box.left + n.box.right) / 2, (n.box.top + n.box.bottom) / 2);
    const rows = await page.evaluate<string[][]>(
      `[...document.querySelectorAll("#details-body dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])`,
    );
    expect(rows).toEqual([
      ["name", "/drug/label.json"],
      ["namespace", "https://api.fda.gov"],
      ["kind", "dataset"],
      ["written by", "none"],
      ["read by", "auto.ingest (job)"],
      ["id", fda],
    ]);
    // From the keyboard: focus a node, press Enter.
    await page.evaluate(`document.querySelector('.node[data-id="job:${ns}:auto"]').focus()`);
    await page.press("Enter");
    const auto = await page.evaluate<string[][]>(
      `[...document.querySelectorAll("#details-body dt")].map((dt) => [dt.textContent, dt.nextElementSibling.textContent])`,
    );
    expect(auto.slice(0, 3)).toEqual([["name", "auto"], ["namespace", ns], [
      "kind",
      "pipeline (DAG job)",
    ]]);
    expect(auto.find((r) => r[0] === "stages")![1]).toBe(
      ["chunk", "embed", "extract", "index", "ingest", "kg", "parse"].map((s) => `auto.${s} (job)`)
        .join(""),
    );
  });

  it("zooms with the buttons and the wheel, pans by dragging, and fits again", async () => {
    const state = () => page.evaluate<PageState>(PAGE_STATE);
    const viewBox = (s: PageState) => s.viewBox.split(" ").map(Number);
    const zoomIn = await page.evaluate<Rect>(rectOf("#zoom-in"));
    await page.click(zoomIn.left + 5, zoomIn.top + 5);
    const zoomed = await state();
    const width = first.canvas.right - first.canvas.left;
    expect(viewBox(zoomed)[2]).toBeCloseTo(viewBox(first)[2] / 1.25, 0);
    const scale = width / viewBox(zoomed)[2];
    expect(zoomed.zoom).toBe(`${Math.round(scale * 100)}%`);
    const c = first.canvas;
    const [x, y] = [(c.left + c.right) / 2, (c.top + c.bottom) / 2];
    const mouse = (type: string, at: { x: number; y: number }, extra = {}) =>
      page.send("Input.dispatchMouseEvent", { type, ...at, button: "left", ...extra });
    await mouse("mousePressed", { x, y }, { clickCount: 1 });
    await mouse("mouseMoved", { x: x + 100, y: y + 40 }, { buttons: 1 });
    await mouse("mouseReleased", { x: x + 100, y: y + 40 }, { clickCount: 1 });
    const panned = await state();
    expect(viewBox(panned)[0]).toBeCloseTo(viewBox(zoomed)[0] - 100 / scale, 0);
    expect(viewBox(panned)[1]).toBeCloseTo(viewBox(zoomed)[1] - 40 / scale, 0);
    await page.send("Input.dispatchMouseEvent", {
      type: "mouseWheel",
      x,
      y,
      deltaX: 0,
      deltaY: -300,
    });
    await page.evaluate("new Promise((r) => requestAnimationFrame(() => r(1)))");
    expect(Number((await state()).zoom.replace("%", ""))).toBeGreaterThan(scale * 100 * 1.5);
    const fit = await page.evaluate<Rect>(rectOf("#zoom-fit"));
    await page.click(fit.left + 5, fit.top + 5);
    const again = await state();
    expect([again.zoom, again.viewBox]).toEqual([first.zoom, first.viewBox]);
    await shot("details.png");
  });

  it("wraps into fewer rows in a wider window, and still fits it", async () => {
    await page.send("Emulation.setDeviceMetricsOverride", {
      width: 2400,
      height: 900,
      deviceScaleFactor: 1,
      mobile: false,
    });
    // The page re-lays out when its pane resizes (a ResizeObserver): wait for that, 5 s at most.
    await page.evaluate(`new Promise((done) => {
      const start = Date.now();
      const check = () => document.querySelector(".canvas").dataset.rows !== ${
      JSON.stringify(first.rows)
    } ||
        Date.now() - start > 5000 ? done(1) : setTimeout(check, 20);
      check();
    })`);
    const wide = await page.evaluate<PageState>(PAGE_STATE);
    expect(await shot("wide.png")).toEqual([2400, 900]);
    await page.send("Emulation.clearDeviceMetricsOverride");
    expect(Number(wide.rows)).toBeLessThan(Number(first.rows));
    expect(wide.scrollWidth).toBeLessThanOrEqual(wide.innerWidth);
    expect(wide.nodes.filter((n) => !inside(n.box, wide.canvas)).map((n) => n.id)).toEqual([]);
    expect(page.errors).toEqual([]);
  });
});
