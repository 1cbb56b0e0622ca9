/**
 * The OpenSearch adapter: a hybrid chunk index (BM25 `text` with the English analyzer, an HNSW
 * cosine `knn_vector`, keyword fields for the chunk's identity), written with one `_bulk` request
 * per document (deterministic `_id`s, per-item failures read and classified) followed by the
 * removal of the document's stale chunks, searched with a `hybrid` query fused by reciprocal rank
 * fusion in a `score-ranker-processor` search pipeline (OpenSearch 2.19 or later), and a cluster
 * health check for startup.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeOpenSearchIndex, makeOpenSearchIndexStage, openSearchHybridSearch } from "./mod.ts";
 *
 * const index = makeOpenSearchIndex({
 *   url: "http://search-1:9200",
 *   index: "lk-chunks",
 *   dimensions: 3,
 *   username: Deno.env.get("OPENSEARCH_USER"),
 *   password: Deno.env.get("OPENSEARCH_PASSWORD"),
 * });
 * const stage = makeOpenSearchIndexStage(index);
 * const hits = openSearchHybridSearch(index, "gefitinib", [0.1, 0.2, 0.3], { tenantId: "t1" });
 * const startup = index.checkHealth().pipe(Effect.andThen(index.ensureIndex()));
 * console.log(stage.type); // "Index"
 * ```
 *
 * @module
 */
export * from "./opensearch_options.ts";
export * from "./index_definition.ts";
export * from "./opensearch_errors.ts";
export * from "./opensearch_responses.ts";
export * from "./chunk_documents.ts";
export type { EnsureIndexResult } from "./ensure_index.ts";
export { classifyBulkFailures, type FailedChunk } from "./write_chunks.ts";
export type { ClusterHealth } from "./cluster_health.ts";
export {
  type HybridQuery,
  hybridQueryBody,
  type OpenSearchHit,
  toOpenSearchHit,
} from "./opensearch_search.ts";
export * from "./opensearch_index.ts";
export * from "./opensearch_index_stage.ts";
export * from "./opensearch_hybrid_search.ts";
