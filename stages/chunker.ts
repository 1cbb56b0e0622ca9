/**
 * The built-in sentence chunker. It follows the semantics of Haystack's `DocumentSplitter` with
 * `split_by: "sentence"`: a section's sentences are grouped into windows of `split_length`
 * sentences that advance by `split_length - split_overlap`, and a trailing window shorter than
 * `split_threshold` is merged into the chunk before it. Sentences keep their trailing whitespace,
 * so every chunk is an exact slice of its section's text and no text is lost or reordered.
 *
 * @example
 * ```ts
 * import { chunkDocument } from "./chunker.ts";
 * import type { Document } from "./ir.ts";
 *
 * const document: Document = {
 *   id: "openalex:W1",
 *   source: "openalex",
 *   title: "A study",
 *   sections: [{ id: "s0", title: "Abstract", blocks: [{ id: "b0", type: "text", text: "One. Two." }] }],
 *   metadata: {},
 *   provenance: { source: "openalex", location: { kind: "url", url: "https://example.org" }, parser: "x" },
 * };
 * const set = chunkDocument(document, "tenant-a", { splitLength: 1 });
 * console.log(set.chunks.map((chunk) => chunk.text)); // ["One. ", "Two."]
 * ```
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { defineStage, type StageDefinition } from "./contracts.ts";
import type { Chunk, ChunkSet, Document, FieldValue, Section } from "./ir.ts";
import { chunkSetSchema, documentSchema } from "./ir_schemas.ts";
import { optionsConfig } from "./stage_config.ts";
import { cutPoints } from "./_chunk_cuts.ts";

/**
 * How the chunker groups sentences. Names follow Haystack's `DocumentSplitter` parameters.
 *
 * @category models
 */
export interface ChunkerOptions {
  /**
   * Sentences per chunk (`split_length`).
   * @default 5
   */
  readonly splitLength?: number;
  /**
   * Sentences shared by consecutive chunks of a section (`split_overlap`); less than `splitLength`.
   * @default 0
   */
  readonly splitOverlap?: number;
  /**
   * A trailing window with fewer sentences than this is merged into the previous chunk
   * (`split_threshold`); at most `splitLength`.
   * @default 0
   */
  readonly splitThreshold?: number;
  /**
   * The locale whose sentence rules `Intl.Segmenter` applies.
   * @default "en"
   */
  readonly locale?: string;
  /**
   * The most characters (UTF-16 code units) in one chunk (`max_chunk_length`). A window of
   * sentences longer than this (one run-on "sentence" of a million characters, a table flattened
   * into one line) is cut into consecutive pieces, at whitespace where there is some in the second
   * half of a piece, so each piece is still an exact slice and no text is lost. Chunks are indexed
   * for full-text search, and PostgreSQL refuses a `tsvector` over 1 MB.
   * @default 8000
   */
  readonly maxChunkLength?: number;
}

/**
 * A sentence of a text as half-open offsets `[start, end)`, trailing whitespace included.
 *
 * @category models
 */
export interface SentenceSpan {
  /** Offset of the sentence's first character. */
  readonly start: number;
  /** Offset just past its trailing whitespace. */
  readonly end: number;
}

const defaults = {
  splitLength: 5,
  splitOverlap: 0,
  splitThreshold: 0,
  locale: "en",
  maxChunkLength: 8000,
} as const;

// Field by field so that an option present but `undefined` still gets its default.
const resolve = (options: ChunkerOptions): Required<ChunkerOptions> => ({
  splitLength: options.splitLength ?? defaults.splitLength,
  splitOverlap: options.splitOverlap ?? defaults.splitOverlap,
  splitThreshold: options.splitThreshold ?? defaults.splitThreshold,
  locale: options.locale ?? defaults.locale,
  maxChunkLength: options.maxChunkLength ?? defaults.maxChunkLength,
});

const minChunkLength = 16;

const isCount = (value: unknown, min: number): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= min;

const localeProblem = (locale: unknown): string | undefined => {
  if (typeof locale !== "string") return `locale must be a string (got ${String(locale)})`;
  try {
    new Intl.Segmenter(locale, { granularity: "sentence" });
    return undefined;
  } catch {
    return `locale is not a valid language tag (got ${JSON.stringify(locale)})`;
  }
};

/**
 * Checks chunker options and returns one message per problem (empty when valid). Messages name
 * the pipeline `config` keys (`split_length`, `split_overlap`, `split_threshold`, `locale`,
 * `max_chunk_length`).
 *
 * @example
 * ```ts
 * import { validateChunkerOptions } from "./chunker.ts";
 *
 * validateChunkerOptions({ splitLength: 3, splitOverlap: 3 });
 * // ["split_overlap must be less than split_length (got 3 >= 3)"]
 * ```
 *
 * @category constructors
 */
export const validateChunkerOptions = (options: ChunkerOptions): ReadonlyArray<string> => {
  const { splitLength, splitOverlap, splitThreshold, locale, maxChunkLength } = resolve(options);
  const problems: Array<string> = [];
  const lengthOk = isCount(splitLength, 1);
  if (!lengthOk) problems.push(`split_length must be a positive integer (got ${splitLength})`);
  if (!isCount(splitOverlap, 0)) {
    problems.push(`split_overlap must be a non-negative integer (got ${splitOverlap})`);
  } else if (lengthOk && splitOverlap >= splitLength) {
    problems.push(
      `split_overlap must be less than split_length (got ${splitOverlap} >= ${splitLength})`,
    );
  }
  if (!isCount(splitThreshold, 0)) {
    problems.push(`split_threshold must be a non-negative integer (got ${splitThreshold})`);
  } else if (lengthOk && splitThreshold > splitLength) {
    problems.push(
      `split_threshold must not exceed split_length (got ${splitThreshold} > ${splitLength})`,
    );
  }
  const bad = localeProblem(locale);
  if (bad !== undefined) problems.push(bad);
  // A piece must hold a surrogate pair and some text around it.
  if (!isCount(maxChunkLength, minChunkLength)) {
    problems.push(
      `max_chunk_length must be an integer >= ${minChunkLength} (got ${maxChunkLength})`,
    );
  }
  return problems;
};

/**
 * The text a section's chunk offsets refer to: its blocks' texts joined by a blank line.
 *
 * @category combinators
 */
export const sectionText = (section: Section): string =>
  section.blocks.map((block) => block.text).join("\n\n");

const hasContent = (text: string): boolean => /\S/u.test(text);

const sentenceSpansWith = (
  text: string,
  segmenter: Intl.Segmenter,
): ReadonlyArray<SentenceSpan> => {
  const spans: Array<SentenceSpan> = [];
  let leading: number | undefined;
  for (const { segment, index } of segmenter.segment(text)) {
    const end = index + segment.length;
    const last = spans.length - 1;
    // ICU yields blank segments for line breaks; they belong to a sentence, not count as one.
    if (hasContent(segment)) {
      spans.push({ start: leading ?? index, end });
      leading = undefined;
    } else if (last >= 0) {
      spans[last] = { start: spans[last].start, end };
    } else {
      leading ??= index;
    }
  }
  return spans;
};

/**
 * Splits a text into sentences with `Intl.Segmenter`. Blank stretches join the sentence before
 * them (leading ones the sentence after), so the spans tile every text that has content.
 *
 * @throws {RangeError} when `locale` is not a valid language tag.
 * @category combinators
 */
export const splitSentences = (
  text: string,
  locale: string = defaults.locale,
): ReadonlyArray<SentenceSpan> =>
  sentenceSpansWith(text, new Intl.Segmenter(locale, { granularity: "sentence" }));

/** Sentence index ranges `[first, last]`, both inclusive, one per chunk. */
type Window = readonly [number, number];

const planWindows = (
  count: number,
  length: number,
  overlap: number,
  threshold: number,
): ReadonlyArray<Window> => {
  const windows: Array<Window> = [];
  for (let first = 0; first < count; first += length - overlap) {
    const last = Math.min(first + length, count) - 1;
    const previous = windows.length - 1;
    // Extending the previous window (rather than appending text as Haystack does) keeps every
    // chunk a single slice of its section, so overlapping sentences are not repeated.
    if (last - first + 1 < threshold && previous >= 0) {
      windows[previous] = [windows[previous][0], last];
    } else {
      windows.push([first, last]);
    }
    if (last === count - 1) break;
  }
  return windows;
};

const blockPages = (section: Section): ReadonlyArray<readonly [number, number, number]> => {
  const ranges: Array<readonly [number, number, number]> = [];
  let offset = 0;
  for (const block of section.blocks) {
    const end = offset + block.text.length;
    if (block.page !== undefined && end > offset) ranges.push([offset, end, block.page]);
    offset = end + 2;
  }
  return ranges;
};

interface SectionPiece {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly metadata: Readonly<Record<string, FieldValue>>;
}

const chunkSection = (
  section: Section,
  segmenter: Intl.Segmenter,
  options: Required<ChunkerOptions>,
): ReadonlyArray<SectionPiece> => {
  const text = sectionText(section);
  const spans = sentenceSpansWith(text, segmenter);
  const pages = blockPages(section);
  const windows = planWindows(
    spans.length,
    options.splitLength,
    options.splitOverlap,
    options.splitThreshold,
  );
  const pieces: Array<SectionPiece> = [];
  for (const [first, last] of windows) {
    const windowStart = spans[first].start;
    const windowEnd = spans[last].end;
    const cuts = cutPoints(text, windowStart, windowEnd, options.maxChunkLength);
    const bounds = [windowStart, ...cuts, windowEnd];
    for (let part = 0; part + 1 < bounds.length; part++) {
      const start = bounds[part];
      const end = bounds[part + 1];
      const chunkText = text.slice(start, end);
      if (!hasContent(chunkText)) continue;
      const page = pages.find(([from, to]) => to > start && from < end)?.[2];
      const metadata: Record<string, FieldValue> = { section_title: section.title };
      if (page !== undefined) metadata.page = page;
      metadata.split_id = pieces.length;
      metadata.sentence_count = last - first + 1;
      // A window cut for length says which piece of it this is.
      if (cuts.length > 0) {
        metadata.part = part + 1;
        metadata.parts = cuts.length + 1;
      }
      pieces.push({ text: chunkText, start, end, metadata });
    }
  }
  return pieces;
};

/**
 * Chunks every section of a document separately; chunk ids run `{docId}:chunk:0…` across
 * sections in document order. Pure and deterministic.
 *
 * @throws {RangeError} when the options are invalid (see {@link validateChunkerOptions}).
 * @category constructors
 */
export const chunkDocument = (
  document: Document,
  tenantId: string,
  options: ChunkerOptions = {},
): ChunkSet => {
  const problems = validateChunkerOptions(options);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  const resolved = resolve(options);
  const segmenter = new Intl.Segmenter(resolved.locale, { granularity: "sentence" });
  const chunks: Array<Chunk> = [];
  for (const section of document.sections) {
    for (const piece of chunkSection(section, segmenter, resolved)) {
      chunks.push({
        chunkId: `${document.id}:chunk:${chunks.length}`,
        docId: document.id,
        tenantId,
        text: piece.text,
        sectionId: section.id,
        start: piece.start,
        end: piece.end,
        metadata: piece.metadata,
      });
    }
  }
  return { docId: document.id, chunks };
};

/**
 * The Chunk stage's `config:` block: `split_length`, `split_overlap`, `split_threshold` and
 * `locale`, each optional (see {@link ChunkerOptions} for the defaults).
 *
 * @category schemas
 */
export const chunkerConfig: z.ZodType<ChunkerOptions> = optionsConfig(
  {
    split_length: z.number().int().min(1).optional(),
    split_overlap: z.number().int().min(0).optional(),
    split_threshold: z.number().int().min(0).optional(),
    locale: z.string().optional(),
    max_chunk_length: z.number().int().optional(),
  },
  (c) => ({
    ...(c.split_length === undefined ? {} : { splitLength: c.split_length }),
    ...(c.split_overlap === undefined ? {} : { splitOverlap: c.split_overlap }),
    ...(c.split_threshold === undefined ? {} : { splitThreshold: c.split_threshold }),
    ...(c.locale === undefined ? {} : { locale: c.locale }),
    ...(c.max_chunk_length === undefined ? {} : { maxChunkLength: c.max_chunk_length }),
  }),
  validateChunkerOptions,
);

/**
 * The built-in Chunk stage: cuts the parsed document into sentence windows for the attempt's
 * tenant, as its `config:` says.
 *
 * @example
 * ```ts
 * import { chunkStage } from "./chunker.ts";
 *
 * console.log(chunkStage.implementation); // "sentence-chunker"
 * ```
 *
 * @category constructors
 */
export const chunkStage: StageDefinition<
  ChunkSet,
  ChunkerOptions,
  { readonly Parse: typeof documentSchema }
> = defineStage({
  type: "Chunk",
  implementation: "sentence-chunker",
  description: "cuts each section into windows of sentences",
  input: { Parse: documentSchema },
  output: chunkSetSchema,
  config: chunkerConfig,
  run: (ctx, { Parse: document }, options) =>
    Effect.sync(() => chunkDocument(document, ctx.tenantId, options)),
  outputCount: (output) => output.chunks.length,
});
