import { test } from "@fast-check/vitest";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { recordBatch } from "../_hostile_records.ts";
import { checkRun } from "../_poison_check.ts";
import { tempDir } from "../_harness.ts";

describe("run-pipeline on hostile record files beside valid ones (PGlite)", () => {
  let store = "";
  beforeAll(async () => {
    store = await tempDir("lk-poison-store-");
  });
  afterAll(() => Deno.remove(store, { recursive: true }));

  // A few small batches into one store keep this fast enough for every CI run; `deno task fuzz`
  // soaks longer.
  test.prop([recordBatch(6)], { numRuns: 4, endOnFailure: true })(
    "valid documents succeed, each hostile one fails alone naming file and field, none is left running",
    async (files) => {
      expect(await checkRun(store, files)).toEqual([]);
    },
  );
});
