/**
 * The Index stage over an OpenSearch hybrid index: it reads the Chunk and Embed outputs, writes
 * the document's chunks with their vectors, and removes the document's stale chunks. The first
 * attempt against an index makes sure the index and its search pipeline exist, so an index is
 * never created by a bulk write with guessed mappings.
 *
 * Chosen in pipeline YAML or `lineage-kit.yaml` with `index: { impl: opensearch, url, index,
 * username_env, password_env }`; one client per cluster, index and vector length is shared by
 * every job of the process.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { Permanent, type StageError } from "../../stages/errors.ts";
import type { Chunk, IndexReceipt } from "../../stages/ir.ts";
import {
  chunkSetSchema,
  embeddingBatchSchema,
  indexReceiptSchema,
} from "../../stages/ir_schemas.ts";
import { dependencyOf } from "../http/fetch_json.ts";
import { makeOpenSearchIndex, type OpenSearchIndex } from "./opensearch_index.ts";
import type { OpenSearchOptions } from "./opensearch_options.ts";

/**
 * Options of {@link makeOpenSearchIndexStage}.
 *
 * @category models
 */
export interface OpenSearchIndexStageOptions {
  /**
   * The `_id` of a chunk's document.
   * @default (chunk) => `${chunk.tenantId}:${chunk.chunkId}`
   */
  readonly documentId?: (chunk: Chunk) => string;
}

type IndexInputs = {
  readonly Chunk: typeof chunkSetSchema;
  readonly Embed: typeof embeddingBatchSchema;
};

// Tenants share an index: the document id carries the tenant, so one tenant's chunk never
// overwrites another's.
const tenantDocumentId = (chunk: Chunk): string => `${chunk.tenantId}:${chunk.chunkId}`;

// Indexes already checked (created if missing) in this process, by their client.
const ensured = new WeakSet<OpenSearchIndex>();

const ensureOnce = (index: OpenSearchIndex): Effect.Effect<void, StageError> =>
  Effect.suspend(() =>
    ensured.has(index)
      ? Effect.void
      : Effect.asVoid(Effect.tap(index.ensureIndex(), () => Effect.sync(() => ensured.add(index))))
  );

const write = (
  index: OpenSearchIndex,
  tenantId: string,
  inputs: {
    readonly Chunk: z.output<typeof chunkSetSchema>;
    readonly Embed: z.output<typeof embeddingBatchSchema>;
  },
  documentId: (chunk: Chunk) => string,
): Effect.Effect<IndexReceipt, StageError> =>
  ensureOnce(index).pipe(Effect.andThen(index.writeChunks({
    tenantId,
    docId: inputs.Chunk.docId,
    chunks: inputs.Chunk.chunks,
    vectors: inputs.Embed.vectors,
    embedder: inputs.Embed.model,
    documentId,
  })));

/**
 * An Index stage writing into one given OpenSearch index. Its dependency (the key of its circuit
 * breaker and rate limiter) is the cluster's `host:port`.
 *
 * @example
 * ```ts
 * import { makeOpenSearchIndex } from "./opensearch_index.ts";
 * import { makeOpenSearchIndexStage } from "./opensearch_index_stage.ts";
 *
 * const index = makeOpenSearchIndex({ url: "http://search-1:9200", index: "lk-chunks", dimensions: 1024 });
 * const stage = makeOpenSearchIndexStage(index);
 * console.log(stage.implementation); // "opensearch"
 * ```
 *
 * @category constructors
 */
export const makeOpenSearchIndexStage = (
  index: OpenSearchIndex,
  options: OpenSearchIndexStageOptions = {},
): StageDefinition<IndexReceipt, Record<string, never>, IndexInputs> =>
  defineStage({
    type: "Index",
    implementation: "opensearch",
    description: "OpenSearch hybrid index: BM25 text plus k-NN vectors",
    input: { Chunk: chunkSetSchema, Embed: embeddingBatchSchema },
    output: indexReceiptSchema,
    outputCount: (receipt) => receipt.upserted,
    dependency: () => dependencyOf(index.url),
    run: (ctx, inputs) =>
      write(index, ctx.tenantId, inputs, options.documentId ?? tenantDocumentId),
  });

/**
 * The `config:` of the configured OpenSearch Index stage.
 *
 * @category models
 */
export interface OpenSearchStageConfig {
  /** The cluster, e.g. `https://search-1:9200`. */
  readonly url: string;
  /** The index name. @default "lk-chunks" */
  readonly index: string;
  /** The environment variable holding the basic-auth user name. */
  readonly usernameEnv?: string;
  /** The environment variable holding the basic-auth password. */
  readonly passwordEnv?: string;
  /** Milliseconds to wait for each request. @default 30000 */
  readonly timeoutMs?: number;
}

const httpUrl = z.string().refine((u) => /^https?:\/\/[^/?#]+/i.test(u) && URL.canParse(u), {
  message: "must be an http(s) URL",
});

/**
 * The configured OpenSearch Index stage's `config:` block: `url` (required), `index`,
 * `username_env`, `password_env`, `timeout_ms`.
 *
 * @category schemas
 */
export const openSearchStageConfig: z.ZodType<OpenSearchStageConfig> = z.strictObject({
  url: httpUrl,
  index: z.string().min(1).default("lk-chunks"),
  username_env: z.string().min(1).optional(),
  password_env: z.string().min(1).optional(),
  timeout_ms: z.number().int().min(1).optional(),
}).transform((c) => ({
  url: c.url.replace(/\/+$/, ""),
  index: c.index,
  ...(c.username_env === undefined ? {} : { usernameEnv: c.username_env }),
  ...(c.password_env === undefined ? {} : { passwordEnv: c.password_env }),
  ...(c.timeout_ms === undefined ? {} : { timeoutMs: c.timeout_ms }),
})) as unknown as z.ZodType<OpenSearchStageConfig>;

const clients = new Map<string, OpenSearchIndex>();

/**
 * The options of an index from a stage's configuration and the embedder's vector length, with
 * credentials read from the environment variables the configuration names.
 *
 * @category constructors
 */
export const openSearchOptionsFrom = (
  config: OpenSearchStageConfig,
  dimensions: number,
  env: { get(key: string): string | undefined } = Deno.env,
): Effect.Effect<OpenSearchOptions, Permanent> => {
  const read = (name: string | undefined) => name === undefined ? undefined : env.get(name);
  const missing = [config.usernameEnv, config.passwordEnv].filter((n) =>
    n !== undefined && (read(n) ?? "") === ""
  );
  if (missing.length > 0) {
    return Effect.fail(
      new Permanent({
        message: `OpenSearch credentials: environment variable ${missing.join(", ")} is not set`,
      }),
    );
  }
  const username = read(config.usernameEnv);
  const password = read(config.passwordEnv);
  return Effect.succeed({
    url: config.url,
    index: config.index,
    dimensions,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
  });
};

/**
 * The process's client of an index (one per cluster, index and vector length, shared by every job).
 *
 * @category constructors
 */
export const sharedOpenSearchIndex = (options: OpenSearchOptions): OpenSearchIndex => {
  const key = `${options.url}|${options.index}|${options.dimensions}|${options.username ?? ""}`;
  const found = clients.get(key);
  if (found) return found;
  const index = makeOpenSearchIndex(options);
  clients.set(key, index);
  return index;
};

/**
 * Closes every shared OpenSearch client (at the end of a command).
 *
 * @category constructors
 */
export const closeSharedOpenSearchIndexes = (): Promise<void> => {
  const all = [...clients.values()];
  clients.clear();
  return Promise.all(all.map((c) => c.close())).then(() => undefined);
};

/**
 * The configured OpenSearch Index stage (`impl: opensearch`): the index is created on first use
 * with a vector field of the embedder's length.
 *
 * @category constructors
 */
export const openSearchIndexStage: StageDefinition<
  IndexReceipt,
  OpenSearchStageConfig,
  IndexInputs
> = defineStage({
  type: "Index",
  implementation: "opensearch",
  description: "OpenSearch hybrid index: BM25 text plus k-NN vectors, fused with RRF",
  input: { Chunk: chunkSetSchema, Embed: embeddingBatchSchema },
  output: indexReceiptSchema,
  config: openSearchStageConfig,
  // The cluster answers and is not red, or the run does not start. The vector length is the
  // embedder's, unknown until a document is embedded: the health check does not need it.
  check: (config) =>
    Effect.flatMap(openSearchOptionsFrom(config, 1), (options) => {
      const index = makeOpenSearchIndex(options);
      return index.checkHealth().pipe(
        Effect.asVoid,
        Effect.ensuring(Effect.promise(() => index.close())),
      );
    }),
  outputCount: (receipt) => receipt.upserted,
  dependency: (_ctx, _inputs, config) => dependencyOf(config.url),
  run: (ctx, inputs, config) =>
    Effect.flatMap(
      openSearchOptionsFrom(config, inputs.Embed.dimensions),
      (options) => write(sharedOpenSearchIndex(options), ctx.tenantId, inputs, tenantDocumentId),
    ),
});
