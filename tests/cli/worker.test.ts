import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as worker } from "../../cli/worker.ts";
import { openStore } from "../../adapters/store/store.ts";
import { databaseUrl, throwawayDatabase } from "../_stores.ts";
import { lastJsonLine, repoRoot, runCli, tempDir } from "../_harness.ts";

const records = resolve(repoRoot, "data/records");

describe("deno task worker on the embedded store", () => {
  it("runs what run-pipeline --enqueue-only queued, then finds nothing left", async () => {
    const store = await tempDir();
    try {
      const queued = await runCli(runPipeline, [
        "--store",
        store,
        "--input",
        resolve(records, "openfda"),
        "--enqueue-only",
        "--json",
      ]);
      expect(queued.code).toBe(0);
      expect(queued.stdout).toContain("4 jobs queued");
      expect(lastJsonLine(queued.stdout)).toMatchObject({ jobs: { queued: 4, succeeded: 0 } });
      const ran = await runCli(worker, ["--store", store, "--once", "--json"]);
      expect(ran.code).toBe(0);
      expect(lastJsonLine(ran.stdout)).toEqual({
        jobs: { succeeded: 4, failed: 0, paused: 0, held: 0, cancelled: 0 },
        storeFailures: 0,
      });
      const again = await runCli(worker, ["--store", store, "--once", "--json"]);
      expect(lastJsonLine(again.stdout)).toEqual({
        jobs: { succeeded: 0, failed: 0, paused: 0, held: 0, cancelled: 0 },
        storeFailures: 0,
      });
    } finally {
      await Deno.remove(store, { recursive: true });
    }
  });

  it("run-pipeline --enqueue-only refuses flags that only apply to running jobs here", async () => {
    const clash = await runCli(runPipeline, ["--enqueue-only", "--force"]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain("--enqueue-only runs nothing here, so --force does not apply");
  });

  it("rejects a bad flag with its usage (exit 2)", async () => {
    const bad = await runCli(worker, ["--concurrency", "0"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/worker: --concurrency/);
    expect(bad.stderr).toContain("usage: deno task worker");
  });
});

// Each worker runs in its own directory: with a server store, lineage goes to ./.lineage-kit.
const spawnWorker = (storeUrl: string, cwd: string) =>
  new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "-A",
      resolve(repoRoot, "cli/worker.ts"),
      "--store",
      storeUrl,
      "--once",
      "--json",
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();

describe.skipIf(!databaseUrl)("two worker processes on one PostgreSQL store", () => {
  let storeUrl: string;
  let db: { url: string; drop: () => Promise<void> };
  let lineage: string;
  beforeAll(async () => {
    lineage = await tempDir();
    db = await throwawayDatabase(databaseUrl!);
    storeUrl = db.url;
  });
  afterAll(async () => {
    await db.drop();
    await Deno.remove(lineage, { recursive: true });
  });

  it("share a queued batch: every job runs exactly once, in one of them", async () => {
    const queued = await runCli(runPipeline, [
      "--store",
      storeUrl,
      "--lineage",
      lineage,
      "--enqueue-only",
      "--json",
    ]);
    expect(lastJsonLine(queued.stdout)).toMatchObject({ jobs: { queued: 20 } });
    const dirs = ["a", "b"].map((d) => resolve(lineage, d));
    for (const dir of dirs) await Deno.mkdir(dir);
    const outputs = await Promise.all(dirs.map((dir) => spawnWorker(storeUrl, dir)));
    const reports = outputs.map((o) => {
      expect({ code: o.code, stderr: new TextDecoder().decode(o.stderr) }).toMatchObject({
        code: 0,
      });
      return lastJsonLine(new TextDecoder().decode(o.stdout)) as {
        jobs: { succeeded: number };
      };
    });
    expect(reports[0].jobs.succeeded + reports[1].jobs.succeeded).toBe(20);
    const store = await openStore(storeUrl);
    try {
      const statuses = await store.client.query<{ status: string; n: number }>(
        "select status, count(*)::int as n from lk_jobs group by status",
      );
      expect(statuses).toEqual([{ status: "succeeded", n: 20 }]);
      const starts = await store.client.query<{ job_id: string; n: number }>(
        `select job_id, count(*)::int as n from lk_outbox where channel = 'openlineage'
         and payload::json->'job'->>'name' = 'auto' and payload::json->>'eventType' = 'START'
         group by job_id`,
      );
      expect(starts).toHaveLength(20);
      expect(starts.every((s) => s.n === 1)).toBe(true);
    } finally {
      await store.close();
    }
  }, 180_000);
});
