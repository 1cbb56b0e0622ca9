import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as runs } from "../../cli/lineage_runs.ts";
import { main as show } from "../../cli/lineage_show.ts";
import { main as graph } from "../../cli/lineage_graph.ts";
import type { PipelineRunSummary, RunTimeline } from "../../lineage/lineage_view.ts";
import { openEmbeddedStore } from "../../adapters/store/store.ts";
import { lastJsonLine, runCli, tempDir } from "../_harness.ts";

let store: string;
let out: string;
let jobs: number;
let all: ReadonlyArray<PipelineRunSummary>;

beforeAll(async () => {
  store = await tempDir();
  out = await tempDir();
  const run = await runCli(runPipeline, ["--store", store, "--json"]);
  expect(run.code).toBe(0);
  jobs = (lastJsonLine(run.stdout) as { jobs: { succeeded: number } }).jobs.succeeded;
  all =
    (JSON.parse((await runCli(runs, ["--store", store, "--json", "--limit", "1000"])).stdout) as {
      runs: PipelineRunSummary[];
    }).runs;
});
afterAll(async () => {
  await Deno.remove(store, { recursive: true });
  await Deno.remove(out, { recursive: true });
});

describe("deno task lineage runs", () => {
  it("lists pipeline runs newest first as a table, --limit N of them", async () => {
    const result = await runCli(runs, ["--store", store, "--limit", "3"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0].split(/\s{2,}/)).toEqual(
      ["run", "pipeline", "document", "status", "started", "duration", "stages", "attempts"],
    );
    expect(lines.slice(2, 5).map((l) => l.split(/\s+/)[0])).toEqual(
      all.slice(0, 3).map((r) => r.runId),
    );
    for (const l of lines.slice(2, 5)) expect(l).toMatch(/ auto +\S+ +succeeded +\S+ +\S+ +7 +7$/);
    expect(lines.slice(5)).toEqual(["", `3 of ${jobs} runs (--limit N shows more)`]);
  });

  it("prints {total, runs} with --json: one succeeded run per job, newest first", async () => {
    const result = await runCli(runs, ["--store", store, "--json"]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { total: number; runs: PipelineRunSummary[] };
    expect(Object.keys(body)).toEqual(["total", "runs"]);
    expect(body.total).toBe(jobs);
    expect(body.runs).toHaveLength(Math.min(20, jobs));
    expect(Object.keys(body.runs[0]).sort()).toEqual([
      "attempts",
      "docId",
      "durationMs",
      "ended",
      "error",
      "jobId",
      "namespace",
      "pipeline",
      "runId",
      "stageCount",
      "started",
      "status",
    ]);
    const started = body.runs.map((r) => r.started!);
    expect(started).toEqual([...started].sort().reverse());
    expect(new Set(all.map((r) => r.jobId)).size).toBe(jobs);
  });

  it("exits 2 for a missing store or an unknown option", async () => {
    const missing = await runCli(runs, ["--store", resolve(out, "nowhere")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `lineage runs: no store at ${resolve(out, "nowhere")} (run \`deno task run-pipeline\` first)`,
    );
    const bad = await runCli(runs, ["--store", store, "--limit", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('lineage runs: --limit: expected an integer >= 1, got "0"');
  });
});

describe("deno task lineage show", () => {
  it("prints the run and its 7 stage attempts in start order", async () => {
    const run = all[0];
    const result = await runCli(show, [run.runId, "--store", store]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`run       ${run.runId}`);
    expect(lines).toContain(`document  ${run.docId}`);
    expect(lines).toContain("status    succeeded");
    expect(lines).toContain("stages    7 (7 attempts)");
    const header = lines.findIndex((l) => l.startsWith("stage "));
    expect(lines[header].split(/\s{2,}/)).toEqual(
      ["stage", "attempt", "status", "started", "duration", "error"],
    );
    const stages = lines.slice(header + 2);
    expect(stages).toHaveLength(7);
    expect(stages[0]).toMatch(/^ingest +1\/\d+ +succeeded /);
    expect(stages.map((l) => l.split(/\s+/)[0]).sort()).toEqual(
      ["chunk", "embed", "extract", "index", "ingest", "kg", "parse"],
    );
  });

  it("prints {run, stages} with --json, and accepts a unique suffix of the id", async () => {
    const run = all[all.length - 1];
    const result = await runCli(show, [run.runId.slice(-12), "--store", store, "--json"]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as RunTimeline;
    expect(Object.keys(body)).toEqual(["run", "stages"]);
    expect(body.run).toEqual(run);
    expect(body.stages).toHaveLength(7);
    expect(body.stages.every((s) => s.status === "succeeded" && s.attempt === 1)).toBe(true);
  });

  it("exits 1 for an unknown id and for a prefix several runs share", async () => {
    const unknown = await runCli(show, ["ffffffff-0000", "--store", store]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `lineage show: no pipeline run "ffffffff-0000" in ${resolve(store, "db")}` +
        " (`deno task lineage runs` lists them; a prefix or suffix needs 8 characters or more)",
    );
    // Runs started within about a minute share their first 8 hex digits (UUIDv7 time).
    const groups = Map.groupBy(all, (r) => r.runId.slice(0, 8));
    const [prefix, shared] = [...groups].sort((a, b) => b[1].length - a[1].length)[0];
    expect(shared.length).toBeGreaterThan(1);
    const ambiguous = await runCli(show, [prefix, "--store", store]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain(`lineage show: "${prefix}" matches ${shared.length} runs: `);
  });

  it("exits 2 without a RUN_ID", async () => {
    const result = await runCli(show, ["--store", store]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe("lineage show: a RUN_ID is required");
  });
});

describe("deno task lineage graph", () => {
  it("prints Mermaid by default: 19 nodes (8 jobs, 11 datasets) and 25 edges (kg reads the index too)", async () => {
    const result = await runCli(graph, ["--store", store]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe("flowchart LR");
    expect(lines.filter((l) => /^ {2}n\d+\("/.test(l))).toHaveLength(8);
    expect(lines.filter((l) => /^ {2}n\d+\[\("/.test(l))).toHaveLength(11);
    expect(lines.filter((l) => / --> /.test(l))).toHaveLength(18);
    expect(lines.filter((l) => / -\.-> /.test(l))).toHaveLength(7);
    expect(lines.filter((l) => /^ {2}n\d+\[\("api\.fda\.gov\/drug\/label\.json"\)\]$/.test(l)))
      .toHaveLength(1);
  });

  it("prints DOT and JSON with --format", async () => {
    const dot = await runCli(graph, ["--store", store, "--format", "dot"]);
    expect(dot.code).toBe(0);
    expect(dot.stdout.split("\n")[0]).toBe("digraph lineage {");
    expect(dot.stdout.match(/ -> /g)).toHaveLength(25);
    expect(dot.stdout.endsWith("}")).toBe(true);
    const json = await runCli(graph, ["--store", store, "--format", "json"]);
    const body = JSON.parse(json.stdout) as { nodes: unknown[]; edges: unknown[] };
    expect([body.nodes.length, body.edges.length]).toEqual([19, 25]);
  });

  it("writes the HTML page to --out and prints its path", async () => {
    const file = resolve(out, "graph.html");
    const result = await runCli(graph, ["--store", store, "--format", "html", "--out", file]);
    expect(result).toEqual({ code: 0, stdout: file, stderr: "" });
    const html = await Deno.readTextFile(file);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html.match(/<g class="node job"/g)).toHaveLength(8);
    expect(html.match(/<g class="node dataset"/g)).toHaveLength(11);
    expect(html.match(/<section class="timeline /g)).toHaveLength(Math.min(5, jobs));
    expect(html.match(/<button type="button" class="run-option /g)).toHaveLength(Math.min(5, jobs));
  });

  it("exits 2 for an unknown format", async () => {
    const result = await runCli(graph, ["--store", store, "--format", "png"]);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe(
      'lineage graph: --format: expected one of mermaid, dot, json, html, got "png"',
    );
  });
});

// Last: it leaves a row no kit writes in the shared store.
describe("the lineage viewer on a store holding an event that is not JSON", () => {
  it("leaves the event out, says which, and shows the rest", async () => {
    const opened = await openEmbeddedStore(store);
    let seq: string;
    try {
      [{ seq }] = await opened.client.query<{ seq: string }>(
        `insert into lk_outbox (channel, run_id, job_id, payload)
         select 'openlineage', 'not-a-run', job_id, '{"eventType"' from lk_jobs limit 1
         returning seq`,
      );
    } finally {
      await opened.close();
    }
    const result = await runCli(runs, ["--store", store, "--json", "--limit", "1000"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `lineage runs: left out 1 stored event(s) that are not JSON (outbox seq ${seq})`,
    );
    expect((JSON.parse(result.stdout) as { runs: PipelineRunSummary[] }).runs).toEqual(all);
  });
});
