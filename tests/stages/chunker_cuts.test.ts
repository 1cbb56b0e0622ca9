import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { chunkDocument, sectionText, validateChunkerOptions } from "../../stages/chunker.ts";
import type { Document } from "../../stages/ir.ts";

const documentOf = (text: string): Document => ({
  id: "openalex:W1",
  source: "openalex",
  title: "t",
  sections: [{
    id: "openalex:W1:s0",
    title: "Abstract",
    blocks: [{ id: "b0", type: "text", text }],
  }],
  metadata: {},
  provenance: { source: "openalex", location: { kind: "url", url: "https://x.org" }, parser: "t" },
});

describe("chunkDocument() with max_chunk_length", () => {
  it("cuts a run-on sentence at whitespace into exact slices of at most the limit", () => {
    const text = `${"word ".repeat(30)}end`;
    const set = chunkDocument(documentOf(text), "t", { maxChunkLength: 40 });
    expect(set.chunks.map((c) => [c.start, c.end, c.metadata.part, c.metadata.parts])).toEqual([
      [0, 40, 1, 4],
      [40, 80, 2, 4],
      [80, 120, 3, 4],
      [120, 153, 4, 4],
    ]);
    expect(set.chunks.map((c) => c.text).join("")).toBe(text);
  });

  it("never splits a surrogate pair", () => {
    const text = "😀".repeat(20);
    const set = chunkDocument(documentOf(text), "t", { maxChunkLength: 17 });
    expect(set.chunks.map((c) => c.text.length)).toEqual([16, 16, 8]);
  });

  it("refuses a limit too small to hold a character pair and its neighbours", () => {
    expect(validateChunkerOptions({ maxChunkLength: 8 })).toEqual([
      "max_chunk_length must be an integer >= 16 (got 8)",
    ]);
  });

  test.prop([
    fc.string({ unit: "grapheme", maxLength: 400 }),
    fc.integer({ min: 16, max: 120 }),
  ])("covers the section's text with exact slices no longer than the limit", (text, max) => {
    const document = documentOf(text);
    const { chunks } = chunkDocument(document, "t", { maxChunkLength: max });
    const section = sectionText(document.sections[0]);
    for (const chunk of chunks) {
      expect(chunk.text.length).toBeLessThanOrEqual(max);
      expect(section.slice(chunk.start, chunk.end)).toBe(chunk.text);
    }
    // Only blank stretches (a cut piece holding nothing but spaces) are left out.
    const bounds = [0, ...chunks.flatMap((c) => [c.start, c.end]), section.length];
    for (let i = 0; i < bounds.length; i += 2) {
      expect(section.slice(bounds[i], bounds[i + 1]).trim()).toBe("");
    }
  });
});
