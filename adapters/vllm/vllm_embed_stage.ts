/**
 * The configured vLLM Embed stage (`embed: { impl: vllm, url, model, … }` in pipeline YAML or
 * `lineage-kit.yaml`): every job of the process configured with the same server, model and
 * `dimensions` embeds through one shared batcher, so chunks of concurrent documents fill the same
 * requests.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { Permanent } from "../../stages/errors.ts";
import type { EmbeddingBatch } from "../../stages/ir.ts";
import { chunkSetSchema, embeddingBatchSchema } from "../../stages/ir_schemas.ts";
import { dependencyOf } from "../http/fetch_json.ts";
import { embeddingsUrl } from "./vllm_urls.ts";
import { embedWith, type VllmEmbedderOptions } from "./vllm_embedder.ts";
import { sharedVllmBatcher } from "./shared_batcher.ts";

/**
 * The `config:` of the configured vLLM Embed stage, decoded.
 *
 * @category models
 */
export interface VllmStageConfig {
  /** The vLLM server, e.g. `http://gpu-1:8000`. */
  readonly url: string;
  /** The served model name. */
  readonly model: string;
  /** Vector length to ask for (Matryoshka models); the model's own when absent. */
  readonly dimensions?: number;
  /** Texts per request. @default 64 */
  readonly maxBatchSize?: number;
  /** Requests in flight at once. @default 4 */
  readonly maxConcurrentRequests?: number;
  /** Milliseconds a partial batch waits for more texts. @default 5 */
  readonly lingerMs?: number;
  /** The environment variable holding the API key (`vllm serve --api-key`). */
  readonly apiKeyEnv?: string;
  /** Milliseconds to wait for each request. @default 60000 */
  readonly timeoutMs?: number;
  /** Longest chunk text sent, in characters; longer chunks fail before any request. */
  readonly maxInputChars?: number;
}

const httpUrl = z.string().refine((u) => /^https?:\/\/[^/?#]+/i.test(u) && URL.canParse(u), {
  message: "must be an http(s) URL",
});
const positive = z.number().int().min(1);

/**
 * The configured vLLM Embed stage's `config:` block: `url` and `model` (required),
 * `dimensions`, `max_batch_size`, `max_concurrent_requests`, `linger_ms`, `api_key_env`,
 * `timeout_ms`, `max_input_chars`.
 *
 * @category schemas
 */
export const vllmStageConfig: z.ZodType<VllmStageConfig> = z.strictObject({
  url: httpUrl,
  model: z.string().min(1),
  dimensions: positive.optional(),
  max_batch_size: positive.optional(),
  max_concurrent_requests: positive.optional(),
  linger_ms: z.number().int().min(0).optional(),
  api_key_env: z.string().min(1).optional(),
  timeout_ms: positive.optional(),
  max_input_chars: positive.optional(),
}).transform((c): VllmStageConfig => ({
  url: c.url.replace(/\/+$/, ""),
  model: c.model,
  ...(c.dimensions === undefined ? {} : { dimensions: c.dimensions }),
  ...(c.max_batch_size === undefined ? {} : { maxBatchSize: c.max_batch_size }),
  ...(c.max_concurrent_requests === undefined
    ? {}
    : { maxConcurrentRequests: c.max_concurrent_requests }),
  ...(c.linger_ms === undefined ? {} : { lingerMs: c.linger_ms }),
  ...(c.api_key_env === undefined ? {} : { apiKeyEnv: c.api_key_env }),
  ...(c.timeout_ms === undefined ? {} : { timeoutMs: c.timeout_ms }),
  ...(c.max_input_chars === undefined ? {} : { maxInputChars: c.max_input_chars }),
})) as unknown as z.ZodType<VllmStageConfig>;

/**
 * The embedder options a stage's configuration asks for, with the API key read from the
 * environment variable it names (a named variable that is not set is `Permanent`).
 *
 * @category constructors
 */
export const vllmOptionsFrom = (
  config: VllmStageConfig,
  env: { get(key: string): string | undefined } = Deno.env,
): Effect.Effect<VllmEmbedderOptions, Permanent> => {
  const apiKey = config.apiKeyEnv === undefined ? undefined : env.get(config.apiKeyEnv);
  if (config.apiKeyEnv !== undefined && (apiKey ?? "") === "") {
    return Effect.fail(
      new Permanent({
        message: `vLLM API key: environment variable ${config.apiKeyEnv} is not set`,
      }),
    );
  }
  return Effect.succeed({
    baseUrl: config.url,
    model: config.model,
    ...(config.dimensions === undefined ? {} : { dimensions: config.dimensions }),
    ...(config.maxBatchSize === undefined ? {} : { maxBatchSize: config.maxBatchSize }),
    ...(config.maxConcurrentRequests === undefined
      ? {}
      : { maxConcurrentRequests: config.maxConcurrentRequests }),
    ...(config.lingerMs === undefined ? {} : { lingerMs: config.lingerMs }),
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
    ...(config.maxInputChars === undefined ? {} : { maxInputChars: config.maxInputChars }),
  });
};

/**
 * The configured vLLM Embed stage (`impl: vllm`). GPU failures fail the job at once; there is no
 * fallback to another embedder.
 *
 * @category constructors
 */
export const vllmEmbedStage: StageDefinition<
  EmbeddingBatch,
  VllmStageConfig,
  { readonly Chunk: typeof chunkSetSchema }
> = defineStage({
  type: "Embed",
  implementation: "vllm",
  description: "vLLM embeddings through its OpenAI-compatible API, batched across documents",
  input: { Chunk: chunkSetSchema },
  output: embeddingBatchSchema,
  config: vllmStageConfig,
  usesGpu: true,
  // The server answers /health and lists the model, or the run does not start.
  check: (config) =>
    Effect.flatMap(vllmOptionsFrom(config), (options) =>
      // Loaded here: the health check brings the `openai` client library, which pipelines
      // without a vLLM stage never need.
      Effect.flatMap(Effect.promise(() => import("./vllm_health.ts")), ({ checkVllmHealth }) =>
        checkVllmHealth(options.baseUrl, {
          model: options.model,
          ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
        }))),
  dependency: (_ctx, _inputs, config) => dependencyOf(embeddingsUrl(config.url)),
  run: (_ctx, { Chunk: { docId, chunks } }, config) =>
    Effect.flatMap(
      vllmOptionsFrom(config),
      (options) => embedWith(sharedVllmBatcher(options), docId, chunks),
    ),
  outputCount: (output) => output.vectors.length,
});
