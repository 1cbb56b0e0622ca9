/**
 * `run-pipeline --force --input NEWDIR` reads the file it was given now: the job's stored
 * request is replaced, so its chunks come from the new copy, not the path stored before.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { openStore } from "../../adapters/store/store.ts";
import { repoRoot, runCli, tempDir } from "../_harness.ts";

const original = resolve(repoRoot, "data/records/clinicaltrials/NCT00763412.json");

const bodies = async (store: string): Promise<string> => {
  const opened = await openStore(store);
  try {
    const rows = await opened.client.query<{ body: string }>("select body from lk_chunks");
    return rows.map((r) => r.body).join(" ");
  } finally {
    await opened.close();
  }
};

describe("run-pipeline --force with a new --input", () => {
  it("replaces the stored request: the new file is read", async () => {
    const dir = await tempDir();
    try {
      const store = resolve(dir, "store");
      const common = ["--store", store, "--lineage", resolve(dir, "lineage")];
      await Deno.mkdir(resolve(dir, "old"));
      await Deno.copyFile(original, resolve(dir, "old", "NCT00763412.json"));
      expect((await runCli(runPipeline, [...common, "--input", resolve(dir, "old")])).code)
        .toBe(0);
      expect(await bodies(store)).not.toContain("wombatrevision");
      const record = JSON.parse(await Deno.readTextFile(original));
      record.protocolSection.descriptionModule.briefSummary = "wombatrevision " +
        record.protocolSection.descriptionModule.briefSummary;
      await Deno.mkdir(resolve(dir, "new"));
      await Deno.writeTextFile(resolve(dir, "new", "NCT00763412.json"), JSON.stringify(record));
      // The old copy is gone: reading it again would fail the job.
      await Deno.remove(resolve(dir, "old"), { recursive: true });
      const forced = await runCli(runPipeline, [
        ...common,
        "--force",
        "--input",
        resolve(dir, "new"),
      ]);
      expect([forced.code, forced.stdout]).toEqual([0, expect.stringContaining("1 succeeded")]);
      expect(await bodies(store)).toContain("wombatrevision");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
