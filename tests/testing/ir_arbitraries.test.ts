import { describe, expect } from "vitest";
import { fc, test } from "@fast-check/vitest";
import {
  chunkSetSchema,
  documentSchema,
  embeddingBatchSchema,
  fieldValueSchema,
} from "../../stages/ir_schemas.ts";
import {
  chunkSetArbitrary,
  documentArbitrary,
  embeddingBatchArbitrary,
  fieldValueArbitrary,
  textArbitrary,
} from "../../testing/mod.ts";

// What the runner checkpoints is JSON: a generated value must come back from it unchanged.
const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

// PostgreSQL stores neither NUL nor lone surrogates in text or jsonb; JSON.stringify writes both
// (and only those, of what we generate) as \u escapes.
const storable = (value: unknown): boolean =>
  !/\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(JSON.stringify(value));

describe("documentArbitrary()", () => {
  test.prop([documentArbitrary({ source: "trials" })])(
    "generates documents the Parse schema accepts unchanged, with the kit's id scheme",
    (doc) => {
      expect(documentSchema.parse(doc)).toEqual(doc);
      expect(roundTrip(doc)).toEqual(doc);
      expect(storable(doc)).toBe(true);
      expect(doc.id).toMatch(/^trials:[A-Za-z0-9][A-Za-z0-9_-]*$/);
      doc.sections.forEach((s, i) => {
        expect(s.id).toBe(`${doc.id}:s${i}`);
        s.blocks.forEach((b, j) => expect(b.id).toBe(`${doc.id}:s${i}:b${j}`));
      });
    },
  );

  test.prop([documentArbitrary({ maxSections: 1, maxBlocks: 2 })])(
    "keeps within maxSections and maxBlocks",
    (doc) => {
      expect(doc.sections.length).toBeLessThanOrEqual(1);
      expect(doc.sections.every((s) => s.blocks.length <= 2)).toBe(true);
    },
  );
});

describe("chunkSetArbitrary()", () => {
  test.prop([chunkSetArbitrary({ docId: "notes:7", tenantId: "acme" })])(
    "generates chunk sets the Chunk schema accepts, offsets spanning each chunk's text",
    (set) => {
      expect(chunkSetSchema.parse(set)).toEqual(set);
      expect(roundTrip(set)).toEqual(set);
      expect(storable(set)).toBe(true);
      set.chunks.forEach((c, i) => {
        expect(c.chunkId).toBe(`notes:7:c${i}`);
        expect([c.docId, c.tenantId, c.end - c.start]).toEqual(["notes:7", "acme", c.text.length]);
      });
    },
  );
});

describe("embeddingBatchArbitrary()", () => {
  test.prop([embeddingBatchArbitrary({ dimensions: 5 })])(
    "generates batches the Embed schema accepts, every vector of the dimensions",
    (batch) => {
      expect(embeddingBatchSchema.parse(batch)).toEqual(batch);
      expect(roundTrip(batch)).toEqual(batch);
      expect(batch.vectors.every((v) => v.vector.length === 5)).toBe(true);
    },
  );

  test.prop([
    embeddingBatchArbitrary({ dimensions: 5 }).filter((b) => b.vectors.length > 0),
    fc.nat(4),
    fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, "1", null),
  ])(
    "the Embed schema refuses a vector with anything but a finite number, naming where",
    (batch, at, bad) => {
      const vector: unknown[] = [...batch.vectors[0].vector];
      vector[at] = bad;
      const refused = embeddingBatchSchema.safeParse({
        ...batch,
        vectors: [{ ...batch.vectors[0], vector }, ...batch.vectors.slice(1)],
      });
      expect(refused.success).toBe(false);
      expect(refused.error?.issues.map((i) => [i.path.join("."), i.message])).toEqual([[
        `vectors.0.vector.${at}`,
        `expected a finite number, got ${typeof bad === "number" ? bad : typeof bad}`,
      ]]);
    },
  );
});

describe("fieldValueArbitrary and textArbitrary()", () => {
  test.prop([fieldValueArbitrary])("generates metadata values that survive JSON", (value) => {
    expect(fieldValueSchema.parse(value)).toEqual(value);
    expect(roundTrip(value)).toEqual(value);
  });

  test.prop([textArbitrary({ maxSentences: 2 })])("generates non-empty storable text", (text) => {
    expect(text.length).toBeGreaterThan(0);
    expect(storable(text)).toBe(true);
  });

  test("textArbitrary({ allowEmpty: true }) may generate the empty text", () => {
    expect(fc.sample(textArbitrary({ allowEmpty: true }), { numRuns: 200, seed: 9 })).toContain(
      "",
    );
  });
});
