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
import { lastJsonLine, readJsonl, runCli, tempDir } from "../_harness.ts";
import { papers, pdfRecord, type PdfServices, servePdfServices } from "../_fakes/pdf_services.ts";

const TERMINAL = new Set(["COMPLETE", "FAIL", "ABORT"]);

/** Each run id with the type of the last event the endpoint took for it. */
const lastStates = (events: ReadonlyArray<any>): Map<string, string> =>
  new Map(events.map((e) => [e.run.runId, e.eventType]));

describe("lineage destinations recorded with a job", () => {
  let served: PdfServices;
  let dir: string;
  beforeAll(async () => {
    served = await servePdfServices();
    dir = await tempDir();
    await Deno.mkdir(resolve(dir, "records"));
    for (const [i, paper] of papers.entries()) {
      await Deno.writeTextFile(
        resolve(dir, "records", `${i}.json`),
        JSON.stringify(pdfRecord(served.url, paper, i)),
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
      JSON.stringify(pdfRecord(served.url, papers[0], 7)),
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
