/**
 * One `/v1/embeddings` request through the `openai` client, as an Effect: the body vLLM expects
 * (`model`, `input` as a list, `encoding_format: "float"`, `dimensions` when asked), the raw body
 * read by the kit so a cut connection and a proxy's HTML page are told apart, the response checked
 * with zod, and every failure mapped once to a stage error.
 *
 * A response with the wrong number of vectors, or vectors of the wrong length (not the requested
 * `dimensions`, or not the first vector's), is `Permanent`: the server is not serving what was
 * asked, and asking again will not change it.
 *
 * @module
 */
import { Clock, Duration, Effect } from "effect";
import type OpenAI from "openai";
import { z } from "zod";
import { Permanent } from "../../stages/errors.ts";
import { parseJsonBody, type TextResponse } from "../http/fetch_json.ts";
import { type HttpOutcome, redactUrl } from "../http/http_errors.ts";
import { sdkOutcome } from "./sdk_outcome.ts";
import { defaultVllmTimeoutMs, embeddingsUrl } from "./vllm_urls.ts";
import type { EmbeddingInput, EmbedRequest } from "./embedding_input.ts";
import { vllmFailure } from "./vllm_errors.ts";

/**
 * What every embeddings request of one model asks for.
 *
 * @category models
 */
export interface EmbeddingsRequestOptions {
  /** The server, for messages (`POST {server}/v1/embeddings: …`). */
  readonly baseUrl: string;
  /** The served model name. */
  readonly model: string;
  /** Asks the model for vectors of this length (Matryoshka models); the model's own when absent. */
  readonly dimensions?: number;
  /**
   * Milliseconds to wait for each request, body included.
   * @default 60000
   */
  readonly timeoutMs?: number;
}

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

/**
 * Checks an embeddings response body: `count` vectors indexed `0…count-1`, all of `dimensions`
 * length (or of the first vector's when `dimensions` is absent). Returns the vectors in input order
 * or what is wrong with the body, prefixed with the field path.
 *
 * @category combinators
 */
export const readEmbeddings = (
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
  const length = dimensions ?? data[0]?.embedding.length;
  const odd = data.find((item) => item.embedding.length !== length);
  if (odd !== undefined) {
    return {
      problem: `embedding ${odd.index} has ${odd.embedding.length} dimensions, expected ${length}`,
    };
  }
  return { vectors: data.map((item) => item.embedding) };
};

const exchange = (
  client: OpenAI,
  options: EmbeddingsRequestOptions,
  inputs: ReadonlyArray<EmbeddingInput>,
): Effect.Effect<TextResponse, HttpOutcome> => {
  const url = embeddingsUrl(options.baseUrl);
  const timeoutMs = options.timeoutMs ?? defaultVllmTimeoutMs;
  // `normalize` is left out on purpose: current vLLM rejects it.
  const body = {
    model: options.model,
    input: inputs.map((input) => input.text),
    encoding_format: "float" as const,
    ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }),
  };
  return Effect.tryPromise({
    try: async (signal) => {
      // The raw response: the kit reads the body itself to tell a cut body from a wrong one.
      const response = await client.embeddings.create(body, { signal }).asResponse();
      const text = await response.text();
      return { status: response.status, headers: response.headers, text };
    },
    catch: (error) => sdkOutcome(error, "POST", url, timeoutMs),
  }).pipe(
    // The client's own timeout stops at the headers; this one covers the body too.
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail<HttpOutcome>({ kind: "timeout", method: "POST", url, timeoutMs }),
    }),
  );
};

/**
 * An {@link EmbedRequest} for one model of one server, sent through `client`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeEmbedRequest } from "./embeddings_request.ts";
 * import { makeVllmClient } from "./vllm_client.ts";
 *
 * const baseUrl = "http://gpu-1:8000";
 * const send = makeEmbedRequest(makeVllmClient({ baseUrl }), { baseUrl, model: "BAAI/bge-m3" });
 * const vectors = send([{ id: "doc:chunk:0", text: "aspirin reduces fever" }]);
 * ```
 *
 * @category constructors
 */
export const makeEmbedRequest =
  (client: OpenAI, options: EmbeddingsRequestOptions): EmbedRequest => (inputs) => {
    const url = embeddingsUrl(options.baseUrl);
    return exchange(client, options, inputs).pipe(
      Effect.catch((outcome) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (nowMs) => Effect.fail(vllmFailure(outcome, { model: options.model, inputs, nowMs })),
        )
      ),
      Effect.flatMap((response) => parseJsonBody("POST", url, response)),
      Effect.flatMap((response) => {
        const read = readEmbeddings(response.body, inputs.length, options.dimensions);
        if ("vectors" in read) return Effect.succeed(read.vectors);
        const message = `POST ${redactUrl(url)}: malformed embeddings response: ${read.problem}`;
        return Effect.fail(new Permanent({ message }));
      }),
    );
  };
