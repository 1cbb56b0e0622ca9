// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
/**
 * Dataset names, producer and validity of every event of whole runs on the two kinds of store and
 * through the PDF pipeline: a PDF run (download, gate, MinerU, the rest) on the embedded store,
 * and the bundled records on a PostgreSQL store (the server of `DATABASE_URL` when set; otherwise
 * the embedded database opened under a `postgres://` spec, which is what names the datasets).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { runPipeline } from "../../kit/run_pipeline.ts";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { datasetNamingProblems } from "../../lineage/dataset_naming.ts";
import { PRODUCER } from "../../lineage/facet_urls.ts";
import { makeOpenLineageValidator } from "../../testing/openlineage_validator.ts";
import { databaseUrl, openThrowawayPostgres } from "../_stores.ts";
import { fixturesDir, readJsonl, tempDir } from "../_harness.ts";

const paper = "W2497721881";

/** What every event of a run must satisfy; returns the problems found. */
const checkAll = async (events: any[]) => {
  const validator = await makeOpenLineageValidator();
  const problems: string[] = [];
  for (const e of events) {
    const at = `${e.job.name} ${e.eventType}`;
    for (const i of validator.validate(e)) problems.push(`${at}: ${i.path} ${i.message}`);
    if (e.producer !== PRODUCER) problems.push(`${at}: producer ${e.producer}`);
    for (const d of [...e.inputs, ...e.outputs]) {
      for (const p of datasetNamingProblems(d)) problems.push(`${at}: ${p}`);
      if (d.namespace.startsWith("inmemory")) problems.push(`${at}: ${d.namespace}`);
    }
  }
  return problems;
};

const names = (events: any[], job: string, side: "inputs" | "outputs") =>
  events.find((e) => e.job.name === job && e.eventType === "COMPLETE")?.[side]
    .map((d: any) => [d.namespace, d.name]);

describe("a PDF run: download, gate, MinerU and the stages after it", () => {
  let dir: string;
  let events: any[];
  const servers: Deno.HttpServer[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    const pdf = await Deno.readFile(resolve(fixturesDir, `pdfs/${paper}.pdf`));
    const contentList = JSON.parse(
      await Deno.readTextFile(
        resolve(fixturesDir, `mineru/mineru-2.5.4-pipeline/${paper}/${paper}_content_list.json`),
      ),
    );
    const serve = (handler: (req: Request) => Response | Promise<Response>) => {
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
      servers.push(server);
      return `http://127.0.0.1:${server.addr.port}`;
    };
    const host = serve(() => new Response(pdf, { headers: { "content-type": "application/pdf" } }));
    const mineru = serve(async (req) => {
      const file = (await req.formData()).get("files") as File;
      const stem = file.name.replace(/\.pdf$/, "");
      return Response.json({
        backend: "pipeline",
        version: "2.5.4",
        results: { [stem]: { content_list: contentList } },
      });
    });
    const records = resolve(dir, "records");
    await Deno.mkdir(records);
    await Deno.writeTextFile(
      resolve(records, `${paper}.json`),
      JSON.stringify({
        doi: "10.5555/w2497721881",
        doi_url: "https://doi.org/10.5555/w2497721881",
        title: "Paper",
        year: 2008,
        genre: "journal-article",
        is_oa: true,
        data_standard: 2,
        has_repository_copy: false,
        best_oa_location: {
          url: `${host}/pdfs/${paper}.pdf`,
          url_for_pdf: `${host}/pdfs/${paper}.pdf`,
          url_for_landing_page: "https://doi.org/10.5555/w2497721881",
          host_type: "repository",
          is_best: true,
          version: "publishedVersion",
          evidence: "oa repository",
          license: null,
        },
        oa_locations: [],
      }),
    );
    const summary = await runPipeline({
      store: resolve(dir, "store"),
      records,
      lineage: resolve(dir, "lineage"),
      events: resolve(dir, "lineage"),
      mineruUrl: mineru,
      allowPrivateNetwork: true,
      env: { get: () => undefined },
    });
    expect(summary.jobs).toMatchObject({ succeeded: 1, failed: 0, paused: 0 });
    events = await readJsonl(resolve(dir, "lineage/openlineage.jsonl"));
  });
  afterAll(async () => {
    for (const s of servers) await s.shutdown();
    await Deno.remove(dir, { recursive: true });
  });

  it("every event validates, names the versioned producer and Marquez-safe datasets, none inmemory://", async () => {
    expect(events.length).toBeGreaterThan(20);
    expect(await checkAll(events)).toEqual([]);
  });

  it("names the record file (linked to Unpaywall), the PDF file, checkpoints and tables of the store folder", () => {
    const db = pathToFileURL(resolve(dir, "store/db")).href;
    expect(names(events, "pdf-two-phase.ingest", "inputs")).toEqual([
      ["file", resolve(dir, "records", `${paper}.json`)],
    ]);
    const ingest = events.find((e) => e.job.name === "pdf-two-phase.ingest");
    expect(ingest.inputs[0].facets.symlinks.identifiers).toEqual([
      { namespace: "https://api.unpaywall.org", name: "/v2", type: "API" },
    ]);
    expect(names(events, "pdf-two-phase.download", "outputs")).toEqual([
      [db, "postgres.public.lk_checkpoints.pdf-two-phase.download"],
    ]);
    const mineru = events.find((e) => e.job.name === "pdf-two-phase.mineru");
    expect(mineru.inputs[0].namespace).toBe("file");
    expect(mineru.inputs[0].name).toMatch(/\/store\/pdfs\/[0-9a-f]{64}\.pdf$/);
    expect(names(events, "pdf-two-phase.mineru", "outputs")).toEqual([
      [db, "postgres.public.lk_artifacts"],
    ]);
    expect(names(events, "pdf-two-phase.index", "outputs")).toEqual([
      [db, "postgres.public.lk_chunks"],
    ]);
  });
});

describe("a run on a PostgreSQL store", () => {
  let dir: string;
  let store: Store;
  let events: any[];
  const spec = databaseUrl ?? "postgres://kit:secret@db.internal:6543/kg";

  beforeAll(async () => {
    dir = await tempDir();
    // Without a server, the embedded database stands in; the store spec is what names datasets.
    const opened = databaseUrl
      ? await openThrowawayPostgres(databaseUrl)
      : await openEmbeddedStore();
    store = { ...opened, spec };
    const summary = await runPipeline({
      store,
      lineage: resolve(dir, "lineage"),
      events: resolve(dir, "lineage"),
      env: { get: () => undefined },
    });
    expect(summary.jobs.failed).toBe(0);
    events = await readJsonl(resolve(dir, "lineage/openlineage.jsonl"));
  });
  afterAll(async () => {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  });

  it("every event validates, names the versioned producer and Marquez-safe datasets, none inmemory://", async () => {
    expect(events.length).toBeGreaterThan(50);
    expect(await checkAll(events)).toEqual([]);
  });

  it("names tables and checkpoints postgres://host:port + database.public.table, without credentials", () => {
    const u = new URL(spec);
    const server = `postgres://${u.hostname}:${u.port || 5432}`;
    const db = u.pathname.slice(1);
    expect(names(events, "auto.parse", "outputs")).toEqual([
      [server, `${db}.public.lk_checkpoints.auto.parse`],
    ]);
    expect(names(events, "auto.index", "outputs")).toEqual([[server, `${db}.public.lk_chunks`]]);
    expect(JSON.stringify(events)).not.toContain(u.password || "\u0000");
  });
});
