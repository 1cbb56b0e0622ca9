import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { defaultInputLimits } from "../../../adapters/sources/input_limits.ts";
import {
  exceedsValueCount,
  firstRecordProblem,
  guardRecord,
} from "../../../adapters/sources/record_guard.ts";
import { InvalidInput } from "../../../stages/errors.ts";
import { displayText, firstUnstorableChar } from "../../../stages/storable_text.ts";

const nest = (depth: number, inner: unknown, wrap: (v: unknown) => unknown): unknown => {
  let value = inner;
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
};

describe("guardRecord()", () => {
  it("names the file, the record's pointer and the field holding a NUL", () => {
    const record = { protocolSection: { identificationModule: { briefTitle: "a\u0000b" } } };
    expect(guardRecord("page.json", "/studies/3", record, defaultInputLimits)).toEqual(
      new InvalidInput({
        message: "page.json: studies[3].protocolSection.identificationModule.briefTitle: " +
          "a string holding a NUL character (U+0000) at character 1, which the store cannot hold",
        path: "studies[3].protocolSection.identificationModule.briefTitle",
      }),
    );
  });

  it("names a key holding a lone surrogate, escaped", () => {
    expect(guardRecord("w.json", "", { meta: { "x\uD800": 1 } }, defaultInputLimits)).toEqual(
      new InvalidInput({
        message: "w.json: meta: a key holding a lone surrogate (U+D800) at character 1, which " +
          'the store cannot hold (key "x\\ud800")',
        path: "meta",
      }),
    );
  });

  it("refuses 100,000 nested arrays at the first level past the limit", () => {
    const deep = nest(100_000, [], (v) => [v]);
    const problem = firstRecordProblem({ deep }, { ...defaultInputLimits, maxDepth: 4 });
    expect(problem).toEqual({
      segments: ["deep", 0, 0, 0],
      detail: "nested 5 levels deep, deeper than the limit of 4 (max_depth)",
    });
  });

  it("shortens the path of a value nested far past the default limit", () => {
    const deep = nest(10_000, { end: true }, (v) => ({ a: v }));
    const error = guardRecord("d.json", "", { deep }, defaultInputLimits)!;
    const path = `deep${".a".repeat(63)}`;
    expect(error).toEqual(
      new InvalidInput({
        message: `d.json: ${path}: nested 65 levels deep, deeper than the limit of 64 (max_depth)`,
        path,
      }),
    );
  });

  it("refuses a string past max_string_length", () => {
    const limits = { ...defaultInputLimits, maxStringLength: 10 };
    expect(guardRecord("f.json", "/results/0", { set_id: "x".repeat(11) }, limits)).toEqual(
      new InvalidInput({
        message: "f.json: results[0].set_id: a string of 11 characters, longer than the limit of " +
          "10 (max_string_length)",
        path: "results[0].set_id",
      }),
    );
  });

  it("reports the first problem in document order and passes a clean record", () => {
    const record = { a: ["ok", { b: "\u0000" }], c: "\uDC00" };
    expect(firstRecordProblem(record, defaultInputLimits)?.segments).toEqual(["a", 1, "b"]);
    expect(guardRecord("ok.json", "", { a: [1, "two", { three: null }] }, defaultInputLimits))
      .toBeUndefined();
  });

  test.prop([fc.jsonValue({ stringUnit: "binary", maxDepth: 6 })])(
    "passes a value exactly when all its keys and strings are text the store can hold",
    (value) => {
      // JSON.stringify's replacer visits every key and value: an independent walk.
      let storable = true;
      JSON.stringify(value, (key, v) => {
        if (firstUnstorableChar(key) !== undefined) storable = false;
        if (typeof v === "string" && firstUnstorableChar(v) !== undefined) storable = false;
        return v;
      });
      expect(firstRecordProblem(value, defaultInputLimits) === undefined).toBe(storable);
    },
  );
});

describe("exceedsValueCount()", () => {
  it("counts members and items at every depth, and stops once past the limit", () => {
    expect(exceedsValueCount({ a: [1, 2, { b: 3 }] }, 5)).toBe(false);
    expect(exceedsValueCount({ a: [1, 2, { b: 3 }] }, 4)).toBe(true);
    expect(exceedsValueCount(nest(200_000, 1, (v) => [v]), 199_999)).toBe(true);
  });
});

describe("displayText()", () => {
  it("escapes control characters and lone surrogates, keeps pairs, and elides past max", () => {
    expect(displayText("a\u0000b\n\uD83D\uDE00\uD800")).toBe("a\\u0000b\\u000a\uD83D\uDE00\\ud800");
    expect(displayText("abcdef", 3)).toBe("abc…");
  });
});
