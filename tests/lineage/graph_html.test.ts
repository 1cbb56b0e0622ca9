import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import {
  escapeXml,
  formatDuration,
  renderDot,
  renderHtml,
  renderMermaid,
} from "../../lineage/graph_render.ts";
import {
  type LineageEvent,
  type LineageGraph,
  lineageGraph,
  type RunTimeline,
  runTimeline,
  summarizeRuns,
} from "../../lineage/lineage_view.ts";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { openStore } from "../../adapters/store/store.ts";
import { readLineageEvents } from "../../cli/_lineage_events.ts";
import { runCli, tempDir } from "../_harness.ts";
import { chromiumPath, headlessEnv, headlessFlags, noChromium, openPage } from "./_chromium.ts";

if (!chromiumPath) console.warn(`graph_html.test.ts:${noChromium}`);

const tricky: LineageGraph = {
  nodes: [
    {
      id: 'dataset:s3://b:<a & "b">',
      kind: "dataset",
      namespace: "s3://b",
      name: '<a & "b">',
      label: '<a & "b">',
    },
    {
      id: "job:ns:<script>alert('x')</script>",
      kind: "job",
      namespace: "ns",
      name: "<script>alert('x')</script>",
      label: "<script>alert('x')</script>",
      jobType: "TASK",
    },
  ],
  edges: [{
    from: 'dataset:s3://b:<a & "b">',
    to: "job:ns:<script>alert('x')</script>",
    kind: "input",
  }],
};

describe("renderers on hostile names", () => {
  it("escapeXml() escapes the five XML specials", () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe(
      "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;",
    );
  });

  it("renderHtml() escapes every label, id and tooltip", () => {
    const html = renderHtml(tricky, { title: "<b>t</b>" });
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<b>t</b>");
    expect(html).toContain(
      `data-id="job:ns:&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"`,
    );
    expect(html).toContain(">&#60;a &#38; &#34;b&#34;&#62;</text>");
    expect(html).toContain("<title>&#60;a &#38; &#34;b&#34;&#62;\ndataset in s3://b</title>");
    // The page's data is JSON in a script element: "<" is escaped there, so no name can end it.
    expect(html).toContain(`"name":"\\u003cscript>alert('x')\\u003c/script>"`);
  });

  it.skipIf(!chromiumPath)(
    `renderHtml() pages show hostile names as text in Chromium, with no run picked${noChromium}`,
    async () => {
      const dir = await tempDir();
      const file = resolve(dir, "tricky.html");
      await Deno.writeTextFile(file, renderHtml(tricky, { title: "<b>t</b>" }));
      const page = await openPage(`file://${file}`, {
        width: 1000,
        height: 700,
        profile: resolve(dir, "profile"),
      });
      try {
        await page.evaluate(`document.querySelector(".node.job").focus()`);
        await page.press("Enter");
        expect(
          await page.evaluate(`({
            title: document.title,
            scripts: document.scripts.length,
            titles: [...document.querySelectorAll(".node title")].map((t) => t.textContent),
            name: document.querySelector("#details-body dd").textContent,
            runs: document.querySelectorAll(".run-option").length,
            picked: document.querySelector("svg.graph").classList.contains("run-on"),
          })`),
        ).toEqual({
          title: "<b>t</b>",
          scripts: 2,
          titles: ['<a & "b">\ndataset in s3://b', "<script>alert('x')</script>\njob in ns"],
          name: "<script>alert('x')</script>",
          runs: 0,
          picked: false,
        });
        expect(page.errors).toEqual([]);
      } finally {
        await page.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
    60_000,
  );

  it("renderMermaid() and renderDot() quote labels their own way", () => {
    expect(renderMermaid(tricky).split("\n").slice(0, 4)).toEqual([
      "flowchart LR",
      '  n0[("#60;a #38; #34;b#34;#62;")]',
      "  n1(\"#60;script#62;alert('x')#60;/script#62;\")",
      "  n0 --> n1",
    ]);
    expect(renderDot(tricky)).toContain('n0 [label="<a & \\"b\\">", ');
  });
});

describe("formatDuration()", () => {
  it("formatDuration() picks the unit", () => {
    expect([null, 850, 1250, 125_000, 3_720_000].map(formatDuration)).toEqual(
      ["–", "850ms", "1.25s", "2m05s", "1h02m"],
    );
  });
});

describe("the HTML page of a real run", () => {
  let dir: string;
  let file: string;
  let graph: LineageGraph;
  let timelines: ReadonlyArray<RunTimeline>;
  let html: string;

  beforeAll(async () => {
    dir = await tempDir();
    const store = resolve(dir, "store");
    expect((await runCli(runPipeline, ["--store", store])).code).toBe(0);
    let events: ReadonlyArray<LineageEvent>;
    const opened = await openStore(store);
    try {
      events = await readLineageEvents(opened.client);
    } finally {
      await opened.close();
    }
    graph = lineageGraph(events);
    timelines = summarizeRuns(events).slice(0, 3).map((r) => runTimeline(events, r.runId)!);
    html = renderHtml(graph, { subtitle: store, timelines });
    file = resolve(dir, "lineage-graph.html");
    await Deno.writeTextFile(file, html);
  });
  afterAll(() => Deno.remove(dir, { recursive: true }));

  it("is self-contained: no external scripts, styles, fonts or images", () => {
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|@font-face/i);
    expect(html.match(/url\([^#]/g)).toBeNull();
  });

  const chromium = async (args: ReadonlyArray<string>) => {
    const output = await new Deno.Command(chromiumPath!, {
      args: [...headlessFlags(resolve(dir, "profile")), ...args, `file://${file}`],
      env: headlessEnv(resolve(dir, "profile")),
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
  };

  it.skipIf(!chromiumPath)(
    `renders in headless Chromium to a non-blank 1600×1000 screenshot${noChromium}`,
    async () => {
      const png = resolve(dir, "graph.png");
      const run = await chromium([`--screenshot=${png}`, "--window-size=1600,1000"]);
      expect(run.code).toBe(0);
      const bytes = await Deno.readFile(png);
      expect([...bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      expect(new TextDecoder().decode(bytes.subarray(12, 16))).toBe("IHDR");
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect([view.getUint32(16), view.getUint32(20)]).toEqual([1600, 1000]);
      // A blank page compresses to a few KB; the graph and timelines make it far larger.
      expect(bytes.length).toBeGreaterThan(20_000);
    },
    120_000,
  );

  it.skipIf(!chromiumPath)(
    `has exactly one SVG node per job and per dataset in Chromium's DOM${noChromium}`,
    async () => {
      const run = await chromium(["--dump-dom"]);
      expect(run.code).toBe(0);
      const dom = run.stdout;
      const ids = (kind: string) =>
        [...dom.matchAll(new RegExp(`<g class="node ${kind}\\b[^"]*" data-id="([^"]*)"`, "g"))]
          .map((m) => m[1].replace(/&amp;/g, "&").replace(/&quot;/g, '"')).sort();
      const model = (kind: string) => graph.nodes.filter((n) => n.kind === kind).map((n) => n.id);
      expect(model("job")).toHaveLength(8);
      expect(model("dataset")).toHaveLength(11);
      expect(ids("job")).toEqual(model("job"));
      expect(ids("dataset")).toEqual(model("dataset"));
      expect(dom.match(/<path class="edge /g)).toHaveLength(graph.edges.length);
      expect(dom.match(/<li class="attempt /g)).toHaveLength(
        timelines.reduce((n, t) => n + t.stages.length, 0),
      );
    },
    120_000,
  );
});
