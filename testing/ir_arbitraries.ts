/**
 * fast-check arbitraries of the document IR, for property tests of stages that read `Parse`,
 * `Chunk` or `Embed` outputs. Every value they generate matches its zod schema in
 * `stages/ir_schemas.ts`, survives a JSON round trip and can be stored by PostgreSQL (no NUL, no
 * lone surrogate), so a stage fed with them through the runner sees exactly what was generated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { documentSchema } from "../stages/ir_schemas.ts";
 * import { documentArbitrary } from "./ir_arbitraries.ts";
 *
 * const [document] = fc.sample(documentArbitrary({ source: "notes" }), { numRuns: 1, seed: 7 });
 * assert.ok(documentSchema.safeParse(document).success);
 * ```
 *
 * @module
 */
import fc, { type Arbitrary } from "fast-check";
import type {
  Block,
  BlockType,
  Chunk,
  ChunkSet,
  Document,
  EmbeddingBatch,
  FieldValue,
} from "../stages/ir.ts";

// Words with letters outside ASCII too: sentence segmentation and hashing see real text.
const vocabulary: ReadonlyArray<string> = [
  "patients",
  "received",
  "placebo",
  "gefitinib",
  "the",
  "trial",
  "enrolled",
  "adults",
  "with",
  "β-blocker",
  "naïve",
  "cohort",
  "Phase",
  "II",
  "dose",
  "mg/kg",
  "e.g.",
  "Dr.",
  "3.5",
  "臨床試験",
  "résumé",
  "🙂",
];

const word: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...vocabulary) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9]{1,10}$/) },
);

/** One sentence: words and a terminator (sometimes none, as real text has). */
const sentence: Arbitrary<string> = fc.tuple(
  fc.array(word, { minLength: 1, maxLength: 8 }),
  fc.constantFrom(".", ".", "?", "!", ";", ""),
).map(([words, end]) => `${words.join(" ")}${end}`);

/** Options of {@link textArbitrary}. */
export interface TextArbitraryOptions {
  /** The most sentences in one text. @default 4 */
  readonly maxSentences?: number;
  /** Allow the empty text. @default false */
  readonly allowEmpty?: boolean;
}

/**
 * Prose-like text: sentences of words (some outside ASCII, some abbreviations with dots), joined by
 * spaces or line breaks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { textArbitrary } from "./ir_arbitraries.ts";
 *
 * const [text] = fc.sample(textArbitrary(), { numRuns: 1, seed: 1 });
 * assert.ok(text.length > 0);
 * ```
 *
 * @category testing
 */
export const textArbitrary = (options: TextArbitraryOptions = {}): Arbitrary<string> =>
  fc.tuple(
    fc.array(sentence, {
      minLength: options.allowEmpty === true ? 0 : 1,
      maxLength: options.maxSentences ?? 4,
    }),
    fc.constantFrom(" ", " ", "\n", "  "),
  ).map(([sentences, gap]) => sentences.join(gap));

const fieldKey: Arbitrary<string> = fc.stringMatching(/^[a-z][a-z_]{0,11}$/);

/**
 * A JSON value as documents and chunks keep it in `metadata` (finite numbers, printable text).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { fieldValueSchema } from "../stages/ir_schemas.ts";
 * import { fieldValueArbitrary } from "./ir_arbitraries.ts";
 *
 * const values = fc.sample(fieldValueArbitrary, { numRuns: 20, seed: 3 });
 * assert.ok(values.every((v) => fieldValueSchema.safeParse(v).success));
 * ```
 *
 * @category testing
 */
export const fieldValueArbitrary: Arbitrary<FieldValue> = fc.jsonValue({ maxDepth: 2 }).map(
  // fast-check may generate -0, which JSON writes as 0: generate what a round trip gives back. It
  // may also generate `__proto__` keys, which schemas drop (prototype pollution): leave them out.
  (value) =>
    JSON.parse(
      JSON.stringify(value),
      (key, v) => key === "__proto__" ? undefined : v,
    ) as FieldValue,
);

const metadataArbitrary: Arbitrary<Readonly<Record<string, FieldValue>>> = fc.dictionary(
  fieldKey,
  fieldValueArbitrary,
  { maxKeys: 4, noNullPrototype: true },
);

const blockTypes: ReadonlyArray<BlockType> = [
  "text",
  "heading",
  "table",
  "equation",
  "figure",
  "list",
];

/** Options of {@link documentArbitrary}. */
export interface DocumentArbitraryOptions {
  /** The documents' source (`Document.source`, the prefix of their ids). @default "notes" */
  readonly source?: string;
  /** The most sections in one document. @default 3 */
  readonly maxSections?: number;
  /** The most blocks in one section. @default 4 */
  readonly maxBlocks?: number;
  /** The most sentences in one block. @default 4 */
  readonly maxSentences?: number;
}

/**
 * Parsed documents (`Parse` output) with the kit's id scheme: `{source}:{key}`, sections
 * `{docId}:s{i}`, blocks `{docId}:s{i}:b{j}`; blocks of every type, some with a page number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { documentArbitrary } from "./ir_arbitraries.ts";
 *
 * const [document] = fc.sample(documentArbitrary({ source: "trials" }), { numRuns: 1, seed: 2 });
 * assert.ok(document.id.startsWith("trials:"));
 * ```
 *
 * @category testing
 */
export const documentArbitrary = (
  options: DocumentArbitraryOptions = {},
): Arbitrary<Document> => {
  const source = options.source ?? "notes";
  const block = fc.record({
    type: fc.constantFrom(...blockTypes),
    text: textArbitrary({ maxSentences: options.maxSentences ?? 4, allowEmpty: true }),
    page: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  });
  const section = fc.record({
    title: textArbitrary({ maxSentences: 1, allowEmpty: true }),
    blocks: fc.array(block, { maxLength: options.maxBlocks ?? 4 }),
  });
  return fc.record({
    key: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$/),
    title: textArbitrary({ maxSentences: 1 }),
    sections: fc.array(section, { maxLength: options.maxSections ?? 3 }),
    metadata: metadataArbitrary,
  }).map(({ key, title, sections, metadata }): Document => {
    const id = `${source}:${key}`;
    return {
      id,
      source,
      title,
      sections: sections.map((s, i) => ({
        id: `${id}:s${i}`,
        title: s.title,
        blocks: s.blocks.map((b, j): Block => ({
          id: `${id}:s${i}:b${j}`,
          type: b.type,
          text: b.text,
          ...(b.page === undefined ? {} : { page: b.page }),
        })),
      })),
      metadata,
      provenance: { source, location: { kind: "inline", record: {} }, parser: "arbitrary" },
    };
  });
};

/** Options of {@link chunkSetArbitrary}. */
export interface ChunkSetArbitraryOptions {
  /** The document the chunks belong to. @default generated `notes:{key}` ids */
  readonly docId?: string;
  /** The tenant on every chunk. @default "test" */
  readonly tenantId?: string;
  /** The most chunks in one set. @default 6 */
  readonly maxChunks?: number;
}

/**
 * Chunk sets (`Chunk` output): chunks `{docId}:c{i}` of prose-like text, each with the section it
 * was cut from and its character offsets there (`start` ≤ `end`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { chunkSetArbitrary } from "./ir_arbitraries.ts";
 *
 * const [set] = fc.sample(chunkSetArbitrary({ docId: "notes:1" }), { numRuns: 1, seed: 4 });
 * assert.ok(set.chunks.every((c) => c.chunkId.startsWith("notes:1:c")));
 * ```
 *
 * @category testing
 */
export const chunkSetArbitrary = (
  options: ChunkSetArbitraryOptions = {},
): Arbitrary<ChunkSet> => {
  const docId = options.docId === undefined
    ? fc.stringMatching(/^[A-Za-z0-9]{1,12}$/).map((key) => `notes:${key}`)
    : fc.constant(options.docId);
  const chunk = fc.record({
    text: textArbitrary({ maxSentences: 3 }),
    section: fc.nat({ max: 3 }),
    start: fc.nat({ max: 2_000 }),
    metadata: metadataArbitrary,
  });
  return fc.tuple(docId, fc.array(chunk, { maxLength: options.maxChunks ?? 6 })).map(
    ([id, chunks]): ChunkSet => ({
      docId: id,
      chunks: chunks.map((c, i): Chunk => ({
        chunkId: `${id}:c${i}`,
        docId: id,
        tenantId: options.tenantId ?? "test",
        text: c.text,
        sectionId: `${id}:s${c.section}`,
        start: c.start,
        end: c.start + c.text.length,
        metadata: c.metadata,
      })),
    }),
  );
};

/** Options of {@link embeddingBatchArbitrary}. */
export interface EmbeddingBatchArbitraryOptions {
  /** The vectors' length. @default 8 */
  readonly dimensions?: number;
  /** The most vectors in one batch. @default 6 */
  readonly maxVectors?: number;
}

/**
 * Embedding batches (`Embed` output): one vector of `dimensions` finite numbers per chunk id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { embeddingBatchArbitrary } from "./ir_arbitraries.ts";
 *
 * const [batch] = fc.sample(embeddingBatchArbitrary({ dimensions: 4 }), { numRuns: 1, seed: 5 });
 * assert.ok(batch.vectors.every((v) => v.vector.length === 4));
 * ```
 *
 * @category testing
 */
export const embeddingBatchArbitrary = (
  options: EmbeddingBatchArbitraryOptions = {},
): Arbitrary<EmbeddingBatch> => {
  const dimensions = options.dimensions ?? 8;
  const component = fc.double({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }).map(
    (x) => (Object.is(x, -0) ? 0 : x),
  );
  return fc.tuple(
    fc.stringMatching(/^[A-Za-z0-9]{1,12}$/).map((key) => `notes:${key}`),
    fc.array(fc.array(component, { minLength: dimensions, maxLength: dimensions }), {
      maxLength: options.maxVectors ?? 6,
    }),
  ).map(([docId, vectors]): EmbeddingBatch => ({
    docId,
    model: "arbitrary",
    dimensions,
    vectors: vectors.map((vector, i) => ({ chunkId: `${docId}:c${i}`, vector })),
  }));
};
