// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { runPipeline as kitRunPipeline } from "../../kit/run_pipeline.ts";
import { main as mineruBridge } from "../../cli/mineru_bridge.ts";
import { main as sensor } from "../../cli/sensor.ts";
import { main as status } from "../../cli/status.ts";
import { openStore } from "../../adapters/store/store.ts";
import { makeOpenLineageValidator } from "../../testing/openlineage_validator.ts";
import { fixturesDir, lastJsonLine, readJsonl, runCli, tempDir } from "../_harness.ts";

// The PDF host and MinerU are loopback addresses msw answers; downloads need
// --allow-private-network for them, as a real intranet mirror would.
const PDF_HOST = "http://127.0.0.1:8099";
const MINERU = "http://127.0.0.1:8098";
const papers = ["W2497721881", "W2162544110"];
const pdfBytes = new Map<string, Uint8Array>();
const contentLists = new Map<number, unknown>();
const requests: string[] = [];
let mineruMode: "ok" | "oom" = "ok";

const server = setupServer(
  http.get(`${PDF_HOST}/pdfs/:file`, ({ params }) => {
    requests.push(`pdf ${params.file}`);
    const bytes = pdfBytes.get(String(params.file).replace(/\.pdf$/, ""));
    return bytes
      ? new HttpResponse(bytes, { headers: { "content-type": "application/pdf" } })
      : new HttpResponse("not found", { status: 404 });
  }),
  http.post(`${MINERU}/file_parse`, async ({ request }) => {
    const form = await request.formData();
    const file = form.get("files") as File;
    requests.push(`mineru ${file.name}`);
    if (mineruMode === "oom") {
      return HttpResponse.json({
        status: "failed",
        error:
          "CUDA out of memory. Tried to allocate 490.00 MiB. GPU 0 has a total capacity of 15.56 GiB",
        message: "Task execution failed",
      }, { status: 409 });
    }
    const stem = file.name.replace(/\.pdf$/, "");
    return HttpResponse.json({
      backend: "pipeline",
      version: "2.5.4",
      results: { [stem]: { content_list: contentLists.get(file.size) } },
    });
  }),
);

const unpaywallRecord = (paper: string) => ({
  doi: `10.5555/${paper.toLowerCase()}`,
  doi_url: `https://doi.org/10.5555/${paper.toLowerCase()}`,
  title: `Paper ${paper}`,
  year: 2008,
  genre: "journal-article",
  is_oa: true,
  data_standard: 2,
  has_repository_copy: false,
  best_oa_location: {
    url: `${PDF_HOST}/pdfs/${paper}.pdf`,
    url_for_pdf: `${PDF_HOST}/pdfs/${paper}.pdf`,
    url_for_landing_page: `https://doi.org/10.5555/${paper.toLowerCase()}`,
    host_type: "repository",
    is_best: true,
    version: "publishedVersion",
    evidence: "oa repository",
    license: null,
  },
  oa_locations: [],
});

const openAlexWork = async (paper: string) => {
  const work = JSON.parse(
    await Deno.readTextFile(resolve(fixturesDir, "openalex/W2741809807.json")),
  );
  return {
    ...work,
    id: `https://openalex.org/${paper}`,
    best_oa_location: { ...work.best_oa_location, pdf_url: `${PDF_HOST}/pdfs/${paper}.pdf` },
  };
};

describe("the PDF two-phase pipeline, end to end with MinerU played by msw", () => {
  let records: string;
  let store: string;
  beforeAll(async () => {
    for (const paper of papers) {
      const bytes = await Deno.readFile(resolve(fixturesDir, `pdfs/${paper}.pdf`));
      pdfBytes.set(paper, bytes);
      contentLists.set(
        bytes.length,
        JSON.parse(
          await Deno.readTextFile(resolve(
            fixturesDir,
            `mineru/mineru-2.5.4-pipeline/${paper}/${paper}_content_list.json`,
          )),
        ),
      );
    }
    records = await tempDir();
    store = await tempDir();
    // One paper as an Unpaywall record, the other as an OpenAlex work in an `openalex-pdf`
    // folder (the recorded work, pointed at the PDF host): both route to pdf-two-phase.
    await Deno.writeTextFile(
      resolve(records, `${papers[0]}.json`),
      JSON.stringify(unpaywallRecord(papers[0])),
    );
    await Deno.mkdir(resolve(records, "openalex-pdf"));
    await Deno.writeTextFile(
      resolve(records, "openalex-pdf", `${papers[1]}.json`),
      JSON.stringify(await openAlexWork(papers[1])),
    );
    server.listen({ onUnhandledRequest: "error" });
  });
  afterEach(() => {
    mineruMode = "ok";
  });
  afterAll(async () => {
    server.close();
    await Deno.remove(records, { recursive: true });
    await Deno.remove(store, { recursive: true });
  });

  it("pauses every PDF job at the gate; the bridge and the sensor then finish them without redoing ingest or download", async () => {
    const first = await runCli(runPipeline, [
      "--store",
      store,
      "--input",
      records,
      "--allow-private-network",
      "--json",
    ]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(lastJsonLine(first.stdout)).toMatchObject({
      jobs: { succeeded: 0, failed: 0, paused: 2 },
    });
    expect(first.stdout).toContain("2 jobs paused at gate_pdf_ir_ready");
    expect(requests.sort()).toEqual(["pdf W2162544110.pdf", "pdf W2497721881.pdf"]);
    const paused = await runCli(status, ["--store", store]);
    expect(paused.stdout).toMatch(/gate_pdf_ir_ready/);

    const bridged = await runCli(mineruBridge, [
      "--store",
      store,
      "--mineru-url",
      MINERU,
      "--once",
    ]);
    expect(bridged.code).toBe(0);
    expect(bridged.stdout).toContain("2 parsed, 0 failed");
    const sensed = await runCli(sensor, ["--store", store, "--once"]);
    expect(sensed.code).toBe(0);
    expect(sensed.stdout).toContain("2 resumed, 0 timed out, 0 still waiting");
    expect(requests.filter((r) => r.startsWith("pdf ")).length).toBe(2);
    expect(requests.filter((r) => r.startsWith("mineru ")).length).toBe(2);

    const db = await openStore(store);
    try {
      const jobs = await db.client.query<{ doc_key: string; pipeline: string; status: string }>(
        "select doc_key, pipeline, status from lk_jobs order by doc_key",
      );
      expect(jobs).toEqual([
        {
          doc_key: "openalex-pdf:W2162544110",
          pipeline: "pdf-two-phase",
          status: "succeeded",
        },
        {
          doc_key: "unpaywall:10.5555/w2497721881",
          pipeline: "pdf-two-phase",
          status: "succeeded",
        },
      ]);
      const starts = await db.client.query<{ job: string; n: number }>(
        `select payload::json->'job'->>'name' as job, count(*)::int as n from lk_outbox
         where channel = 'openlineage' and payload::json->>'eventType' = 'START' group by 1 order by 1`,
      );
      expect(Object.fromEntries(starts.map((s) => [s.job, s.n]))).toEqual({
        "pdf-two-phase": 2,
        "pdf-two-phase.ingest": 2,
        "pdf-two-phase.download": 2,
        "pdf-two-phase.gate_pdf_ir_ready": 2,
        "pdf-two-phase.mineru": 2,
        "pdf-two-phase.chunk": 2,
        "pdf-two-phase.embed": 2,
        "pdf-two-phase.index": 2,
        "pdf-two-phase.extract": 2,
        "pdf-two-phase.kg": 2,
      });
      // The chunks are MinerU's text, with the page numbers it reported.
      const chunks = await db.client.query<{ body: string; page: number | null }>(
        "select body, (metadata->>'page')::int as page from lk_chunks order by chunk_id",
      );
      expect(chunks.length).toBeGreaterThan(10);
      expect(chunks.every((c) => typeof c.page === "number" && c.page >= 1 && c.page <= 6)).toBe(
        true,
      );
      expect(chunks.some((c) => c.body.includes("Helsinki"))).toBe(true);
      // A chunk records the page it starts on; the 6-page paper spans chunks from page 1 to 5+.
      expect(Math.max(...chunks.map((c) => c.page!))).toBeGreaterThanOrEqual(5);
    } finally {
      await db.close();
    }

    // Lineage: one pipeline run per job, open across the pause and closed once; the stage runs
    // before and after the pause are its children; the mineru job links the PDF to the document.
    const events: any[] = await readJsonl(resolve(store, "lineage/openlineage.jsonl"));
    const validator = await makeOpenLineageValidator();
    expect(
      events.flatMap((e) =>
        validator.validate(e).map((i) => `${e.job.name}: ${i.path} ${i.message}`)
      ),
    )
      .toEqual([]);
    const runs = new Map<string, string[]>();
    for (const e of events.filter((e: any) => e.job.name === "pdf-two-phase")) {
      runs.set(e.run.runId, [...(runs.get(e.run.runId) ?? []), e.eventType]);
    }
    expect([...runs.values()]).toEqual([
      ["START", "RUNNING", "RUNNING", "COMPLETE"],
      ["START", "RUNNING", "RUNNING", "COMPLETE"],
    ]);
    const children = events.filter((e: any) => e.job.name.startsWith("pdf-two-phase."));
    expect(children.every((e: any) => runs.has(e.run.facets.parent.run.runId))).toBe(true);
    const mineru = events.find((e: any) =>
      e.job.name === "pdf-two-phase.mineru" && e.eventType === "COMPLETE"
    );
    expect(mineru.inputs[0]).toMatchObject({ namespace: "file" });
    expect(mineru.inputs[0].name).toMatch(/\/pdfs\/[0-9a-f]{64}\.pdf$/);
    expect(mineru.outputs[0].name).toMatch(/lk_artifacts$/);
  });

  it("a MinerU GPU out-of-memory fails the job at once with reason gpu_oom, and no retry", async () => {
    const store2 = await tempDir();
    try {
      expect(
        (await runCli(runPipeline, [
          "--store",
          store2,
          "--input",
          records,
          "--allow-private-network",
        ])).code,
      )
        .toBe(0);
      mineruMode = "oom";
      const before = requests.filter((r) => r.startsWith("mineru ")).length;
      const bridged = await runCli(mineruBridge, [
        "--store",
        store2,
        "--mineru-url",
        MINERU,
        "--once",
      ]);
      expect(bridged.code).toBe(1);
      expect(bridged.stdout).toContain("0 parsed, 2 failed");
      expect(bridged.stdout).toContain("gpu_oom: GpuOutOfMemory: ");
      expect(requests.filter((r) => r.startsWith("mineru ")).length - before).toBe(2);
      const ce: any[] = await readJsonl(resolve(store2, "lineage/cloudevents.jsonl"));
      expect(
        ce.filter((e: any) => e.type === "org.medicalkg.mineru.failed").map((e: any) =>
          e.data.reason
        ),
      )
        .toEqual(["gpu_oom", "gpu_oom"]);
      expect(ce.filter((e: any) => e.type === "org.medicalkg.orchestration.pipeline.failed").length)
        .toBe(2);
    } finally {
      await Deno.remove(store2, { recursive: true });
    }
  });

  it("five MinerU GPU failures open the breaker: later jobs fail fast without a request", async () => {
    const store3 = await tempDir();
    const many = await tempDir();
    try {
      for (let i = 0; i < 7; i++) {
        const paper = papers[i % 2];
        const rec = unpaywallRecord(paper);
        await Deno.writeTextFile(
          resolve(many, `${i}.json`),
          JSON.stringify({ ...rec, doi: `10.5555/breaker-${i}` }),
        );
      }
      const run = await runCli(runPipeline, [
        "--store",
        store3,
        "--input",
        many,
        "--allow-private-network",
        "--json",
      ]);
      expect(lastJsonLine(run.stdout)).toMatchObject({ jobs: { paused: 7 } });
      mineruMode = "oom";
      const before = requests.filter((r) => r.startsWith("mineru ")).length;
      const bridged = await runCli(mineruBridge, [
        "--store",
        store3,
        "--mineru-url",
        MINERU,
        "--once",
      ]);
      expect(bridged.code).toBe(1);
      expect(bridged.stdout).toContain("0 parsed, 7 failed");
      expect(requests.filter((r) => r.startsWith("mineru ")).length - before).toBe(5);
      const failures = bridged.stdout.split("\n").filter((l) => l.startsWith("failed "));
      expect(failures.filter((l) => l.includes("gpu_oom: GpuOutOfMemory")).length).toBe(5);
      expect(failures.filter((l) => l.includes("gpu_unavailable: CircuitOpen")).length).toBe(2);
    } finally {
      await Deno.remove(store3, { recursive: true });
      await Deno.remove(many, { recursive: true });
    }
  });

  it("a stopped run leaves its paused jobs paused: it sends nothing to MinerU", async () => {
    const store4 = await tempDir();
    try {
      const stop = new AbortController();
      const before = requests.filter((r) => r.startsWith("mineru ")).length;
      const summary = await kitRunPipeline({
        store: store4,
        lineage: resolve(store4, "lineage"),
        records,
        concurrency: 1,
        allowPrivateNetwork: true,
        mineruUrl: MINERU,
        stop: stop.signal,
        onJobDone: () => stop.abort(),
      });
      expect(summary.jobs).toMatchObject({ paused: 1, queued: 1, succeeded: 0 });
      expect(requests.filter((r) => r.startsWith("mineru ")).length).toBe(before);
    } finally {
      await Deno.remove(store4, { recursive: true });
    }
  });

  it("mineru-bridge --via kafka needs its brokers (exit 2 naming KAFKA_BROKERS)", async () => {
    const saved = Deno.env.get("KAFKA_BROKERS");
    Deno.env.delete("KAFKA_BROKERS");
    try {
      const out = await runCli(mineruBridge, ["--via", "kafka", "--store", store]);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain("--via kafka: ");
      expect(out.stderr).toContain("KAFKA_BROKERS");
      const bad = await runCli(mineruBridge, ["--via", "carrier-pigeon"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--via: expected http or kafka, got "carrier-pigeon"');
    } finally {
      if (saved !== undefined) Deno.env.set("KAFKA_BROKERS", saved);
    }
  });
});
