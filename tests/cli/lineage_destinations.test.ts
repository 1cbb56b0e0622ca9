// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
/**
 * The lineage destination of a job survives its pause: a PDF job started with `--lineage
 * http://…` pauses at its gate, and the MinerU bridge and the sensor, run later without any
 * lineage flag, deliver the rest of its runs to the same HTTP endpoint, so no run is left
 * RUNNING there. A loopback HTTP server plays the PDF host, MinerU and the lineage endpoint.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as mineruBridge } from "../../cli/mineru_bridge.ts";
import { main as sensor } from "../../cli/sensor.ts";
import { main as lineage } from "../../cli/lineage.ts";
import { fixturesDir, lastJsonLine, readJsonl, runCli, tempDir } from "../_harness.ts";

const papers = ["W2497721881", "W2162544110"];

interface Recorder {
  readonly url: string;
  /** OpenLineage events the lineage endpoint took, in arrival order. */
  readonly events: any[];
  readonly close: () => Promise<void>;
}

const serve = async (): Promise<Recorder> => {
  const events: any[] = [];
  const pdfs = new Map<string, Uint8Array>();
  const lists = new Map<number, unknown>();
  for (const paper of papers) {
    const bytes = await Deno.readFile(resolve(fixturesDir, `pdfs/${paper}.pdf`));
    pdfs.set(paper, bytes);
    lists.set(
      bytes.length,
      JSON.parse(
        await Deno.readTextFile(resolve(
          fixturesDir,
          `mineru/mineru-2.5.4-pipeline/${paper}/${paper}_content_list.json`,
        )),
      ),
    );
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const pdf = url.pathname.match(/^\/pdfs\/(W\d+)\.pdf$/);
    if (req.method === "GET" && pdf && pdfs.has(pdf[1])) {
      return new Response(pdfs.get(pdf[1])! as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/pdf" },
      });
    }
    if (req.method === "POST" && url.pathname === "/file_parse") {
      const file = (await req.formData()).get("files") as File;
      return Response.json({
        backend: "pipeline",
        version: "2.5.4",
        results: { [file.name.replace(/\.pdf$/, "")]: { content_list: lists.get(file.size) } },
      });
    }
    if (req.method === "POST" && url.pathname === "/api/v1/lineage") {
      events.push(await req.json());
      return new Response(null, { status: 201 });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    events,
    close: () => server.shutdown(),
  };
};

const record = (base: string, paper: string, i: number) => ({
  doi: `10.5555/dest-${i}`,
  title: `Paper ${i}`,
  is_oa: true,
  best_oa_location: {
    url: `${base}/pdfs/${paper}.pdf`,
    url_for_pdf: `${base}/pdfs/${paper}.pdf`,
    is_best: true,
    host_type: "repository",
  },
  oa_locations: [],
});

const TERMINAL = new Set(["COMPLETE", "FAIL", "ABORT"]);

/** Each run id with the type of the last event the endpoint took for it. */
const lastStates = (events: ReadonlyArray<any>): Map<string, string> =>
  new Map(events.map((e) => [e.run.runId, e.eventType]));

describe("lineage destinations recorded with a job", () => {
  let served: Recorder;
  let dir: string;
  beforeAll(async () => {
    served = await serve();
    dir = await tempDir();
    await Deno.mkdir(resolve(dir, "records"));
    for (const [i, paper] of papers.entries()) {
      await Deno.writeTextFile(
        resolve(dir, "records", `${i}.json`),
        JSON.stringify(record(served.url, paper, i)),
      );
    }
  });
  afterAll(async () => {
    await served.close();
    await Deno.remove(dir, { recursive: true });
  });

  it("a PDF job paused and resumed by processes given no --lineage leaves 0 RUNNING runs in the HTTP sink", async () => {
    const store = resolve(dir, "store");
    const paused = await runCli(runPipeline, [
      "--store",
      store,
      "--lineage",
      served.url,
      "--input",
      resolve(dir, "records"),
      "--allow-private-network",
      "--json",
    ]);
    expect(paused.code).toBe(0);
    expect((lastJsonLine(paused.stdout) as any).jobs).toMatchObject({ paused: 2, failed: 0 });
    // While paused, the pipeline and gate runs are open in the sink: that is what must close.
    // (a pause is a RUNNING event of the pipeline and gate runs of each job).
    const open = [...lastStates(served.events).values()].filter((t) => !TERMINAL.has(t));
    expect(open).toEqual(["RUNNING", "RUNNING", "RUNNING", "RUNNING"]);

    const bridged = await runCli(mineruBridge, [
      "--store",
      store,
      "--mineru-url",
      served.url,
      "--once",
    ]);
    expect([bridged.code, bridged.stdout]).toEqual([
      0,
      expect.stringContaining("2 parsed, 0 failed"),
    ]);
    const resumed = await runCli(sensor, ["--store", store, "--once", "--json"]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.split("\n")[0]).resumed.map((o: any) => o.status)).toEqual([
      "succeeded",
      "succeeded",
    ]);

    const states = lastStates(served.events);
    const running = [...states].filter(([, t]) => !TERMINAL.has(t));
    expect(running).toEqual([]);
    // Every run the store's outbox holds reached the sink, the MinerU runs included.
    const jobs = new Set(served.events.map((e) => e.job.name));
    expect(jobs).toContain("pdf-two-phase.mineru");
    expect(jobs).toContain("pdf-two-phase.kg");
    expect([...states.values()].filter((t) => t === "COMPLETE").length).toBe(states.size);
    // The later processes sent nothing to the store's default JSONL OpenLineage file.
    await expect(Deno.stat(resolve(store, "lineage", "openlineage.jsonl"))).rejects.toThrow();
    // Their CloudEvents went beside the store, as the run's were (no --events was given).
    const ce = await readJsonl(resolve(store, "lineage", "cloudevents.jsonl"));
    expect(ce.map((e: any) => e.type)).toContain("org.medicalkg.mineru.completed");
  });

  it("--lineage and --events on the sensor replace what the job recorded", async () => {
    const store = resolve(dir, "store2");
    await Deno.mkdir(resolve(dir, "records2"));
    await Deno.writeTextFile(
      resolve(dir, "records2", "0.json"),
      JSON.stringify(record(served.url, papers[0], 7)),
    );
    const before = served.events.length;
    const paused = await runCli(runPipeline, [
      "--store",
      store,
      "--lineage",
      served.url,
      "--input",
      resolve(dir, "records2"),
      "--allow-private-network",
      "--json",
    ]);
    expect((lastJsonLine(paused.stdout) as any).jobs).toMatchObject({ paused: 1 });
    const sentByRun = served.events.length - before;
    const out = resolve(dir, "elsewhere");
    const bridged = await runCli(mineruBridge, [
      "--store",
      store,
      "--mineru-url",
      served.url,
      "--once",
      "--lineage",
      out,
    ]);
    expect(bridged.code).toBe(0);
    const resumed = await runCli(sensor, ["--store", store, "--once", "--events", out]);
    expect(resumed.code).toBe(0);
    // The sensor had no --lineage: its OpenLineage events went to the recorded HTTP sink.
    expect(served.events.length - before).toBeGreaterThan(sentByRun);
    // The bridge's --lineage DIR took every OpenLineage event pending for that directory (a new
    // destination starts at the beginning of the outbox), and its CloudEvents.
    const ol = await readJsonl(resolve(out, "openlineage.jsonl"));
    expect(ol.map((e: any) => e.job.name)).toContain("pdf-two-phase.mineru");
    const ce = await readJsonl(resolve(out, "cloudevents.jsonl"));
    expect(ce.map((e: any) => e.type)).toContain("org.medicalkg.mineru.requested");
    expect(ce.map((e: any) => e.type)).toContain("org.medicalkg.orchestration.pipeline.completed");
  });

  it("lineage flush --events DIR delivers the pending CloudEvents there", async () => {
    const store = resolve(dir, "store");
    const out = resolve(dir, "flushed");
    const r = await runCli(lineage, [
      "flush",
      "--store",
      store,
      "--lineage",
      served.url,
      "--events",
      out,
      "--json",
    ]);
    expect(r.code).toBe(0);
    const reports = JSON.parse(r.stdout.split("\n").pop()!).sinks;
    expect(reports.map((s: any) => [s.sink, s.pending])).toEqual([
      [`http:${served.url}/api/v1/lineage`, 0],
      [`jsonl:cloudevents:${out}/cloudevents.jsonl`, 0],
    ]);
    const ce = await readJsonl(resolve(out, "cloudevents.jsonl"));
    const stored = await readJsonl(resolve(store, "lineage", "cloudevents.jsonl"));
    expect(ce.map((e: any) => e.id)).toEqual(stored.map((e: any) => e.id));
  });
});
