/**
 * The Embed stage backed by a vLLM server's OpenAI-compatible `/v1/embeddings` endpoint. Chunks
 * are sent in chunk order, `maxBatchSize` texts per request, one request at a time; the response is
 * checked with zod before any vector is used.
 *
 * GPU failures fail the job at once and are never retried or answered by another embedder: a CUDA
 * out-of-memory error is `GpuOutOfMemory`; a dead engine (`EngineCore`, `CUDA error`, `CUBLAS`,
 * `NCCL` in a 5xx), a 503 or a server that cannot be reached is `GpuUnavailable`. An input longer
 * than the model's context is `InvalidInput` naming the chunk; a wrong model name is `Permanent`.
 * Both vLLM error bodies are read: `{"error":{message,type,param,code}}` and the older flat
 * `{"object":"error",message,type,param,code}`.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { chunkSetSchema, embeddingBatchSchema } from "../../stages/ir_schemas.ts";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  Permanent,
  type StageError,
} from "../../stages/errors.ts";
import type { Chunk, EmbeddingBatch } from "../../stages/ir.ts";
import { dependencyOf, fetchJson, fetchText } from "../http/fetch_json.ts";
import {
  describeNetworkError,
  describeOutcome,
  type HttpOutcome,
  parseRemoteError,
  redactUrl,
} from "../http/http_errors.ts";

/**
 * How the vLLM Embed stage reaches its server and shapes its requests.
 *
 * @category models
 */
export interface VllmEmbedderOptions {
  /** The server, e.g. `http://gpu-1:8000` (a trailing `/v1` is accepted). */
  readonly baseUrl: string;
  /** The served model name; recorded as the batch's model. */
  readonly model: string;
  /** Asks the model for vectors of this length (Matryoshka models); the model's own when absent. */
  readonly dimensions?: number;
  /**
   * Texts per request.
   * @default 64
   */
  readonly maxBatchSize?: number;
  /** Longest chunk text, in characters, sent to the server; longer chunks fail before any request. */
  readonly maxInputChars?: number;
  /** Sent as `Authorization: Bearer …` (vLLM `--api-key`). */
  readonly apiKey?: string;
  /**
   * Milliseconds to wait for each request.
   * @default 60000
   */
  readonly timeoutMs?: number;
  /**
   * The fetch to call; the global `fetch` at call time when absent.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
}

/**
 * Texts per request when `maxBatchSize` is not set.
 *
 * @category constructors
 */
export const defaultMaxBatchSize = 64;

const defaultTimeoutMs = 60_000;

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
    ...positiveInteger("maxBatchSize", options.maxBatchSize),
    ...positiveInteger("maxInputChars", options.maxInputChars),
    ...positiveInteger("timeoutMs", options.timeoutMs),
  );
  return problems;
};

const serverRoot = (baseUrl: string): string => baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");

/**
 * The embeddings endpoint of a vLLM server: `{baseUrl}/v1/embeddings`.
 *
 * @category combinators
 */
export const embeddingsUrl = (baseUrl: string): string => `${serverRoot(baseUrl)}/v1/embeddings`;

const outOfMemory = /CUDA out of memory|OutOfMemoryError/i;
const engineDead =
  /EngineCore|EngineDeadError|engine is already dead|CUDA error|CUBLAS|NCCL|Free memory on device/i;
const inputTooLong =
  /maximum context length|input tokens|input characters|maximum input length|reduce the length of the input/i;

const longestChunk = (chunks: ReadonlyArray<Chunk>): Chunk =>
  chunks.reduce((longest, chunk) => (chunk.text.length > longest.text.length ? chunk : longest));

const tooLong = (model: string, chunks: ReadonlyArray<Chunk>, remote: string): InvalidInput => {
  // vLLM does not say which input was too long; the longest text is the one that overflows.
  const chunk = longestChunk(chunks);
  const which = chunks.length > 1 ? ` (the longest of ${chunks.length} in the request)` : "";
  return new InvalidInput({
    message: `chunk ${chunk.chunkId} is too long for model ${model}${which}: ${remote}`,
    path: chunk.chunkId,
  });
};

/**
 * How vLLM's failures map to stage errors, for one request carrying `chunks`; `undefined` leaves
 * the outcome to the generic HTTP classification (429, 502, 504, timeouts, other 5xx).
 *
 * @category errors
 */
export const classifyVllmOutcome = (
  outcome: HttpOutcome,
  model: string,
  chunks: ReadonlyArray<Chunk>,
): StageError | undefined => {
  const message = describeOutcome(outcome);
  if (outcome.kind === "network") {
    return describeNetworkError(outcome.cause).unreachable
      ? new GpuUnavailable({ message })
      : undefined;
  }
  if (outcome.kind !== "status") return undefined;
  const { status, text } = outcome;
  const remote = parseRemoteError(text);
  const said = `${remote?.message ?? ""}\n${text}`;
  if (outOfMemory.test(said)) return new GpuOutOfMemory({ message });
  if ((status >= 500 && engineDead.test(said)) || status === 503) {
    return new GpuUnavailable({ message });
  }
  if (status === 400) {
    const param = remote?.param ?? "";
    return (param === "input_tokens" || param === "input_text" || inputTooLong.test(said)) &&
        chunks.length > 0
      ? tooLong(model, chunks, remote?.message ?? text)
      : new Permanent({ message });
  }
  return status === 404 ? new Permanent({ message }) : undefined;
};

const embeddingsResponse = z.object({
  data: z.array(z.object({
    index: z.number().int().nonnegative(),
    embedding: z.array(z.number()).min(1),
  })),
});

const issuePath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) => (typeof key === "number"
      ? `${out}[${key}]`
      : out === ""
      ? String(key)
      : `${out}.${String(key)}`),
    "",
  );

const readVectors = (
  body: unknown,
  count: number,
  dimensions: number | undefined,
): { readonly vectors: ReadonlyArray<ReadonlyArray<number>> } | { readonly problem: string } => {
  const parsed = embeddingsResponse.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `${issuePath(issue.path) || "(root)"}: ${issue.message}` };
  }
  const data = [...parsed.data.data].sort((a, b) => a.index - b.index);
  if (data.length !== count) return { problem: `${data.length} embeddings for ${count} inputs` };
  const misplaced = data.findIndex((item, i) => item.index !== i);
  if (misplaced >= 0) {
    return { problem: `indexes are not 0…${count - 1} (index ${data[misplaced].index})` };
  }
  const length = dimensions ?? data[0].embedding.length;
  const odd = data.find((item) => item.embedding.length !== length);
  if (odd !== undefined) {
    return {
      problem: `embedding ${odd.index} has ${odd.embedding.length} dimensions, expected ${length}`,
    };
  }
  return { vectors: data.map((item) => item.embedding) };
};

const requestHeaders = (apiKey: string | undefined): Record<string, string> => ({
  accept: "application/json",
  "content-type": "application/json",
  ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
});

const embedBatch = (
  options: VllmEmbedderOptions,
  chunks: ReadonlyArray<Chunk>,
): Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, StageError> => {
  const url = embeddingsUrl(options.baseUrl);
  // `normalize` is left out on purpose: current vLLM rejects it.
  const body = {
    model: options.model,
    input: chunks.map((chunk) => chunk.text),
    encoding_format: "float",
    ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
  };
  const init = {
    method: "POST",
    headers: requestHeaders(options.apiKey),
    body: JSON.stringify(body),
  };
  return fetchJson(url, init, {
    timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
    classify: (outcome) => classifyVllmOutcome(outcome, options.model, chunks),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  }).pipe(Effect.flatMap((response) => {
    const read = readVectors(response.body, chunks.length, options.dimensions);
    if ("vectors" in read) return Effect.succeed(read.vectors);
    const message = `POST ${redactUrl(url)}: malformed embeddings response: ${read.problem}`;
    return Effect.fail(new Permanent({ message }));
  }));
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

const batchesOf = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from(
    { length: Math.ceil(items.length / size) },
    (_, i) => items.slice(i * size, (i + 1) * size),
  );

const embedChunks = (
  options: VllmEmbedderOptions,
  docId: string,
  chunks: ReadonlyArray<Chunk>,
): Effect.Effect<EmbeddingBatch, StageError> =>
  checkLengths(chunks, options.maxInputChars).pipe(
    Effect.andThen(Effect.forEach(
      batchesOf(chunks, options.maxBatchSize ?? defaultMaxBatchSize),
      (batch) => embedBatch(options, batch),
    )),
    Effect.flatMap((batches) => {
      const vectors = batches.flat();
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

/**
 * The vLLM Embed stage: embeds the upstream chunks through `/v1/embeddings`. It has no fallback:
 * when the server fails, the stage fails. Invalid options fail every run with `Permanent`.
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
  options: VllmEmbedderOptions,
): StageDefinition<
  EmbeddingBatch,
  Record<string, never>,
  { readonly Chunk: typeof chunkSetSchema }
> => {
  const problems = validateVllmEmbedderOptions(options);
  return defineStage({
    type: "Embed",
    implementation: `vllm:${options.model}`,
    input: { Chunk: chunkSetSchema },
    output: embeddingBatchSchema,
    usesGpu: true,
    dependency: () => dependencyOf(embeddingsUrl(options.baseUrl)),
    run: (_ctx, { Chunk: { docId, chunks } }) => {
      if (problems.length > 0) {
        const message = `invalid vLLM embedder options: ${problems.join("; ")}`;
        return Effect.fail(new Permanent({ message }));
      }
      return embedChunks(options, docId, chunks);
    },
    outputCount: (output) => output.vectors.length,
  });
};

// For `/health` every server-side failure means "not serving": the engine is down or starting.
const classifyHealth = (outcome: HttpOutcome): StageError => {
  const message = describeOutcome(outcome);
  return outcome.kind === "status" && outcome.status < 500
    ? new Permanent({ message })
    : new GpuUnavailable({ message });
};

/**
 * Asks a vLLM server whether its engine is serving (`GET /health`): succeeds on 200; a 5xx (503
 * when the engine is dead), no answer or no connection is `GpuUnavailable`; a 4xx is `Permanent`.
 *
 * @category constructors
 */
export const checkVllmHealth = (
  baseUrl: string,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): Effect.Effect<void, StageError> =>
  fetchText(`${serverRoot(baseUrl)}/health`, { method: "GET" }, {
    timeoutMs: options.timeoutMs ?? 5_000,
    classify: classifyHealth,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  }).pipe(Effect.asVoid);
