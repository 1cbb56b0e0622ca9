// Global test setup. An Error's `message` is not an enumerable property, so `toEqual` on two
// tagged errors (Effect `Data.TaggedError`) would ignore their messages. This tester makes
// `toEqual` compare tag, message and every field, so a changed message fails the test.
import { afterAll, expect } from "vitest";
import { removeTempDirs } from "./_harness.ts";

type Tagged = Error & { readonly _tag: string };

const isTaggedError = (u: unknown): u is Tagged =>
  u instanceof Error && typeof (u as { _tag?: unknown })._tag === "string";

const fields = (e: Tagged) =>
  Object.fromEntries(Object.entries(e).sort(([a], [b]) => a.localeCompare(b)));

expect.addEqualityTesters([
  function taggedErrorEquality(a: unknown, b: unknown, testers) {
    if (!isTaggedError(a) || !isTaggedError(b)) return undefined;
    return a._tag === b._tag && a.message === b.message &&
      this.equals(fields(a), fields(b), testers);
  },
]);

// The temporary directories a test file made with tempDir (stores of tens of MB among them) go
// when it ends, so runs of the suite do not fill the machine's temporary folder.
afterAll(removeTempDirs);
