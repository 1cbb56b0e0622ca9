/**
 * The vLLM adapter: an Embed stage over vLLM's OpenAI-compatible `/v1/embeddings`, with GPU
 * failures classified into `GpuOutOfMemory` and `GpuUnavailable` (never retried, never replaced by
 * a CPU embedder), and a `/health` check for deciding when the server serves again.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { checkVllmHealth, makeVllmEmbedStage } from "./mod.ts";
 *
 * const baseUrl = "http://gpu-1:8000";
 * const embed = makeVllmEmbedStage({ baseUrl, model: "BAAI/bge-m3", maxBatchSize: 32 });
 * const ready = checkVllmHealth(baseUrl).pipe(
 *   Effect.as(true),
 *   Effect.catchTag("GpuUnavailable", () => Effect.succeed(false)),
 * );
 * console.log(embed.type); // "Embed"
 * ```
 *
 * @module
 */
export * from "./vllm_embedder.ts";
