/**
 * The Index stage over an OpenSearch hybrid index: it reads the Chunk and Embed outputs, writes
 * the document's chunks with their vectors, and removes the document's stale chunks. The first
 * attempt of a stage value makes sure the index and its search pipeline exist, so an index is
 * never created by a bulk write with guessed mappings.
 *
 * @module
 */
import { Effect } from "effect";
import type { IndexStage } from "../../stages/contracts.ts";
import type { StageError } from "../../stages/errors.ts";
import type { Chunk } from "../../stages/ir.ts";
import { dependencyOf } from "../http/fetch_json.ts";
import type { OpenSearchIndex } from "./opensearch_index.ts";

/**
 * Options of {@link makeOpenSearchIndexStage}.
 *
 * @category models
 */
export interface OpenSearchIndexStageOptions {
  /**
   * The `_id` of a chunk's document.
   * @default (chunk) => chunk.chunkId
   */
  readonly documentId?: (chunk: Chunk) => string;
}

/**
 * The Index stage writing into an OpenSearch index. Its dependency (the key of its circuit
 * breaker and rate limiter) is the cluster's `host:port`.
 *
 * @example
 * ```ts
 * import { makeOpenSearchIndex } from "./opensearch_index.ts";
 * import { makeOpenSearchIndexStage } from "./opensearch_index_stage.ts";
 *
 * const index = makeOpenSearchIndex({ url: "http://search-1:9200", index: "lk-chunks", dimensions: 1024 });
 * const stage = makeOpenSearchIndexStage(index);
 * console.log(stage.implementation); // "opensearch-hybrid-index"
 * ```
 *
 * @category constructors
 */
export const makeOpenSearchIndexStage = (
  index: OpenSearchIndex,
  options: OpenSearchIndexStageOptions = {},
): IndexStage => {
  let ensured = false;
  const ensureOnce = Effect.suspend((): Effect.Effect<void, StageError> =>
    ensured ? Effect.void : index.ensureIndex().pipe(
      Effect.flatMap(() =>
        Effect.sync(() => {
          ensured = true;
        })
      ),
    )
  );
  return {
    type: "Index",
    implementation: "opensearch-hybrid-index",
    outputCount: (receipt) => receipt.upserted,
    dependency: () => dependencyOf(index.url),
    run: (ctx, inputs) => {
      const { docId, chunks } = inputs.get("Chunk");
      const batch = inputs.get("Embed");
      return ensureOnce.pipe(Effect.andThen(index.writeChunks({
        tenantId: ctx.tenantId,
        docId,
        chunks,
        vectors: batch.vectors,
        embedder: batch.model,
        ...(options.documentId === undefined ? {} : { documentId: options.documentId }),
      })));
    },
  };
};
