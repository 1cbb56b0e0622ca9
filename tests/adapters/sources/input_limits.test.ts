import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  defaultInputLimits,
  resolveInputLimits,
  validateInputLimits,
} from "../../../adapters/sources/input_limits.ts";
import { decodeUtf8, invalidUtf8Offset } from "../../../adapters/sources/utf8_text.ts";
import { jsonErrorOffset, lineColumnAt } from "../../../adapters/sources/json_syntax.ts";
import { bytesToText, decodeJsonBytes } from "../../../adapters/sources/json_input.ts";
import { InvalidInput } from "../../../stages/errors.ts";

describe("resolveInputLimits()", () => {
  it("fills in the documented defaults and keeps what is given", () => {
    expect(defaultInputLimits).toEqual({
      maxBytes: 67_108_864,
      maxFields: 4_000_000,
      maxDepth: 64,
      maxStringLength: 1_048_576,
    });
    expect(resolveInputLimits({ maxDepth: 8 })).toEqual({ ...defaultInputLimits, maxDepth: 8 });
  });

  it("names the configuration key of each limit that is not a positive integer", () => {
    expect(validateInputLimits({ maxBytes: 0, maxDepth: 2.5, maxFields: -1 })).toEqual([
      "max_bytes must be a positive integer (got 0)",
      "max_fields must be a positive integer (got -1)",
      "max_depth must be a positive integer (got 2.5)",
    ]);
    expect(() => resolveInputLimits({ maxStringLength: 0 })).toThrow(
      new RangeError("max_string_length must be a positive integer (got 0)"),
    );
  });
});

describe("decodeUtf8()", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);

  it("drops a leading byte order mark", () => {
    expect(decodeUtf8(bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d))).toEqual({ ok: true, text: "{}" });
  });

  it("names the offset and bytes of the first invalid sequence", () => {
    // A lone continuation byte, an overlong "/", a surrogate (ED A0 80), a truncated 4-byte form.
    expect(decodeUtf8(bytes(0x61, 0x80, 0x62))).toEqual({
      ok: false,
      offset: 1,
      bytes: "0x80 0x62",
    });
    expect(decodeUtf8(bytes(0x61, 0x62, 0xc0, 0xaf))).toEqual({
      ok: false,
      offset: 2,
      bytes: "0xC0 0xAF",
    });
    expect(decodeUtf8(bytes(0x22, 0xed, 0xa0, 0x80, 0x22))).toEqual({
      ok: false,
      offset: 1,
      bytes: "0xED 0xA0 0x80 0x22",
    });
    expect(decodeUtf8(bytes(0x5b, 0x5d, 0xf0, 0x9f, 0x98))).toEqual({
      ok: false,
      offset: 2,
      bytes: "0xF0 0x9F 0x98",
    });
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])(
    "finds an invalid offset exactly when a strict TextDecoder refuses the bytes",
    (input) => {
      let valid = true;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(input);
      } catch {
        valid = false;
      }
      expect(invalidUtf8Offset(input) === undefined).toBe(valid);
    },
  );

  test.prop([fc.string({ unit: "grapheme" })])("decodes what TextEncoder encodes", (text) => {
    expect(decodeUtf8(new TextEncoder().encode(text))).toEqual({
      ok: true,
      text: text.startsWith("\uFEFF") ? text.slice(1) : text,
    });
  });
});

describe("jsonErrorOffset()", () => {
  it("reports where a million unclosed brackets end, without using the call stack", () => {
    const text = "[".repeat(1_000_000);
    expect(jsonErrorOffset(text)).toBe(1_000_000);
    expect(jsonErrorOffset(`${"[".repeat(500_000)}${"]".repeat(500_000)}`)).toBeUndefined();
    // After the comma a key is due, and the text has ended.
    expect(jsonErrorOffset(`${'{"a":'.repeat(300_000)}1${"}".repeat(299_999)},`)).toBe(
      300_000 * 5 + 1 + 299_999 + 1,
    );
  });

  it("gives line and column of an offset", () => {
    expect(lineColumnAt("ab\ncd\ne", 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumnAt("ab", 99)).toEqual({ line: 1, column: 3 });
  });
});

describe("decodeJsonBytes()", () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it("accepts a byte order mark before the JSON", () => {
    expect(decodeJsonBytes("f.json", encode('\uFEFF{"a":1}'), defaultInputLimits)).toEqual({
      ok: true,
      value: { a: 1 },
    });
  });

  it("refuses, in order: size, UTF-8, syntax (escaping a NUL it quotes), value count", () => {
    const limits = { ...defaultInputLimits, maxBytes: 16, maxFields: 3 };
    expect(decodeJsonBytes("f.json", encode(`"${"x".repeat(20)}"`), limits)).toEqual({
      ok: false,
      error: new InvalidInput({
        message: "f.json: 22 bytes, larger than the limit of 16 bytes (max_bytes)",
        path: "f.json",
      }),
    });
    expect(bytesToText("f.json", new Uint8Array([0x5b, 0xff, 0x5d]), limits)).toEqual({
      ok: false,
      error: new InvalidInput({
        message: "f.json: byte 1: invalid UTF-8 (0xFF 0x5D)",
        path: "f.json: byte 1",
      }),
    });
    expect(decodeJsonBytes("f.json", new Uint8Array([0, 0, 0]), limits)).toEqual({
      ok: false,
      error: new InvalidInput({
        message: "f.json:1:1: invalid JSON: Unexpected token '\\u0000'",
        path: "f.json:1:1",
      }),
    });
    expect(decodeJsonBytes("f.json", encode("[1,[2,3]]"), limits)).toEqual({
      ok: false,
      error: new InvalidInput({
        message: "f.json: more than 3 values, above the limit (max_fields)",
        path: "f.json",
      }),
    });
    expect(decodeJsonBytes("f.json", encode("[1,[2]]"), limits)).toEqual({
      ok: true,
      value: [1, [2]],
    });
  });
});
