/**
 * The model behind the simulated vLLM server: the vectors it returns, how it counts tokens, and
 * how long a batch keeps its simulated GPU busy. Exported so that tests can compute the vector a
 * text must get and benchmarks the throughput the server cannot exceed.
 *
 * @module
 */

/**
 * How a simulated GPU spends its time: `requestCostMs + tokenCostMs × tokens` per batch, with up
 * to `maxConcurrentBatches` batches processed at once (the others queue, as vLLM queues requests).
 *
 * @category models
 */
export interface SimulatedCapacity {
  /**
   * Fixed milliseconds per request (scheduling, the forward pass's fixed overhead).
   * @default 8
   */
  readonly requestCostMs?: number;
  /**
   * Milliseconds per input token.
   * @default 0.01
   */
  readonly tokenCostMs?: number;
  /**
   * Batches processed at once.
   * @default 1
   */
  readonly maxConcurrentBatches?: number;
}

/**
 * The capacity of a simulated server, with every default filled in.
 *
 * @category models
 */
export interface CapacityModel {
  /** Fixed milliseconds per request. */
  readonly requestCostMs: number;
  /** Milliseconds per input token. */
  readonly tokenCostMs: number;
  /** Batches processed at once. */
  readonly maxConcurrentBatches: number;
  /** Milliseconds of GPU time a batch of texts with `tokens` tokens in all takes. */
  readonly batchCostMs: (tokens: number) => number;
  /**
   * The most texts per second the server can embed in batches of `batchSize` texts of
   * `tokensPerText` tokens each: every batch slot busy all the time.
   */
  readonly maxTextsPerSecond: (batchSize: number, tokensPerText: number) => number;
}

/**
 * The capacity model of a simulated server.
 *
 * @example
 * ```ts
 * import { capacityModel } from "./vllm_sim_model.ts";
 *
 * const capacity = capacityModel({ requestCostMs: 8, tokenCostMs: 0.01 });
 * console.log(capacity.maxTextsPerSecond(64, 50)); // 64 texts per 40 ms: 1600
 * ```
 *
 * @category constructors
 */
export const capacityModel = (options: SimulatedCapacity = {}): CapacityModel => {
  const requestCostMs = options.requestCostMs ?? 8;
  const tokenCostMs = options.tokenCostMs ?? 0.01;
  const maxConcurrentBatches = options.maxConcurrentBatches ?? 1;
  const batchCostMs = (tokens: number): number => requestCostMs + tokenCostMs * tokens;
  return {
    requestCostMs,
    tokenCostMs,
    maxConcurrentBatches,
    batchCostMs,
    maxTextsPerSecond: (batchSize, tokensPerText) =>
      (maxConcurrentBatches * batchSize * 1000) / batchCostMs(batchSize * tokensPerText),
  };
};

/**
 * The simulated tokenizer: one token per whitespace-separated word (at least one per text). Real
 * tokenizers cut words into sub-words and add special tokens; the simulation needs only a count
 * that grows with the text.
 *
 * @category constructors
 */
export const approximateTokens = (text: string): number =>
  Math.max(1, text.split(/\s+/).filter((word) => word !== "").length);

// FNV-1a over the UTF-16 code units: a stable 32-bit seed per text.
const seedOf = (text: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash || 1;
};

/**
 * The unit vector the simulated server returns for a text: `dimensions` pseudo-random values
 * seeded by the text (xorshift32 over an FNV-1a hash), scaled to length 1. The same text always
 * gets the same vector, and the first `d` values of a longer vector give the shorter one before
 * scaling (as a Matryoshka model's do).
 *
 * @example
 * ```ts
 * import { simulatedEmbedding } from "./vllm_sim_model.ts";
 *
 * const vector = simulatedEmbedding("aspirin reduces fever", 8);
 * console.log(vector.length); // 8
 * ```
 *
 * @category constructors
 */
export const simulatedEmbedding = (text: string, dimensions: number): Array<number> => {
  let state = seedOf(text);
  const values: Array<number> = [];
  for (let i = 0; i < dimensions; i += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    values.push(state / 0x80000000 - 1);
  }
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0)) || 1;
  return values.map((v) => v / norm);
};
