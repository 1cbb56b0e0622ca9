/**
 * The vLLM adapter: an Embed stage over vLLM's OpenAI-compatible `/v1/embeddings` (through the
 * `openai` client), a batcher that coalesces the chunks of concurrent documents into full
 * requests, GPU failures classified into `GpuOutOfMemory` and `GpuUnavailable` (never retried,
 * never replaced by a CPU embedder), a process-wide registry that gives every stage of one server,
 * model and `dimensions` the same batcher, and a readiness check (`/health` and `/v1/models`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { checkVllmHealth, makeVllmEmbedStage, makeVllmEmbeddingBatcher } from "./mod.ts";
 *
 * const options = { baseUrl: "http://gpu-1:8000", model: "BAAI/bge-m3", maxBatchSize: 64 };
 * const program = Effect.scoped(Effect.gen(function* () {
 *   yield* checkVllmHealth(options.baseUrl, { model: options.model });
 *   const batcher = yield* makeVllmEmbeddingBatcher(options);
 *   const embed = makeVllmEmbedStage(batcher);
 *   return embed.type; // "Embed"
 * }));
 * ```
 *
 * @module
 */
export * from "./embedding_batcher.ts";
export * from "./embedding_input.ts";
export * from "./embeddings_request.ts";
export * from "./sdk_outcome.ts";
export * from "./shared_batcher.ts";
export * from "./vllm_client.ts";
export * from "./vllm_embedder.ts";
export * from "./vllm_errors.ts";
export * from "./vllm_health.ts";
export * from "./vllm_embed_stage.ts";
