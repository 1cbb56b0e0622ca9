/**
 * What the simulated vLLM server reads and answers: the embeddings request schema and the
 * response and error bodies, shaped as vLLM's OpenAI-compatible server shapes them.
 *
 * @module
 */
import { z } from "zod";
import { simulatedEmbedding } from "./vllm_sim_model.ts";

/** The shape of every error body: vLLM's current nested one or the older flat one. */
export type ErrorShape = "nested" | "flat";

// Other fields vLLM accepts (`user`, `truncate_prompt_tokens`, …) are let through and ignored.
/** A `POST /v1/embeddings` body with text inputs. */
export const embeddingsRequest = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().positive().optional(),
});

/** An error answer in vLLM's `ErrorResponse` fields, nested under `error` or flat. */
export const errorAnswer = (
  shape: ErrorShape,
  status: number,
  type: string,
  message: string,
  param: string | null = null,
): Response => {
  const error = { message, type, param, code: status };
  const body = shape === "nested" ? { error } : { object: "error", ...error };
  return Response.json(body, { status });
};

/** vLLM's message for an input over the context (`vllm/renderers/params.py`). */
export const tooLongMessage = (tokens: number, max: number): string =>
  `You passed ${tokens} input tokens and requested 0 output tokens. However, the model's ` +
  `context length is only ${max} tokens, resulting in a maximum input length of ${max} tokens. ` +
  "Please reduce the length of the input prompt.";

/** A CUDA out-of-memory message as PyTorch words it. */
export const outOfMemoryMessage =
  "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. " +
  "GPU 0 has a total capacity of 11.53 GiB of which 187.75 MiB is free.";

const base64Floats = (vector: ReadonlyArray<number>): string => {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

/** vLLM's `EmbeddingResponse` for texts, with float lists or base64 float32 vectors. */
export const embeddingsAnswer = (
  request: { readonly model: string; readonly encoding_format?: "float" | "base64" },
  texts: ReadonlyArray<string>,
  dimensions: number,
  tokens: number,
): Response =>
  Response.json({
    id: `embd-${crypto.randomUUID()}`,
    object: "list",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    data: texts.map((text, index) => {
      const vector = simulatedEmbedding(text, dimensions);
      const embedding = request.encoding_format === "base64" ? base64Floats(vector) : vector;
      return { index, object: "embedding", embedding };
    }),
    usage: {
      prompt_tokens: tokens,
      total_tokens: tokens,
      completion_tokens: 0,
      prompt_tokens_details: null,
    },
  });

/** vLLM's `/v1/models` answer. */
export const modelsAnswer = (models: ReadonlyArray<string>, maxModelLen: number): Response =>
  Response.json({
    object: "list",
    data: models.map((id) => ({
      id,
      object: "model",
      created: Math.floor(Date.now() / 1000),
      owned_by: "vllm",
      root: id,
      parent: null,
      max_model_len: maxModelLen,
      permission: [],
    })),
  });
