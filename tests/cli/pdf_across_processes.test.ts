// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
/**
 * The PDF gate across processes on a real PostgreSQL server: one process pauses the jobs and
 * exits, another runs the MinerU bridge, two sensors race to resume them, and a long-running
 * sensor wakes on NOTIFY. A local HTTP server plays the PDF host and MinerU (real sockets:
 * the processes are separate, so in-process mocks cannot reach them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect } from "effect";
import { resolve } from "node:path";
import { openPostgres } from "../../adapters/store/postgres_client.ts";
import { openStore, type Store } from "../../adapters/store/store.ts";
import { databaseUrl } from "../_stores.ts";
import { fixturesDir, repoRoot, tempDir } from "../_harness.ts";

const papers = ["W2497721881", "W2162544110", "W2497721881"];

interface Served {
  readonly url: string;
  readonly requests: string[];
  readonly close: () => Promise<void>;
}

const serveFixtures = async (): Promise<Served> => {
  const requests: string[] = [];
  const pdfs = new Map<string, Uint8Array>();
  const lists = new Map<number, unknown>();
  for (const paper of new Set(papers)) {
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
    requests.push(`${req.method} ${url.pathname}`);
    const pdf = url.pathname.match(/^\/pdfs\/(W\d+)(?:-\d+)?\.pdf$/);
    if (req.method === "GET" && pdf && pdfs.has(pdf[1])) {
      return new Response(pdfs.get(pdf[1])! as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": "application/pdf" },
      });
    }
    if (req.method === "POST" && url.pathname === "/file_parse") {
      const file = (await req.formData()).get("files") as File;
      const stem = file.name.replace(/\.pdf$/, "");
      return Response.json({
        backend: "pipeline",
        version: "2.5.4",
        results: { [stem]: { content_list: lists.get(file.size) } },
      });
    }
    return new Response("not found", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, requests, close: () => server.shutdown() };
};

const cli = (script: string, args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-A", resolve(repoRoot, "cli", script), ...args],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "piped",
  });

const run = async (script: string, args: string[]) => {
  const out = await cli(script, args).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
};

const record = (base: string, paper: string, i: number) => ({
  doi: `10.5555/cross-${i}`,
  title: `Paper ${i}`,
  is_oa: true,
  best_oa_location: {
    url: `${base}/pdfs/${paper}-${i}.pdf`,
    url_for_pdf: `${base}/pdfs/${paper}-${i}.pdf`,
    is_best: true,
    host_type: "repository",
  },
  oa_locations: [],
});

if (!databaseUrl) {
  it.skip("PDF gate across processes on PostgreSQL (set DATABASE_URL to run)", () => {});
}

describe.skipIf(!databaseUrl)("the PDF gate across processes on PostgreSQL", () => {
  let served: Served;
  let records: string;
  let lineage: string;
  let storeUrl: string;
  let dbName: string;
  let store: Store;

  beforeAll(async () => {
    served = await serveFixtures();
    records = await tempDir();
    lineage = await tempDir();
    dbName = `lk_cross_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
    const admin = await openPostgres(databaseUrl!, { max: 1 });
    await admin.exec(`create database ${dbName}`);
    await admin.close();
    const u = new URL(databaseUrl!);
    u.pathname = `/${dbName}`;
    storeUrl = u.toString();
    for (const [i, paper] of papers.slice(0, 2).entries()) {
      await Deno.writeTextFile(
        resolve(records, `${i}.json`),
        JSON.stringify(record(served.url, paper, i)),
      );
    }
  });
  afterAll(async () => {
    await store?.close();
    await served.close();
    const admin = await openPostgres(databaseUrl!, { max: 1 });
    await admin.exec(`drop database if exists ${dbName} with (force)`);
    await admin.close();
    await Deno.remove(records, { recursive: true });
    await Deno.remove(lineage, { recursive: true });
  });

  it("process 1 pauses, process 2 parses, two racing sensors resume each job exactly once", async () => {
    const common = ["--store", storeUrl, "--lineage", lineage];
    const paused = await run("run_pipeline.ts", [
      ...common,
      "--input",
      records,
      "--allow-private-network",
      "--json",
    ]);
    expect(paused.stderr).toBe("");
    expect(JSON.parse(paused.stdout.trim().split("\n").at(-1)!).jobs).toMatchObject({
      paused: 2,
      failed: 0,
    });
    const bridged = await run("mineru_bridge.ts", [
      "--store",
      storeUrl,
      "--mineru-url",
      served.url,
      "--once",
    ]);
    expect(bridged.stdout).toContain("2 parsed, 0 failed");
    const [a, b] = await Promise.all([
      run("sensor.ts", ["--store", storeUrl, "--once", "--json"]),
      run("sensor.ts", ["--store", storeUrl, "--once", "--json"]),
    ]);
    const resumed = [a, b].flatMap((r) => JSON.parse(r.stdout.trim().split("\n")[0]).resumed);
    expect(resumed.map((o: any) => o.status)).toEqual(["succeeded", "succeeded"]);
    expect(new Set(resumed.map((o: any) => o.jobId)).size).toBe(2);
    store = await openStore(storeUrl);
    const resumes = await store.client.query<{ job_id: string; n: number }>(
      `select job_id, count(*)::int as n from lk_job_history
       where from_status = 'paused' and to_status = 'running' group by job_id`,
    );
    expect(resumes.map((r) => r.n)).toEqual([1, 1]);
    const chunkRuns = await store.client.query<{ n: number }>(
      `select count(*)::int as n from lk_outbox where channel = 'openlineage'
       and payload::json->>'eventType' = 'START' and payload::json->'job'->>'name' = 'pdf-two-phase.chunk'`,
    );
    expect(chunkRuns[0].n).toBe(2);
    expect(served.requests.filter((r) => r.startsWith("GET /pdfs/")).length).toBe(2);
    expect(served.requests.filter((r) => r === "POST /file_parse").length).toBe(2);
  });

  it("a watching sensor is woken by NOTIFY when pdf_ir_ready is set, and resumes the job", async () => {
    store ??= await openStore(storeUrl);
    await Deno.writeTextFile(
      resolve(records, "late.json"),
      JSON.stringify(record(served.url, papers[2], 2)),
    );
    const third = await run("run_pipeline.ts", [
      "--store",
      storeUrl,
      "--lineage",
      lineage,
      "--input",
      resolve(records, "late.json"),
      "--allow-private-network",
      "--json",
    ]);
    expect(JSON.parse(third.stdout.trim().split("\n").at(-1)!).jobs).toMatchObject({ paused: 1 });
    const [job] = await Effect.runPromise(store.ledger.list({ statuses: ["paused"] }));
    const watcher = cli("sensor.ts", ["--store", storeUrl, "--json"]).spawn();
    watcher.stderr.cancel();
    try {
      const lines = watcher.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      const nextPasses = async (): Promise<any[]> => {
        while (!buffered.includes("\n")) {
          const { value, done } = await lines.read();
          if (done) return [];
          buffered += value;
        }
        const complete = buffered.split("\n");
        buffered = complete.pop()!;
        return complete.map((l) => JSON.parse(l));
      };
      // The first pass is printed once the watcher listens for ledger changes.
      expect((await nextPasses())[0].trigger).toBe("start");
      const artifacts = await Effect.runPromise(
        store.ledger.artifacts(
          (await Effect.runPromise(store.ledger.list({ statuses: ["succeeded"] })))[0].jobId,
        ),
      );
      const setAt = performance.now();
      await Effect.runPromise(
        store.ledger.setFields(job.jobId, {
          pdfIrReady: true,
          artifacts: { document: artifacts.get("document") },
        }, []),
      );
      // Read the watcher's pass reports until the one that resumed the job.
      let resuming: any;
      while (!resuming) {
        const passes = await nextPasses();
        if (passes.length === 0) break;
        resuming = passes.find((p) => p.resumed.some((o: any) => o.jobId === job.jobId));
      }
      const latencyMs = performance.now() - setAt;
      console.log(
        `pdf_ir_ready set → job resumed and finished (PostgreSQL NOTIFY): ${
          latencyMs.toFixed(0)
        } ms`,
      );
      // The pass that resumed the job was woken by the ledger notification, not the poll timer.
      expect(resuming?.trigger).toBe("notify");
      expect(resuming.resumed.find((o: any) => o.jobId === job.jobId).status).toBe("succeeded");
      lines.releaseLock();
    } finally {
      watcher.kill("SIGTERM");
      await watcher.stdout.cancel().catch(() => {});
      await watcher.status;
    }
  });
});
