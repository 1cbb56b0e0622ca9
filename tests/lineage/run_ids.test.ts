import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  isUuidV7,
  randomUuidV7,
  runIdFor,
  staticUuidV7,
  uuidV7Timestamp,
} from "../../lineage/run_ids.ts";

const MAX_MS = 2 ** 48 - 1;
const input = {
  namespace: "lineage-kit",
  job: "trials.parse",
  document: "NCT01234567",
  attempt: 1,
  createdAt: new Date("2026-01-02T03:04:05.678Z"),
};

/** Version nibble (hex digit 13) and the two variant bits (top of hex digit 17). */
const bits = (id: string) => ({
  version: id[14],
  variant: Number.parseInt(id[19], 16) >> 2,
});

describe("staticUuidV7()", () => {
  it("matches a value computed independently from SHA-256", () => {
    // 2024-01-01T00:00:00Z = 0x018cc251f400 ms; sha256("") starts e3b0c442 98fc1c14 9afb…: the
    // first byte keeps its low nibble under version 7, the third its low 6 bits under the variant.
    expect(staticUuidV7(Date.UTC(2024, 0, 1), "")).toBe("018cc251-f400-73b0-8442-98fc1c149afb");
    expect(staticUuidV7(Date.UTC(2024, 0, 1), "ünïcode")).toBe(
      "018cc251-f400-78be-8967-e4de3eb29483",
    );
  });

  test.prop([fc.integer({ min: 0, max: MAX_MS }), fc.string()])(
    "sets version 7 and the RFC variant, and encodes the instant",
    (ms, data) => {
      const id = staticUuidV7(ms, data);
      expect(isUuidV7(id)).toBe(true);
      expect(bits(id)).toEqual({ version: "7", variant: 0b10 });
      expect(uuidV7Timestamp(id)).toBe(ms);
    },
  );

  test.prop([fc.integer({ min: 0, max: MAX_MS }), fc.string()])(
    "is deterministic and accepts a Date or milliseconds alike",
    (ms, data) => {
      expect(staticUuidV7(new Date(ms), data)).toBe(staticUuidV7(ms, data));
    },
  );

  test.prop([fc.uniqueArray(fc.string(), { minLength: 2, maxLength: 20 })])(
    "gives distinct ids for distinct data at the same instant",
    (data) => {
      const ids = data.map((d) => staticUuidV7(1_700_000_000_000, d));
      expect(new Set(ids).size).toBe(data.length);
    },
  );

  it("truncates sub-millisecond instants", () => {
    expect(staticUuidV7(1.9, "x")).toBe(staticUuidV7(1, "x"));
  });

  it("rejects instants outside the 48-bit millisecond range", () => {
    expect(() => staticUuidV7(-1, "x")).toThrow(
      new RangeError("UUIDv7 timestamp out of range: -1"),
    );
    expect(() => staticUuidV7(2 ** 48, "x")).toThrow(RangeError);
    expect(() => staticUuidV7(new Date(Number.NaN), "x")).toThrow(
      new RangeError("UUIDv7 timestamp out of range: Invalid Date"),
    );
  });
});

describe("runIdFor()", () => {
  it("is staticUuidV7 of the creation time and the JSON-encoded parts", () => {
    expect(runIdFor(input)).toBe(
      staticUuidV7(
        input.createdAt,
        JSON.stringify(["lineage-kit", "trials.parse", "NCT01234567", "1"]),
      ),
    );
    expect(uuidV7Timestamp(runIdFor(input))).toBe(input.createdAt.getTime());
  });

  it("treats a numeric and a string attempt alike", () => {
    expect(runIdFor({ ...input, attempt: "1" })).toBe(runIdFor(input));
  });

  it("changes with each part and cannot be confused by separators", () => {
    const ids = [
      runIdFor(input),
      runIdFor({ ...input, attempt: 2 }),
      runIdFor({ ...input, document: "NCT01234568" }),
      runIdFor({ ...input, job: "trials.embed" }),
      runIdFor({ ...input, namespace: "other" }),
      runIdFor({ ...input, createdAt: input.createdAt.getTime() + 1 }),
      runIdFor({ ...input, job: "a", document: "b.c" }),
      runIdFor({ ...input, job: "a.b", document: "c" }),
      runIdFor({ ...input, job: 'a","b', document: "c" }),
      runIdFor({ ...input, job: "a", document: 'b","c' }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives the same id in a second Deno process", async () => {
    const module = new URL("../../lineage/run_ids.ts", import.meta.url).href;
    const script = `import { runIdFor } from ${JSON.stringify(module)};
console.log(runIdFor({ namespace: "lineage-kit", job: "trials.parse", document: "NCT01234567",
  attempt: 1, createdAt: new Date("2026-01-02T03:04:05.678Z") }));`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "-q", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    expect(new TextDecoder().decode(output.stderr)).toBe("");
    expect(new TextDecoder().decode(output.stdout).trim()).toBe(runIdFor(input));
  });
});

describe("randomUuidV7()", () => {
  it("carries the given timestamp with version and variant set", () => {
    const id = randomUuidV7(new Date("2026-01-02T03:04:05.678Z"));
    expect(isUuidV7(id)).toBe(true);
    expect(uuidV7Timestamp(id)).toBe(Date.parse("2026-01-02T03:04:05.678Z"));
  });

  it("differs between calls at the same instant", () => {
    expect(randomUuidV7(0)).not.toBe(randomUuidV7(0));
  });
});

describe("isUuidV7()", () => {
  it("accepts v7 ids and rejects other versions, variants and shapes", () => {
    expect(
      [
        "01936893-9751-7a91-a2a0-a51101a3970c",
        "01936893-9751-7A91-A2A0-A51101A3970C",
        "41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7",
        "01936893-9751-7a91-c2a0-a51101a3970c",
        "0193689397517a91a2a0a51101a3970c",
        42,
      ].map(isUuidV7),
    ).toEqual([true, true, false, false, false, false]);
  });

  it("uuidV7Timestamp() returns undefined for a non-v7 id", () => {
    expect(uuidV7Timestamp("41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7")).toBeUndefined();
  });
});
