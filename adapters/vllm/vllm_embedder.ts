/**
 * The Embed stage backed by a vLLM server's OpenAI-compatible `/v1/embeddings` endpoint, reached
 * through the `openai` client. A document's chunks go through an {@link EmbeddingBatcher}, which
 * coalesces them with the chunks of every other document embedding at the same time into requests
 * of up to `maxBatchSize` texts; each response is checked with zod before any vector is used.
 *
 * GPU failures fail the job at once and are never retried or answered by another embedder (see
 * `vllm_errors.ts` for how failures are read). A document with a chunk longer than the model's
 * context fails alone with `InvalidInput` naming the chunk, even when its chunks shared a request
 * with other documents.
 *
 * @module
 */
import { Effect, Scope } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { chunkSetSchema, embeddingBatchSchema } from "../../stages/ir_schemas.ts";
import { InvalidInput, Permanent, type StageError } from "../../stages/errors.ts";
import type { Chunk, EmbeddingBatch } from "../../stages/ir.ts";
import { dependencyOf } from "../http/fetch_json.ts";
import {
  type BatchingOptions,
  type EmbeddingBatcher,
  makeEmbeddingBatcher,
  validateBatchingOptions,
} from "./embedding_batcher.ts";
import type { EmbedRequest } from "./embedding_input.ts";
import type { VllmConnection } from "./vllm_client.ts";
import { embeddingsUrl } from "./vllm_urls.ts";

/**
 * How the vLLM Embed stage reaches its server, shapes its requests and batches them.
 *
 * @category models
 */
export interface VllmEmbedderOptions extends VllmConnection, BatchingOptions {
  /** The served model name; recorded as the batch's model. */
  readonly model: string;
  /** Asks the model for vectors of this length (Matryoshka models); the model's own when absent. */
  readonly dimensions?: number;
  /** Longest chunk text, in characters, sent to the server; longer chunks fail before any request. */
  readonly maxInputChars?: number;
}

/**
 * A batcher bound to one vLLM server and model, with the options it was built from.
 *
 * @category services
 */
export interface VllmEmbeddingBatcher extends EmbeddingBatcher {
  /** The server, model and batching the batcher uses. */
  readonly options: VllmEmbedderOptions;
}

const positiveInteger = (name: string, value: number | undefined): ReadonlyArray<string> =>
  value === undefined || (Number.isInteger(value) && value >= 1)
    ? []
    : [`${name} must be a positive integer (got ${value})`];

/**
 * Checks vLLM embedder options and returns one message per problem (empty when valid).
 *
 * @category constructors
 */
export const validateVllmEmbedderOptions = (
  options: VllmEmbedderOptions,
): ReadonlyArray<string> => {
  const problems: Array<string> = [];
  if (!/^https?:\/\/[^/?#]+/i.test(options.baseUrl ?? "") || !URL.canParse(options.baseUrl)) {
    problems.push(`baseUrl must be an http(s) URL (got ${JSON.stringify(options.baseUrl)})`);
  }
  if (typeof options.model !== "string" || options.model.trim() === "") {
    problems.push("model must be a non-empty string");
  }
  problems.push(
    ...positiveInteger("dimensions", options.dimensions),
    ...positiveInteger("maxInputChars", options.maxInputChars),
    ...positiveInteger("timeoutMs", options.timeoutMs),
    ...validateBatchingOptions(options),
  );
  return problems;
};

const invalidOptions = (problems: ReadonlyArray<string>): Permanent =>
  new Permanent({ message: `invalid vLLM embedder options: ${problems.join("; ")}` });

/**
 * A batcher for one vLLM server and model, its requests living in the current scope. Build one per
 * process and server, and share it between stages with {@link makeVllmEmbedStage}. Invalid options
 * fail every `embed` with `Permanent` before any request.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeVllmEmbedStage, makeVllmEmbeddingBatcher } from "./vllm_embedder.ts";
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const batcher = yield* makeVllmEmbeddingBatcher({
 *     baseUrl: "http://gpu-1:8000",
 *     model: "BAAI/bge-m3",
 *     maxBatchSize: 128,
 *   });
 *   return makeVllmEmbedStage(batcher);
 * }));
 * ```
 *
 * @category constructors
 */
export const makeVllmEmbeddingBatcher = (
  options: VllmEmbedderOptions,
): Effect.Effect<VllmEmbeddingBatcher, never, Scope.Scope> => {
  const problems = validateVllmEmbedderOptions(options);
  if (problems.length > 0) {
    return Effect.succeed({ options, embed: () => Effect.fail(invalidOptions(problems)) });
  }
  const send = lazyEmbedRequest(options);
  return Effect.map(makeEmbeddingBatcher({ ...options, send }), (batcher) => ({
    options,
    embed: batcher.embed,
  }));
};

/**
 * Sends through an `openai` client made on the first batch: the client library is loaded only
 * by runs that embed with vLLM.
 */
const lazyEmbedRequest = (options: VllmEmbedderOptions): EmbedRequest => {
  let request: Promise<EmbedRequest> | undefined;
  const load = async (): Promise<EmbedRequest> => {
    const [{ makeEmbedRequest }, { makeVllmClient }] = await Promise.all([
      import("./embeddings_request.ts"),
      import("./vllm_client.ts"),
    ]);
    return makeEmbedRequest(makeVllmClient(options), options);
  };
  return (inputs) =>
    Effect.flatMap(Effect.promise(() => request ??= load()), (send) => send(inputs));
};

const characterCount = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

const checkLengths = (
  chunks: ReadonlyArray<Chunk>,
  maxInputChars: number | undefined,
): Effect.Effect<void, InvalidInput> => {
  if (maxInputChars === undefined) return Effect.void;
  for (const chunk of chunks) {
    const length = characterCount(chunk.text);
    if (length > maxInputChars) {
      const message =
        `chunk ${chunk.chunkId} has ${length} characters, more than maxInputChars ${maxInputChars}`;
      return Effect.fail(new InvalidInput({ message, path: chunk.chunkId }));
    }
  }
  return Effect.void;
};

const embedChunks = (
  batcher: VllmEmbeddingBatcher,
  docId: string,
  chunks: ReadonlyArray<Chunk>,
): Effect.Effect<EmbeddingBatch, StageError> => {
  const { options } = batcher;
  return checkLengths(chunks, options.maxInputChars).pipe(
    Effect.andThen(batcher.embed(chunks.map((chunk) => ({ id: chunk.chunkId, text: chunk.text })))),
    Effect.flatMap((vectors) => {
      // Each request is checked on its own; a document's chunks may span several requests.
      const dimensions = vectors[0]?.length ?? options.dimensions ?? 0;
      const odd = vectors.findIndex((vector) => vector.length !== dimensions);
      if (odd >= 0) {
        const message = `vLLM ${options.model} returned vectors of ${dimensions} and ${
          vectors[odd].length
        } dimensions for one document`;
        return Effect.fail(new Permanent({ message }));
      }
      return Effect.succeed<EmbeddingBatch>({
        docId,
        model: options.model,
        dimensions,
        vectors: chunks.map((chunk, i) => ({ chunkId: chunk.chunkId, vector: vectors[i] })),
      });
    }),
  );
};

// A scope that is never closed: the stage's own batcher lives as long as the stage value, which a
// registry keeps for the whole process.
const ownBatcher = (options: VllmEmbedderOptions): VllmEmbeddingBatcher =>
  Effect.runSync(Scope.provide(makeVllmEmbeddingBatcher(options), Scope.makeUnsafe()));

/**
 * The vLLM Embed stage: embeds the upstream chunks through `/v1/embeddings`, batched across
 * documents. It has no fallback: when the server fails, the stage fails. Invalid options fail every
 * run with `Permanent`.
 *
 * Given options, the stage builds its own batcher, shared by every run of this stage value (so by
 * every job of a process whose registry holds it); its requests are never interrupted by a scope.
 * Given a batcher from {@link makeVllmEmbeddingBatcher}, it shares that one, whose scope the caller
 * closes on shutdown; use this when several stage values call the same server and model. Given
 * `sharedVllmBatcher(options)` (`shared_batcher.ts`), it shares the process's batcher for that
 * server, model and `dimensions`.
 *
 * @example
 * ```ts
 * import { makeVllmEmbedStage } from "./vllm_embedder.ts";
 *
 * const stage = makeVllmEmbedStage({ baseUrl: "http://gpu-1:8000", model: "BAAI/bge-m3" });
 * console.log(stage.implementation); // "vllm:BAAI/bge-m3"
 * ```
 *
 * @category constructors
 */
export const makeVllmEmbedStage = (
  source: VllmEmbedderOptions | VllmEmbeddingBatcher,
): StageDefinition<
  EmbeddingBatch,
  Record<string, never>,
  { readonly Chunk: typeof chunkSetSchema }
> => {
  const batcher = "embed" in source ? source : ownBatcher(source);
  const { options } = batcher;
  const problems = validateVllmEmbedderOptions(options);
  return defineStage({
    type: "Embed",
    implementation: "vllm",
    description: `vLLM embeddings (${options.model}), batched across documents`,
    input: { Chunk: chunkSetSchema },
    output: embeddingBatchSchema,
    usesGpu: true,
    dependency: () => dependencyOf(embeddingsUrl(options.baseUrl)),
    run: (_ctx, { Chunk: { docId, chunks } }) => {
      if (problems.length > 0) return Effect.fail(invalidOptions(problems));
      return embedChunks(batcher, docId, chunks);
    },
    outputCount: (output) => output.vectors.length,
  });
};

/**
 * Embeds a document's chunks through a batcher (as the vLLM Embed stage does), checking that
 * every vector has the same length.
 *
 * @category combinators
 */
export const embedWith = (
  batcher: VllmEmbeddingBatcher,
  docId: string,
  chunks: ReadonlyArray<Chunk>,
): Effect.Effect<EmbeddingBatch, StageError> => embedChunks(batcher, docId, chunks);
