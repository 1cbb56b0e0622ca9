/**
 * The built-in embedder: deterministic feature hashing, not a neural model. Lineage records its
 * vectors as model `feature-hashing-v1` so they are never mistaken for a language model's.
 *
 * Text is normalised (NFKC, lower case) and split into runs of Unicode letters and digits. Its
 * features are word unigrams and word bigrams, optionally also character trigrams of each word.
 * Each feature is hashed with 32-bit MurmurHash3 (x86, seed 0) over its UTF-8 bytes: the hash
 * modulo `dimensions` picks the bucket and the hash's top bit the sign (the hashing trick, as in
 * scikit-learn's `HashingVectorizer`). A feature seen `n` times weighs `1 + ln n`. The vector is
 * L2-normalised and rounded to 6 decimals so JSON checkpoints are byte-stable.
 *
 * @example
 * ```ts
 * import { cosineSimilarity, embedText } from "./hashing_embedder.ts";
 *
 * const a = embedText("aspirin reduces fever");
 * const b = embedText("aspirin lowers fever");
 * console.log(a.length, cosineSimilarity(a, b) > 0); // 256 true
 * ```
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { defineStage, type StageDefinition } from "./contracts.ts";
import type { ChunkSet, EmbeddingBatch } from "./ir.ts";
import { chunkSetSchema, embeddingBatchSchema } from "./ir_schemas.ts";
import { optionsConfig } from "./stage_config.ts";

/**
 * How the hashing embedder builds vectors.
 *
 * @category models
 */
export interface HashingEmbedderOptions {
  /**
   * Vector length (number of hash buckets), an integer from 1 to 65536.
   * @default 256
   */
  readonly dimensions?: number;
  /**
   * Also hash character trigrams of each word (boundaries marked with `#`). Vectors made with and
   * without them are not comparable, so the model name says which was used.
   * @default false
   */
  readonly characterTrigrams?: boolean;
}

/**
 * The model name lineage records for vectors of the default feature set.
 *
 * @category models
 */
export const hashingModel = "feature-hashing-v1";

const maxDimensions = 65_536;
const defaultDimensions = 256;

/**
 * Checks hashing embedder options and returns one message per problem (empty when valid).
 *
 * @category constructors
 */
export const validateHashingEmbedderOptions = (
  options: HashingEmbedderOptions,
): ReadonlyArray<string> => {
  const problems: Array<string> = [];
  const dimensions = options.dimensions ?? defaultDimensions;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > maxDimensions) {
    problems.push(`dimensions must be an integer from 1 to ${maxDimensions} (got ${dimensions})`);
  }
  const trigrams = options.characterTrigrams ?? false;
  if (typeof trigrams !== "boolean") {
    problems.push(`characterTrigrams must be a boolean (got ${String(trigrams)})`);
  }
  return problems;
};

const modelName = (options: HashingEmbedderOptions): string =>
  options.characterTrigrams === true ? `${hashingModel}+char3` : hashingModel;

const encoder = new TextEncoder();
let scratch = new Uint8Array(256);

const mixBlock = (k: number): number => {
  const scrambled = Math.imul(k, 0xcc9e2d51);
  return Math.imul((scrambled << 15) | (scrambled >>> 17), 0x1b873593);
};

/**
 * 32-bit MurmurHash3 (x86 variant) of a string's UTF-8 bytes, as an unsigned integer. Exported so
 * that other languages can check they reproduce the embedder's buckets.
 *
 * @example
 * ```ts
 * import { murmur3Hash32 } from "./hashing_embedder.ts";
 *
 * console.log(murmur3Hash32("hello").toString(16)); // "248bfa47"
 * ```
 *
 * @category combinators
 */
export const murmur3Hash32 = (text: string, seed = 0): number => {
  // Encoded into one reused buffer: a feature is hashed per word, and an array allocated for each
  // was most of the embedder's time.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const length = encoder.encodeInto(text, scratch).written;
  const bytes = scratch;
  const tail = length & ~3;
  let h = seed | 0;
  for (let i = 0; i < tail; i += 4) {
    const k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    h ^= mixBlock(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let i = length - 1; i >= tail; i--) k = (k << 8) | bytes[i];
  if (length > tail) h ^= mixBlock(k);
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

const tokenize = (text: string): ReadonlyArray<string> =>
  text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

const characterTrigrams = (word: string): ReadonlyArray<string> => {
  const chars = Array.from(`#${word}#`);
  const grams: Array<string> = [];
  for (let i = 0; i + 3 <= chars.length; i++) grams.push(chars.slice(i, i + 3).join(""));
  return grams;
};

const countFeatures = (
  tokens: ReadonlyArray<string>,
  trigrams: boolean,
): ReadonlyMap<string, number> => {
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  tokens.forEach((token, i) => {
    add(`w:${token}`);
    if (i > 0) add(`b:${tokens[i - 1]} ${token}`);
    if (trigrams) characterTrigrams(token).forEach((gram) => add(`c:${gram}`));
  });
  return counts;
};

const roundComponent = (value: number): number => {
  const rounded = Math.round(value * 1e6) / 1e6;
  // `+ 0` turns -0 into 0 so equal vectors compare and serialise alike.
  return rounded + 0;
};

/**
 * Embeds one text as a plain `number[]` of length `dimensions` (plain numbers so the vector
 * serialises to JSON as an array); a text without letters or digits gives the zero vector.
 *
 * @throws {RangeError} when the options are invalid (see {@link validateHashingEmbedderOptions}).
 * @category constructors
 */
export const embedText = (text: string, options: HashingEmbedderOptions = {}): number[] => {
  const problems = validateHashingEmbedderOptions(options);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  const dimensions = options.dimensions ?? defaultDimensions;
  const vector = new Array<number>(dimensions).fill(0);
  const counts = countFeatures(tokenize(text), options.characterTrigrams ?? false);
  for (const [feature, count] of counts) {
    const hash = murmur3Hash32(feature);
    const sign = hash >>> 31 === 1 ? -1 : 1;
    vector[hash % dimensions] += sign * (1 + Math.log(count));
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector : vector.map((value) => roundComponent(value / norm));
};

/**
 * Embeds every chunk of a set, in chunk order.
 *
 * @throws {RangeError} when the options are invalid (see {@link validateHashingEmbedderOptions}).
 * @category constructors
 */
export const embedChunks = (
  chunks: ChunkSet,
  options: HashingEmbedderOptions = {},
): EmbeddingBatch => ({
  docId: chunks.docId,
  model: modelName(options),
  dimensions: options.dimensions ?? defaultDimensions,
  vectors: chunks.chunks.map((chunk) => ({
    chunkId: chunk.chunkId,
    vector: embedText(chunk.text, options),
  })),
});

/**
 * The hashing Embed stage's `config:` block: `dimensions` (1–65536, default 256) and
 * `character_trigrams` (default false).
 *
 * @category schemas
 */
export const hashingEmbedderConfig: z.ZodType<HashingEmbedderOptions> = optionsConfig(
  {
    dimensions: z.number().int().min(1).max(maxDimensions).optional(),
    character_trigrams: z.boolean().optional(),
  },
  (c) => ({
    ...(c.dimensions === undefined ? {} : { dimensions: c.dimensions }),
    ...(c.character_trigrams === undefined ? {} : { characterTrigrams: c.character_trigrams }),
  }),
);

/**
 * The built-in Embed stage: hashes the upstream chunks into feature vectors (a deterministic
 * hashing model, not a neural network; its model name says so).
 *
 * @example
 * ```ts
 * import { hashingEmbedStage } from "./hashing_embedder.ts";
 *
 * console.log(hashingEmbedStage.implementation); // "feature-hashing-v1"
 * ```
 *
 * @category constructors
 */
export const hashingEmbedStage: StageDefinition<
  EmbeddingBatch,
  HashingEmbedderOptions,
  { readonly Chunk: typeof chunkSetSchema }
> = defineStage({
  type: "Embed",
  implementation: hashingModel,
  description: "feature-hashing embedder (deterministic, no neural network)",
  input: { Chunk: chunkSetSchema },
  output: embeddingBatchSchema,
  config: hashingEmbedderConfig,
  run: (_ctx, { Chunk: chunks }, options) => Effect.sync(() => embedChunks(chunks, options)),
  outputCount: (output) => output.vectors.length,
});

/**
 * Cosine similarity of two vectors of equal length; 0 when either is the zero vector.
 *
 * @throws {RangeError} when the lengths differ.
 * @category combinators
 */
export const cosineSimilarity = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  if (a.length !== b.length) {
    throw new RangeError(`vectors differ in length (${a.length} and ${b.length})`);
  }
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
};
