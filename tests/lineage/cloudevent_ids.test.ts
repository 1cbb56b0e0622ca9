// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
/**
 * No two CloudEvents share `source` + `id`: a consumer that drops duplicates by id (as the
 * CloudEvents spec allows) must lose nothing. One store goes through what the suites do to
 * jobs: the bundled records for two tenants and a forced re-run, PDF jobs whose downloads are
 * retried, paused at their gate, one cancelled there, the other parsed by MinerU and resumed;
 * then every CloudEvent in its outbox is scanned.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect } from "effect";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as mineruBridge } from "../../cli/mineru_bridge.ts";
import { main as sensor } from "../../cli/sensor.ts";
import { main as cancel } from "../../cli/cancel.ts";
import { openStore } from "../../adapters/store/store.ts";
import { lastJsonLine, runCli, tempDir } from "../_harness.ts";
import { papers, pdfRecord, type PdfServices, servePdfServices } from "../_fakes/pdf_services.ts";

/** Each `source id` pair found more than once, with how often. */
export const duplicateIds = (
  events: ReadonlyArray<{ readonly source: string; readonly id: string }>,
): Array<[string, number]> => {
  const seen = new Map<string, number>();
  for (const e of events) {
    seen.set(`${e.source} ${e.id}`, (seen.get(`${e.source} ${e.id}`) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1);
};

describe("CloudEvent ids", () => {
  let served: PdfServices;
  let dir: string;
  beforeAll(async () => {
    served = await servePdfServices();
    dir = await tempDir();
  });
  afterAll(async () => {
    await served.close();
    await Deno.remove(dir, { recursive: true });
  });

  it("duplicateIds() finds a pair twice, and nothing in distinct events", () => {
    const a = { source: "/lineage-kit/p/mineru", id: "r:ed" };
    expect(duplicateIds([a, { ...a, source: "/lineage-kit/p/other" }])).toEqual([]);
    expect(duplicateIds([a, { ...a }])).toEqual([["/lineage-kit/p/mineru r:ed", 2]]);
  });

  it("are unique per source across tenants, re-runs, retries, pauses, cancellation and MinerU", async () => {
    const store = resolve(dir, "store");
    const common = ["--store", store, "--json"];
    for (const args of [[], ["--tenant", "other"], ["--force"]]) {
      const r = await runCli(runPipeline, [...common, ...args]);
      expect([args, r.code]).toEqual([args, 0]);
    }
    await Deno.mkdir(resolve(dir, "pdfs"));
    for (const [i, paper] of papers.entries()) {
      await Deno.writeTextFile(
        resolve(dir, "pdfs", `${i}.json`),
        JSON.stringify(pdfRecord(served.url, paper, i)),
      );
    }
    served.failPdfs = 2;
    const paused = await runCli(runPipeline, [
      ...common,
      "--input",
      resolve(dir, "pdfs"),
      "--allow-private-network",
    ]);
    expect((lastJsonLine(paused.stdout) as any).jobs).toMatchObject({ paused: 2 });
    const opened = await openStore(store);
    const [first] = await Effect.runPromise(opened.ledger.list({ statuses: ["paused"] }));
    await opened.close();
    expect((await runCli(cancel, ["--store", store, first.jobId])).code).toBe(0);
    const bridged = await runCli(mineruBridge, [
      "--store",
      store,
      "--mineru-url",
      served.url,
      "--once",
    ]);
    expect(bridged.stdout).toContain("1 parsed, 0 failed");
    expect((await runCli(sensor, ["--store", store, "--once"])).code).toBe(0);

    const scanned = await openStore(store);
    try {
      const rows = await scanned.client.query<{ payload: any }>(
        "select payload::json as payload from lk_outbox where channel = 'cloudevents' order by seq",
      );
      const events = rows.map((r) => r.payload);
      const types = new Set(events.map((e) => e.type.replace(/^org\.medicalkg\./, "")));
      // The scan covered what it claims to.
      for (
        const t of [
          "orchestration.pipeline.completed",
          "orchestration.stage.retrying",
          "orchestration.pipeline.paused",
          "orchestration.pipeline.resumed",
          "orchestration.gate.opened",
          "mineru.requested",
          "mineru.completed",
        ]
      ) expect(types).toContain(t);
      expect(new Set(events.map((e) => e.tenantid))).toEqual(new Set(["default", "other"]));
      expect(events.length).toBeGreaterThan(900);
      expect(duplicateIds(events)).toEqual([]);
    } finally {
      await scanned.close();
    }
  });
});
