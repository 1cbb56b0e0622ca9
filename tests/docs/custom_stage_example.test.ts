// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, describe, expect, it } from "vitest";
import { runExample } from "../../docs/examples/custom_stage.ts";
import { lineagePairIssues, runLifecycleIssues } from "../../testing/mod.ts";
import { tempDir } from "../_harness.ts";

const dirs: Array<string> = [];
afterAll(async () => {
  for (const dir of dirs) await Deno.remove(dir, { recursive: true });
});

describe("docs/examples/custom_stage.ts", () => {
  it("runs a custom stage type among built-in ones with valid, paired lineage", async () => {
    const dir = await tempDir("lk-custom-stage-");
    dirs.push(dir);
    const { summary, openlineage, cloudevents, issues } = await runExample(dir);
    expect(summary.jobs).toEqual({
      succeeded: 2,
      failed: 0,
      paused: 0,
      skipped: 0,
      held: 0,
      cancelled: 0,
    });
    expect(issues).toEqual(openlineage.map(() => []));
    expect(lineagePairIssues(openlineage, cloudevents)).toEqual([]);
    expect(runLifecycleIssues(openlineage)).toEqual([]);
    // Per document: the pipeline run and each of its five stages, START then COMPLETE.
    const runs = (openlineage as Array<any>).map((e) => `${e.job.name} ${e.eventType}`).sort();
    const once = ["", ".ingest", ".parse", ".words", ".chunk", ".embed"].flatMap((stage) => [
      `word-count${stage} COMPLETE`,
      `word-count${stage} START`,
    ]);
    expect(runs).toEqual([...once, ...once].sort());
    const words = (cloudevents as Array<any>).filter((e) =>
      e.source === "/lineage-kit/word-count/words" && e.oleventtype === "COMPLETE"
    );
    expect(words.map((e) => [e.type, e.data.output_count])).toEqual([
      ["org.medicalkg.orchestration.stage.completed", 1],
      ["org.medicalkg.orchestration.stage.completed", 1],
    ]);
  });
});
