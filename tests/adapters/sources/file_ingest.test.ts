import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fc, test } from "@fast-check/vitest";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  jsonErrorOffset,
  lineColumnAt,
  parseJsonText,
  readJsonFile,
} from "../../../adapters/sources/file_ingest.ts";
import { InvalidInput } from "../../../stages/errors.ts";

describe("readJsonFile()", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lineage-kit-ingest-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("parses a file once while it is unchanged, and again after it changes", async () => {
    const file = join(dir, "list.json");
    await writeFile(file, JSON.stringify({ studies: [1, 2, 3] }));
    await utimes(file, 1_700_000_000, 1_700_000_000);
    const first = await Effect.runPromise(readJsonFile(file));
    const second = await Effect.runPromise(readJsonFile(file));
    expect(second).toBe(first);

    await writeFile(file, JSON.stringify({ studies: [4] }));
    await utimes(file, 1_700_000_100, 1_700_000_100);
    const third = await Effect.runPromise(readJsonFile(file));
    expect(third).not.toBe(first);
    expect(third).toEqual({ studies: [4] });
  });

  it("fails a missing file with InvalidInput naming it", async () => {
    const file = join(dir, "missing.json");
    const exit = await Effect.runPromise(Effect.flip(readJsonFile(file)));
    expect(exit).toEqual(
      new InvalidInput({ message: `${file}: cannot read: no such file`, path: file }),
    );
  });
});

describe("parseJsonText()", () => {
  it("reports the line and column of a syntax error", () => {
    expect(parseJsonText("f.json", '{\n  "a": 1\n  "b": 2\n}')).toEqual({
      ok: false,
      error: new InvalidInput({
        message: "f.json:3:3: invalid JSON: Expected ',' or '}' after property value",
        path: "f.json:3:3",
      }),
    });
  });

  it("returns the value of valid JSON", () => {
    expect(parseJsonText("f.json", '{"a": [1, "x", null]}')).toEqual({
      ok: true,
      value: { a: [1, "x", null] },
    });
  });
});

describe("jsonErrorOffset()", () => {
  test.prop([fc.jsonValue()])("finds no error in any serialised JSON value", (value) => {
    expect(jsonErrorOffset(JSON.stringify(value, null, 1))).toBeUndefined();
  });

  test.prop([fc.jsonValue().map((v) => JSON.stringify(v)).filter((s) => s.length > 1)])(
    "finds an error in every strict prefix that JSON.parse rejects",
    (text) => {
      const prefix = text.slice(0, text.length - 1);
      let rejected = false;
      try {
        JSON.parse(prefix);
      } catch {
        rejected = true;
      }
      expect(jsonErrorOffset(prefix) !== undefined).toBe(rejected);
    },
  );

  it("points at the offending character", () => {
    expect([
      jsonErrorOffset("[1, 2,]"),
      jsonErrorOffset('{"a" 1}'),
      jsonErrorOffset('"\\x"'),
      jsonErrorOffset("[1] 2"),
      jsonErrorOffset("[01]"),
      jsonErrorOffset(""),
    ]).toEqual([6, 5, 1, 4, 2, 0]);
  });
});

describe("lineColumnAt()", () => {
  it("counts 1-based lines and columns", () => {
    expect([lineColumnAt("ab\ncd", 0), lineColumnAt("ab\ncd", 4), lineColumnAt("ab\ncd", 99)])
      .toEqual([
        { line: 1, column: 1 },
        { line: 2, column: 2 },
        { line: 2, column: 3 },
      ]);
  });
});
