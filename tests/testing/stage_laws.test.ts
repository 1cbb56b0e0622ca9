import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Effect } from "effect";
import { z } from "zod";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { defineStage } from "../../stages/contracts.ts";
import { Transient } from "../../stages/errors.ts";
import { documentSchema } from "../../stages/ir_schemas.ts";
import {
  checkStageLaws,
  documentArbitrary,
  type StageLaw,
  StageLawBroken,
} from "../../testing/mod.ts";

// One store for every check that runs stages through the runner: opening one takes seconds.
let store: Store;
beforeAll(async () => {
  store = await openEmbeddedStore();
});
afterAll(() => store.close());

const documents = documentArbitrary().map((doc) => ({ Parse: doc }));
const small = { runs: 15, runnerRuns: 3, seed: 42 } as const;

const allLaws: ReadonlyArray<StageLaw> = [
  "output-schema",
  "deterministic",
  "typed-failures",
  "checkpointed-once",
  "paired-lineage",
];

const blockCount = defineStage({
  type: "BlockCount",
  input: { Parse: documentSchema },
  output: z.object({ docId: z.string(), blocks: z.number().int().min(0) }),
  run: (_ctx, { Parse: doc }) =>
    Effect.succeed({
      docId: doc.id,
      blocks: doc.sections.reduce((n, s) => n + s.blocks.length, 0),
    }),
});

/** The broken law and the message, or a failure of the test when no law broke. */
const brokenLaw = async (promise: Promise<unknown>): Promise<StageLawBroken> => {
  const error = await promise.then(
    () => {
      throw new Error("expected a broken law");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StageLawBroken);
  return error as StageLawBroken;
};

describe("checkStageLaws()", () => {
  it("resolves with every law and its number of cases for a stage that keeps them", async () => {
    const report = await checkStageLaws(blockCount, { arbitrary: documents, store, ...small });
    expect(report).toEqual({
      stage: "BlockCount/blockcount",
      laws: allLaws.map((law) => ({
        law,
        runs: law === "checkpointed-once" || law === "paired-lineage" ? 3 : 15,
      })),
    });
  });

  it("checks only the laws asked for", async () => {
    const report = await checkStageLaws(blockCount, {
      arbitrary: documents,
      laws: ["deterministic", "output-schema"],
      runs: 4,
    });
    expect(report).toEqual({
      stage: "BlockCount/blockcount",
      laws: [{ law: "output-schema", runs: 4 }, { law: "deterministic", runs: 4 }],
    });
  });

  it("output-schema: an output the declared schema rejects breaks it, with the issue", async () => {
    const negative = defineStage({
      type: "Negative",
      input: { Parse: documentSchema },
      output: z.object({ sections: z.number().int().min(0) }),
      // Wrong for documents with no section: -1 is not a count.
      run: (_ctx, { Parse: doc }) => Effect.succeed({ sections: doc.sections.length || -1 }),
    });
    const broken = await brokenLaw(checkStageLaws(negative, { arbitrary: documents, ...small }));
    expect(broken.law).toBe("output-schema");
    expect(broken.message).toContain(
      'Negative/negative broke the law "output-schema" (every output matches the declared ' +
        "output schema, and outputCount counts it):\nthe output does not match the declared " +
        "output schema: sections: Too small: expected number to be >=0",
    );
    expect((broken.counterexample as { Parse: { sections: unknown } }).Parse.sections).toEqual([]);
  });

  it("typed-failures: a throw inside run breaks it (the runner would call it a crash)", async () => {
    const throwing = defineStage({
      type: "Throwing",
      input: { Parse: documentSchema },
      output: z.number(),
      run: (_ctx, { Parse: doc }) => {
        if (doc.title.includes("!")) throw new Error("no exclamations");
        return Effect.succeed(1);
      },
    });
    const arbitrary = fc.constantFrom("Calm.", "Loud!").chain((title) =>
      documentArbitrary().map((doc) => ({ Parse: { ...doc, title } }))
    );
    const broken = await brokenLaw(checkStageLaws(throwing, { arbitrary, ...small }));
    expect(broken.law).toBe("typed-failures");
    expect(broken.message).toContain(
      'the attempt died (a throw or a defect, which the runner turns into a Permanent "stage ' +
        'crashed"): no exclamations',
    );
  });

  it("typed-failures: failing with an error that is not a StageError breaks it", async () => {
    const untyped = defineStage({
      type: "Untyped",
      output: z.number(),
      run: () => Effect.fail({ reason: "busy" } as unknown as Transient),
    });
    const broken = await brokenLaw(
      checkStageLaws(untyped, { arbitrary: fc.constant({}), ...small }),
    );
    expect(broken.law).toBe("typed-failures");
    expect(broken.message).toContain(
      'the attempt failed with {"reason":"busy"}, which is not a StageError',
    );
  });

  it("a stage that always fails with Transient keeps the laws: the runner retries it to the end", async () => {
    const down = defineStage({
      type: "Down",
      output: z.number(),
      run: () => Effect.fail(new Transient({ message: "upstream is down" })),
    });
    const report = await checkStageLaws(down, {
      arbitrary: fc.constant({}),
      store,
      maxAttempts: 4,
      ...small,
    });
    expect(report.laws.map((l) => l.law)).toEqual(allLaws);
  });

  it("checkpointed-once: an output JSON cannot keep (a Date) breaks it, with the path", async () => {
    const dated = defineStage({
      type: "Dated",
      input: { Parse: documentSchema },
      output: z.object({ at: z.date() }),
      run: () => Effect.succeed({ at: new Date(0) }),
    });
    const broken = await brokenLaw(
      checkStageLaws(dated, { arbitrary: documents, store, ...small }),
    );
    expect(broken.law).toBe("checkpointed-once");
    expect(broken.message).toContain(
      "the checkpoint read back is not the output the stage produced: (root).at: wrote a Date, " +
        'which JSON stores as "1970-01-01T00:00:00.000Z"',
    );
  });

  it("paired-lineage: a schema field lineage cannot carry breaks it, with the invalid events", async () => {
    // A plain JavaScript user can declare a field type that is not a string: the schema facet
    // then breaks the OpenLineage schema.
    const mistyped = defineStage({
      type: "Mistyped",
      output: z.number(),
      outputFields: [{ name: "count", type: 1 as unknown as string, description: "a count" }],
      run: () => Effect.succeed(1),
    });
    const broken = await brokenLaw(
      checkStageLaws(mistyped, { arbitrary: fc.constant({}), store, ...small }),
    );
    expect(broken.law).toBe("paired-lineage");
    expect(broken.message).toMatch(/invalid events: OpenLineage \/outputs\/0\/facets\/schema\//);
  });

  it("rejects with a TypeError when the arbitrary generates inputs the stage's schema rejects", async () => {
    const error = await checkStageLaws(blockCount, {
      arbitrary: fc.constant({ Parse: { id: "" } }) as never,
      ...small,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(
      /^BlockCount\/blockcount: the arbitrary generated a Parse input that the stage's input schema rejects: id: /,
    );
  });

  it("rejects with a TypeError when the stage's config schema rejects the config", async () => {
    await expect(
      checkStageLaws(blockCount, { arbitrary: documents, config: { split: 2 } }),
    ).rejects.toThrow(
      new TypeError('config rejected by BlockCount/blockcount: (root): Unrecognized key: "split"'),
    );
  });
});
