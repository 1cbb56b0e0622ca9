/**
 * The lineage viewers show one tenant's runs: `lineage runs` lists only them, `lineage show`
 * refuses another tenant's run with exit 2 as if it did not exist; a worker runs one tenant's jobs.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as lineage } from "../../cli/lineage.ts";
import { main as worker } from "../../cli/worker.ts";
import { repoRoot, runCli, tempDir } from "../_harness.ts";

describe("lineage runs|show --tenant", () => {
  it("lists and shows only the tenant's runs; another tenant's run is refused (exit 2)", async () => {
    const dir = await tempDir();
    try {
      const store = resolve(dir, "store");
      const ran = await runCli(runPipeline, [
        "--store",
        store,
        "--tenant",
        "acme",
        "--input",
        resolve(repoRoot, "data/records/clinicaltrials/NCT00763412.json"),
      ]);
      expect(ran.code).toBe(0);
      const mine = await runCli(lineage, ["runs", "--store", store, "--tenant", "acme", "--json"]);
      const { total, runs } = JSON.parse(mine.stdout);
      expect(total).toBe(1);
      const theirs = await runCli(lineage, ["runs", "--store", store, "--json"]);
      expect(JSON.parse(theirs.stdout)).toEqual({ total: 0, runs: [] });
      const refused = await runCli(lineage, ["show", runs[0].runId, "--store", store]);
      expect([refused.code, refused.stderr]).toEqual([
        2,
        `lineage show: no pipeline run "${runs[0].runId}" in tenant "default"`,
      ]);
      const shown = await runCli(lineage, [
        "show",
        runs[0].runId,
        "--store",
        store,
        "--tenant",
        "acme",
        "--json",
      ]);
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout).run.runId).toBe(runs[0].runId);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("a worker runs only its tenant's queued jobs", async () => {
    const dir = await tempDir();
    try {
      const store = resolve(dir, "store");
      const queued = await runCli(runPipeline, [
        "--store",
        store,
        "--tenant",
        "acme",
        "--enqueue-only",
        "--input",
        resolve(repoRoot, "data/records/clinicaltrials/NCT00763412.json"),
      ]);
      expect(queued.stdout).toContain("1 jobs queued");
      const other = await runCli(worker, ["--store", store, "--once", "--json"]);
      expect(JSON.parse(other.stdout.split("\n").pop()!).jobs.succeeded).toBe(0);
      const own = await runCli(worker, ["--store", store, "--once", "--json", "--tenant", "acme"]);
      expect(JSON.parse(own.stdout.split("\n").pop()!).jobs.succeeded).toBe(1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
