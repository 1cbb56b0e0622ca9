import { Effect } from "effect";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  cosineSimilarity,
  embedChunks,
  embedText,
  hashingEmbedderConfig,
  hashingEmbedStage,
  hashingModel,
  murmur3Hash32,
  validateHashingEmbedderOptions,
} from "../../stages/hashing_embedder.ts";
import type { StageContext } from "../../stages/context.ts";
import { runStageOnce } from "../../testing/stage_runner.ts";
import type { ChunkSet } from "../../stages/ir.ts";

const norm = (vector: ReadonlyArray<number>): number =>
  Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

const nonZero = (vector: ReadonlyArray<number>): ReadonlyArray<readonly [number, number]> =>
  vector.flatMap((value, i) => (value === 0 ? [] : [[i, value] as const]));

const textArb = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.array(fc.constantFrom("aspirin", "fever", "Ünïcödé", "日本語", "3.5", "mg", "!", " "), {
    maxLength: 20,
  }).map((words) => words.join(" ")),
);

describe("murmur3Hash32()", () => {
  it("murmur3Hash32() matches the published MurmurHash3 x86_32 test vectors", () => {
    expect([
      murmur3Hash32(""),
      murmur3Hash32("", 1),
      murmur3Hash32("abc"),
      murmur3Hash32("hello"),
      murmur3Hash32("aaaa", 0x9747b28c),
      murmur3Hash32("The quick brown fox jumps over the lazy dog"),
    ]).toEqual([0, 0x514e28b7, 0xb3dd93fa, 0x248bfa47, 0x5a97808a, 0x2e4ff723]);
  });

  // The reference: the algorithm over a fresh array of the text's UTF-8 bytes.
  const reference = (text: string, seed: number): number => {
    const bytes = new TextEncoder().encode(text);
    const mix = (k: number) => {
      const s = Math.imul(k, 0xcc9e2d51);
      return Math.imul((s << 15) | (s >>> 17), 0x1b873593);
    };
    const tail = bytes.length & ~3;
    let h = seed | 0;
    for (let i = 0; i < tail; i += 4) {
      h ^= mix(bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
      h = (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
    }
    let k = 0;
    for (let i = bytes.length - 1; i >= tail; i--) k = (k << 8) | bytes[i];
    if (bytes.length > tail) h ^= mix(k);
    h ^= bytes.length;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };

  it("murmur3Hash32() hashes any text, long or short, in any order, as the reference does", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.oneof(fc.string(), fc.string({ unit: "binary", maxLength: 600 })), fc.nat()),
        ),
        (cases) => {
          for (const [text, seed] of cases) {
            expect(murmur3Hash32(text, seed)).toBe(reference(text, seed));
          }
        },
      ),
    );
  });
});

describe("embedText()", () => {
  it("embedText() pins the buckets and signs of a fixed input", () => {
    const vector = embedText("Aspirin reduces fever in adults.");
    const c = 0.377964;
    expect(vector.slice(0, 40)).toEqual([...new Array(38).fill(0), c, 0]);
    expect(nonZero(vector)).toEqual([
      [38, c],
      [53, -c],
      [62, -c],
      [140, c],
      [151, -c],
      [201, c],
      [238, c],
    ]);
    expect(embedText("Aspirin reduces fever in adults.", { dimensions: 8 })).toEqual([
      0,
      0.447214,
      0,
      0,
      0.447214,
      -0.447214,
      0.447214,
      -0.447214,
    ]);
  });

  it("embedText() normalises case and compatibility forms before hashing", () => {
    expect(embedText("Ünïcödé ＡＢＣ ﬁ", { dimensions: 16 })).toEqual(
      embedText("ünïcödé abc fi", { dimensions: 16 }),
    );
  });

  it("embedText() weighs a repeated feature by 1 + ln(count)", () => {
    // `w:fever` is seen twice and `b:fever fever` once; they land in different buckets.
    const heavy = 1 + Math.log(2);
    const length = Math.hypot(heavy, 1);
    const magnitudes = nonZero(embedText("fever fever")).map(([, value]) => Math.abs(value));
    expect([...magnitudes].sort((a, b) => a - b)).toEqual([
      Math.round((1 / length) * 1e6) / 1e6,
      Math.round((heavy / length) * 1e6) / 1e6,
    ]);
  });

  it("embedText() hashes character trigrams only when asked", () => {
    const plain = embedText("aspirin", { dimensions: 64 });
    const withTrigrams = embedText("aspirin", { dimensions: 64, characterTrigrams: true });
    expect(nonZero(plain)).toHaveLength(1);
    expect(nonZero(withTrigrams).length).toBeGreaterThan(1);
  });

  it("embedText() gives the zero vector for text without letters or digits", () => {
    expect(embedText("... !? —", { dimensions: 4 })).toEqual([0, 0, 0, 0]);
    expect(embedText("", { dimensions: 4 })).toEqual([0, 0, 0, 0]);
  });

  it("embedText() scores a paraphrase above an unrelated text", () => {
    const query = embedText("Aspirin reduces fever in adults with influenza.");
    const paraphrase = embedText("In adults with influenza, aspirin reduces fever.");
    const unrelated = embedText("The stock market closed higher on Tuesday after strong earnings.");
    expect(cosineSimilarity(query, paraphrase)).toBeCloseTo(0.909091, 6);
    expect(cosineSimilarity(query, unrelated)).toBeLessThan(0.1);
  });

  test.prop([textArb, fc.integer({ min: 1, max: 512 }), fc.boolean()])(
    "embedText() is deterministic, has the asked length and unit norm or zero",
    (text, dimensions, characterTrigrams) => {
      const options = { dimensions, characterTrigrams };
      const vector = embedText(text, options);
      expect(embedText(text, { ...options })).toEqual(vector);
      expect(vector).toHaveLength(dimensions);
      const length = norm(vector);
      if (length !== 0) expect(Math.abs(length - 1)).toBeLessThan(1e-5);
      expect(vector.every((value) => Object.is(value, Math.round(value * 1e6) / 1e6 + 0)))
        .toBe(true);
    },
  );
});

describe("cosineSimilarity()", () => {
  it("cosineSimilarity() is 1 for equal directions, 0 with a zero vector, -1 for opposites", () => {
    expect(cosineSimilarity([1, 2, 2], [2, 4, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([1, 2, 2], [0, 0, 0])).toBe(0);
    expect(cosineSimilarity([1, 0], [-3, 0])).toBe(-1);
    expect(() => cosineSimilarity([1], [1, 2])).toThrow(
      new RangeError("vectors differ in length (1 and 2)"),
    );
  });
});

const chunks: ChunkSet = {
  docId: "openalex:W42",
  chunks: ["Aspirin reduces fever.", "Nothing here!"].map((text, i) => ({
    chunkId: `openalex:W42:chunk:${i}`,
    docId: "openalex:W42",
    tenantId: "tenant-a",
    text,
    sectionId: "s0",
    start: 0,
    end: text.length,
    metadata: {},
  })),
};

describe("embedChunks()", () => {
  it("embedChunks() embeds every chunk in order under the feature-hashing model", () => {
    expect(embedChunks(chunks, { dimensions: 32 })).toEqual({
      docId: "openalex:W42",
      model: "feature-hashing-v1",
      dimensions: 32,
      vectors: [
        {
          chunkId: "openalex:W42:chunk:0",
          vector: embedText("Aspirin reduces fever.", { dimensions: 32 }),
        },
        {
          chunkId: "openalex:W42:chunk:1",
          vector: embedText("Nothing here!", { dimensions: 32 }),
        },
      ],
    });
    expect(hashingModel).toBe("feature-hashing-v1");
    expect(embedChunks(chunks, { characterTrigrams: true }).model).toBe("feature-hashing-v1+char3");
  });
});

describe("validateHashingEmbedderOptions()", () => {
  it("validateHashingEmbedderOptions() reports out-of-range dimensions", () => {
    expect(validateHashingEmbedderOptions({})).toEqual([]);
    expect(validateHashingEmbedderOptions({ dimensions: 0 })).toEqual([
      "dimensions must be an integer from 1 to 65536 (got 0)",
    ]);
    expect(validateHashingEmbedderOptions({ dimensions: 12.5 })).toEqual([
      "dimensions must be an integer from 1 to 65536 (got 12.5)",
    ]);
  });
});

const context: StageContext = {
  tenantId: "tenant-a",
  jobId: "job-1",
  docId: "openalex:W42",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1.0.0" },
  stage: "embed",
  attempt: 1,
  metadata: {},
};

const request = {
  source: "openalex",
  docKey: "W42",
  location: { kind: "url" as const, url: "https://api.openalex.org/works/W42" },
};

describe("hashingEmbedStage", () => {
  it("hashingEmbedStage embeds the upstream chunks with its config's dimensions", () => {
    const output = Effect.runSync(
      runStageOnce(hashingEmbedStage, {
        request,
        inputs: { Chunk: chunks },
        config: { dimensions: 64 },
        context,
      }),
    );
    expect(hashingEmbedStage.type).toBe("Embed");
    expect(hashingEmbedStage.implementation).toBe("feature-hashing-v1");
    expect(output).toEqual(embedChunks(chunks, { dimensions: 64 }));
    expect(hashingEmbedStage.outputCount(output)).toBe(2);
  });

  it("hashingEmbedderConfig refuses invalid dimensions at that key", () => {
    const decoded = hashingEmbedderConfig.safeParse({ dimensions: -1 });
    expect(decoded.error?.issues.map((i) => i.path)).toEqual([["dimensions"]]);
    expect(hashingEmbedderConfig.parse({ character_trigrams: true })).toEqual({
      characterTrigrams: true,
    });
  });
});
