import { Effect } from "effect";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  chunkDocument,
  chunkerConfig,
  chunkStage,
  splitSentences,
  validateChunkerOptions,
} from "../../stages/chunker.ts";
import type { StageContext } from "../../stages/context.ts";
import { runStageOnce } from "../../testing/stage_runner.ts";
import type { Block, Chunk, ChunkSet, Document, Section } from "../../stages/ir.ts";

const docId = "openalex:W42";

const makeDocument = (sections: ReadonlyArray<Section>): Document => ({
  id: docId,
  source: "openalex",
  title: "A study",
  sections,
  metadata: {},
  provenance: {
    source: "openalex",
    location: { kind: "url", url: "https://api.openalex.org/works/W42" },
    parser: "test",
  },
});

const textOf = (section: Section): string => section.blocks.map((block) => block.text).join("\n\n");

const sentenceArb = fc.oneof(
  fc.constantFrom(
    "Dr. Smith enrolled 40 patients.",
    "The U.S. trial ended early.",
    "Doses, e.g. 5 mg, were given.",
    "Mr. and Mrs. Jones et al. agreed.",
    "Mean dose was 3.5 mg/kg vs. 2.1 mg/kg.",
    "Was it safe?",
    "Yes!",
    "日本語の文。",
    "次の文です。",
    "Ça va très bien.",
    "Ünïcödé résumé naïve.",
    "Emoji 👩‍🔬 test.",
    "no terminal punctuation",
    "…",
  ),
  fc.string({ unit: "grapheme", maxLength: 30 }),
);

const blockTextArb = fc.oneof(
  fc.constantFrom("", "   ", "\n"),
  fc.array(fc.tuple(sentenceArb, fc.constantFrom(" ", "  ", "\n", "", "\t", " \n ")), {
    maxLength: 8,
  }).map((pairs) => pairs.map(([sentence, separator]) => sentence + separator).join("")),
);

const blockArb = fc.record({
  text: blockTextArb,
  page: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
});

const documentArb = fc.array(
  fc.record({ title: fc.string({ maxLength: 10 }), blocks: fc.array(blockArb, { maxLength: 4 }) }),
  { maxLength: 4 },
).map((sections) =>
  makeDocument(sections.map((section, i) => ({
    id: `s${i}`,
    title: section.title,
    blocks: section.blocks.map(({ text, page }, j): Block => ({
      id: `b${i}-${j}`,
      type: "text",
      text,
      ...(page === undefined ? {} : { page }),
    })),
  })))
);

const optionsArb = fc.integer({ min: 1, max: 7 }).chain((splitLength) =>
  fc.record({
    splitLength: fc.constant(splitLength),
    splitOverlap: fc.integer({ min: 0, max: splitLength - 1 }),
    splitThreshold: fc.integer({ min: 0, max: splitLength }),
  })
);

interface SectionChunks {
  readonly text: string;
  readonly chunks: ReadonlyArray<Chunk>;
}

const bySection = (document: Document, set: ChunkSet): ReadonlyArray<SectionChunks> =>
  document.sections.map((section) => ({
    text: textOf(section),
    chunks: set.chunks.filter((chunk) => chunk.sectionId === section.id),
  }));

const rawSegments = (text: string): ReadonlyArray<Intl.SegmentData> => [
  ...new Intl.Segmenter("en", { granularity: "sentence" }).segment(text),
];

// Counted straight from the segmenter: a sentence is a segment with something besides whitespace.
const sentencesWithin = (text: string, start: number, end: number): number =>
  rawSegments(text).filter(({ segment, index }) =>
    /\S/u.test(segment) && index >= start && index + segment.length <= end
  ).length;

const rawBoundaries = (text: string): ReadonlySet<number> =>
  new Set([...rawSegments(text).map((s) => s.index), text.length]);

describe("chunkDocument() properties", () => {
  test.prop([documentArb, optionsArb])(
    "chunkDocument() rebuilds each section's text from its chunks with overlap removed",
    (document, options) => {
      for (const { text, chunks } of bySection(document, chunkDocument(document, "t", options))) {
        if (!/\S/u.test(text)) {
          expect(chunks).toEqual([]);
          continue;
        }
        expect(chunks[0].start).toBe(0);
        expect(chunks[chunks.length - 1].end).toBe(text.length);
        let rebuilt = chunks[0].text;
        for (let i = 1; i < chunks.length; i++) {
          expect(chunks[i].start).toBeGreaterThan(chunks[i - 1].start);
          expect(chunks[i].start).toBeLessThanOrEqual(chunks[i - 1].end);
          expect(chunks[i].end).toBeGreaterThan(chunks[i - 1].end);
          rebuilt += chunks[i].text.slice(chunks[i - 1].end - chunks[i].start);
        }
        expect(rebuilt).toBe(text);
      }
    },
  );

  test.prop([documentArb, optionsArb])(
    "chunkDocument() gives chunks that are exact slices of one section, cut at sentence breaks",
    (document, options) => {
      const set = chunkDocument(document, "tenant-a", options);
      const sectionIds = document.sections.map((section) => section.id);
      for (const chunk of set.chunks) {
        const section = document.sections[sectionIds.indexOf(chunk.sectionId)];
        const text = textOf(section);
        const breaks = rawBoundaries(text);
        expect(chunk.start).toBeLessThan(chunk.end);
        expect(chunk.end).toBeLessThanOrEqual(text.length);
        expect(chunk.text).toBe(text.slice(chunk.start, chunk.end));
        expect(chunk.start === 0 || breaks.has(chunk.start)).toBe(true);
        expect(breaks.has(chunk.end)).toBe(true);
        expect(chunk.docId).toBe(docId);
        expect(chunk.tenantId).toBe("tenant-a");
        expect(chunk.metadata.section_title).toBe(section.title);
        expect(chunk.metadata.sentence_count).toBe(sentencesWithin(text, chunk.start, chunk.end));
      }
    },
  );

  test.prop([documentArb, optionsArb])(
    "chunkDocument() numbers chunk ids globally and split ids per section",
    (document, options) => {
      const set = chunkDocument(document, "t", options);
      expect(set.docId).toBe(docId);
      expect(set.chunks.map((chunk) => chunk.chunkId)).toEqual(
        set.chunks.map((_, i) => `${docId}:chunk:${i}`),
      );
      const order = document.sections.map((section) => section.id);
      const positions = set.chunks.map((chunk) => order.indexOf(chunk.sectionId));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      for (const { chunks } of bySection(document, set)) {
        expect(chunks.map((chunk) => chunk.metadata.split_id)).toEqual(chunks.map((_, i) => i));
      }
    },
  );

  test.prop([documentArb, optionsArb])(
    "chunkDocument() keeps split_length sentences per chunk except a threshold merge at the end",
    (document, options) => {
      const { splitLength, splitOverlap, splitThreshold } = options;
      for (const { chunks } of bySection(document, chunkDocument(document, "t", options))) {
        const counts = chunks.map((chunk) => chunk.metadata.sentence_count as number);
        expect(counts.slice(0, -1).every((count) => count === splitLength)).toBe(true);
        const last = counts[counts.length - 1];
        if (last !== undefined && last > splitLength) {
          expect(chunks.length).toBeGreaterThan(0);
          expect(last - (splitLength - splitOverlap)).toBeLessThan(splitThreshold);
        }
      }
    },
  );

  test.prop([documentArb, optionsArb])(
    "chunkDocument() makes consecutive chunks of a section share exactly split_overlap sentences",
    (document, options) => {
      for (const { text, chunks } of bySection(document, chunkDocument(document, "t", options))) {
        for (let i = 1; i < chunks.length; i++) {
          const shared = sentencesWithin(text, chunks[i].start, chunks[i - 1].end);
          expect(shared).toBe(options.splitOverlap);
          if (options.splitOverlap === 0) expect(chunks[i].start).toBe(chunks[i - 1].end);
        }
      }
    },
  );

  test.prop([documentArb, optionsArb])(
    "chunkDocument() is deterministic",
    (document, options) => {
      const first = chunkDocument(document, "t", options);
      expect(chunkDocument(structuredClone(document), "t", { ...options })).toEqual(first);
      expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    },
  );
});

const alphabet = [
  "Alpha one.",
  "Bravo two.",
  "Charlie three.",
  "Delta four.",
  "Echo five.",
  "Foxtrot six.",
  "Golf seven.",
  "Hotel eight.",
  "India nine.",
  "Juliet ten.",
  "Kilo eleven.",
  "Lima twelve.",
];

const twelve = makeDocument([{
  id: "results",
  title: "Results",
  blocks: [{ id: "b0", type: "text", text: alphabet.join(" "), page: 3 }],
}]);

const expectedChunk = (
  i: number,
  text: string,
  start: number,
  end: number,
  sentenceCount: number,
): Chunk => ({
  chunkId: `${docId}:chunk:${i}`,
  docId,
  tenantId: "tenant-a",
  text,
  sectionId: "results",
  start,
  end,
  metadata: { section_title: "Results", page: 3, split_id: i, sentence_count: sentenceCount },
});

describe("chunkDocument() examples", () => {
  it("chunkDocument() splits 12 sentences by 5 with no overlap", () => {
    expect(chunkDocument(twelve, "tenant-a", { splitLength: 5 })).toEqual({
      docId,
      chunks: [
        expectedChunk(0, "Alpha one. Bravo two. Charlie three. Delta four. Echo five. ", 0, 60, 5),
        expectedChunk(
          1,
          "Foxtrot six. Golf seven. Hotel eight. India nine. Juliet ten. ",
          60,
          122,
          5,
        ),
        expectedChunk(2, "Kilo eleven. Lima twelve.", 122, 147, 2),
      ],
    });
  });

  it("chunkDocument() splits 12 sentences by 5 with an overlap of 2", () => {
    expect(chunkDocument(twelve, "tenant-a", { splitLength: 5, splitOverlap: 2 })).toEqual({
      docId,
      chunks: [
        expectedChunk(0, "Alpha one. Bravo two. Charlie three. Delta four. Echo five. ", 0, 60, 5),
        expectedChunk(
          1,
          "Delta four. Echo five. Foxtrot six. Golf seven. Hotel eight. ",
          37,
          98,
          5,
        ),
        expectedChunk(
          2,
          "Golf seven. Hotel eight. India nine. Juliet ten. Kilo eleven. ",
          73,
          135,
          5,
        ),
        expectedChunk(3, "Juliet ten. Kilo eleven. Lima twelve.", 110, 147, 3),
      ],
    });
  });

  it("chunkDocument() merges a trailing window below split_threshold into the chunk before", () => {
    expect(chunkDocument(twelve, "tenant-a", { splitLength: 5, splitThreshold: 3 })).toEqual({
      docId,
      chunks: [
        expectedChunk(0, "Alpha one. Bravo two. Charlie three. Delta four. Echo five. ", 0, 60, 5),
        expectedChunk(
          1,
          "Foxtrot six. Golf seven. Hotel eight. India nine. Juliet ten. Kilo eleven. Lima twelve.",
          60,
          147,
          7,
        ),
      ],
    });
  });

  it("chunkDocument() skips blank sections, keeps line breaks and takes the first known page", () => {
    const document = makeDocument([
      { id: "empty", title: "Empty", blocks: [] },
      { id: "blank", title: "Blank", blocks: [{ id: "b0", type: "text", text: " \n " }] },
      {
        id: "methods",
        title: "Methods",
        blocks: [
          { id: "b1", type: "heading", text: "" },
          { id: "b2", type: "text", text: "We enrolled 40 adults. Dr. Lee led it.", page: 2 },
          { id: "b3", type: "text", text: "Follow-up lasted a year.", page: 3 },
        ],
      },
    ]);
    const metadata = (split_id: number, page: number, sentence_count: number) => ({
      section_title: "Methods",
      page,
      split_id,
      sentence_count,
    });
    expect(chunkDocument(document, "tenant-b", { splitLength: 2 }).chunks).toEqual([
      {
        chunkId: `${docId}:chunk:0`,
        docId,
        tenantId: "tenant-b",
        text: "\n\nWe enrolled 40 adults. Dr. ",
        sectionId: "methods",
        start: 0,
        end: 29,
        metadata: metadata(0, 2, 2),
      },
      {
        chunkId: `${docId}:chunk:1`,
        docId,
        tenantId: "tenant-b",
        text: "Lee led it.\n\nFollow-up lasted a year.",
        sectionId: "methods",
        start: 29,
        end: 66,
        metadata: metadata(1, 2, 2),
      },
    ]);
  });
});

describe("splitSentences()", () => {
  it("splitSentences() joins blank segments to a neighbouring sentence so spans tile the text", () => {
    const text = "\n\nFirst one.  Second!\n\n\nThird? ";
    expect(splitSentences(text)).toEqual([
      { start: 0, end: 14 },
      { start: 14, end: 24 },
      { start: 24, end: 31 },
    ]);
    expect(splitSentences(" \n ")).toEqual([]);
  });
});

describe("validateChunkerOptions()", () => {
  it("validateChunkerOptions() accepts the defaults", () => {
    expect(validateChunkerOptions({})).toEqual([]);
  });

  it("validateChunkerOptions() reports every problem with its config key", () => {
    expect(validateChunkerOptions({ splitLength: 0, splitOverlap: -1, splitThreshold: 1.5 }))
      .toEqual([
        "split_length must be a positive integer (got 0)",
        "split_overlap must be a non-negative integer (got -1)",
        "split_threshold must be a non-negative integer (got 1.5)",
      ]);
    expect(validateChunkerOptions({ splitLength: 3, splitOverlap: 3, splitThreshold: 4 }))
      .toEqual([
        "split_overlap must be less than split_length (got 3 >= 3)",
        "split_threshold must not exceed split_length (got 4 > 3)",
      ]);
    expect(validateChunkerOptions({ locale: "not a tag!" })).toEqual([
      'locale is not a valid language tag (got "not a tag!")',
    ]);
  });
});

const context: StageContext = {
  tenantId: "tenant-c",
  jobId: "job-1",
  docId,
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1.0.0" },
  stage: "chunk",
  attempt: 1,
  metadata: {},
};

const request = {
  source: "openalex",
  docKey: "W42",
  location: { kind: "url" as const, url: "https://api.openalex.org/works/W42" },
};

describe("chunkStage", () => {
  it("chunkStage chunks the parsed document for the attempt's tenant, as its config says", () => {
    const output = Effect.runSync(
      runStageOnce(chunkStage, {
        request,
        inputs: { Parse: twelve },
        config: { split_length: 5, split_overlap: 2 },
        context,
      }),
    );
    expect(chunkStage.type).toBe("Chunk");
    expect(chunkStage.implementation).toBe("sentence-chunker");
    expect(output).toEqual(chunkDocument(twelve, "tenant-c", { splitLength: 5, splitOverlap: 2 }));
    expect(chunkStage.outputCount(output)).toBe(4);
  });

  it("chunkerConfig refuses split_overlap not below split_length, at that key", () => {
    const decoded = chunkerConfig.safeParse({ split_length: 2, split_overlap: 2 });
    expect(decoded.success).toBe(false);
    expect(decoded.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [["split_overlap"], "must be less than split_length (got 2 >= 2)"],
    ]);
  });

  it("chunkerConfig refuses unknown keys and decodes the snake_case ones", () => {
    expect(chunkerConfig.safeParse({ split_lenght: 3 }).success).toBe(false);
    expect(chunkerConfig.parse({ split_length: 3, locale: "de" })).toEqual({
      splitLength: 3,
      locale: "de",
    });
  });
});
