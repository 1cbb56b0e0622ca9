import fc from "fast-check";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { checkStageLaws, documentArbitrary, runStageOnce } from "../testing/mod.ts";
import { keywords } from "./keywords_stage.ts";

describe("Keywords", () => {
  it("keeps the stage laws", async () => {
    const report = await checkStageLaws(keywords, {
      arbitrary: documentArbitrary().map((doc) => ({ Parse: doc })),
      config: { min_length: 3 },
      runs: 20,
      runnerRuns: 3,
    });
    expect(report.laws.map((l) => l.law)).toEqual([
      "output-schema",
      "deterministic",
      "typed-failures",
      "checkpointed-once",
      "paired-lineage",
    ]);
  });

  it("never returns more than `top` words, each at least `min_length` long", async () => {
    await fc.assert(
      fc.asyncProperty(documentArbitrary(), async (doc) => {
        const { words } = await Effect.runPromise(
          runStageOnce(keywords, { inputs: { Parse: doc }, config: { min_length: 6, top: 2 } }),
        );
        expect(words.length).toBeLessThanOrEqual(2);
        expect(words.every((w) => w.length >= 6)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
