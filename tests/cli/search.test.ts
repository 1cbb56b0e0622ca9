import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as search, noTextMatch } from "../../cli/search.ts";
import { runCli, tempDir } from "../_harness.ts";

describe("deno task search", () => {
  let store = "";
  beforeAll(async () => {
    store = await tempDir();
    const run = await runCli(runPipeline, [
      "--store",
      store,
      "--input",
      "data/records/clinicaltrials/NCT00763412.json",
    ]);
    expect(run.code).toBe(0);
  });
  afterAll(() => Deno.remove(store, { recursive: true }));

  it("finds a study by text from its posted outcome measure results", async () => {
    const result = await runCli(search, [
      "--store",
      store,
      "--json",
      "--k",
      "1",
      "Repaglinide 19.63 Kg/m^2",
    ]);
    expect(result.code).toBe(0);
    const [hit] = JSON.parse(result.stdout);
    expect(hit).toMatchObject({
      docId: "clinicaltrials:NCT00763412",
      textRank: 1,
      denseRank: 1,
      match: "text+vector",
    });
    expect(hit.text).toContain("primary outcome: BMI (mean, full range, Kg/m^2) 1 Placebo 19.63");
  });

  it("says when no chunk matches the text and labels the hits vector only", async () => {
    const result = await runCli(search, ["--store", store, "--k", "3", "xyzzy nonsense"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(noTextMatch);
    const ranked = lines.filter((l) => /^\d+\. /.test(l));
    expect(ranked).toHaveLength(3);
    for (const line of ranked) expect(line).toContain("[vector only] (dense #");
    const json = await runCli(search, ["--store", store, "--json", "--k", "3", "xyzzy nonsense"]);
    expect(JSON.parse(json.stdout).map((h: { match: string }) => h.match)).toEqual([
      "vector",
      "vector",
      "vector",
    ]);
  });

  it("drops hits below --min-score and refuses a bad one with exit 2", async () => {
    const none = await runCli(search, ["--store", store, "--min-score", "0.5", "BMI"]);
    expect(none).toEqual({ code: 0, stdout: "no hit scores 0.5 or more", stderr: "" });
    const bad = await runCli(search, ["--store", store, "--min-score", "high", "BMI"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe(
      'search: --min-score: expected a number >= 0, got "high"',
    );
  });
});
