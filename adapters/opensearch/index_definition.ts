/**
 * The index and search pipeline the adapter creates: a `text` field ranked by BM25 with the
 * English analyzer, an HNSW `embedding` vector compared by cosine similarity, keyword fields for
 * the chunk's identity and provenance, and a search pipeline that fuses the two rankings with
 * reciprocal rank fusion (k = 60, as the embedded index does).
 *
 * @module
 */
import { RRF_K } from "../store/hybrid_search.ts";
import type { OpenSearchOptions } from "./opensearch_options.ts";

/**
 * The name of the vector field.
 *
 * @category constructors
 */
export const vectorField = "embedding";

/**
 * The name of the full-text field.
 *
 * @category constructors
 */
export const textField = "text";

/**
 * The `_name` of the hybrid query's full-text clause: a hit whose `matched_queries` holds it
 * matched the query text.
 *
 * @category constructors
 */
export const textQueryName = "text";

/**
 * The mappings of the chunk index. `dynamic: strict` makes a field the adapter does not know a
 * per-item error instead of a silently guessed mapping; the free-form chunk metadata is kept in
 * `_source` only (`enabled: false`), so it cannot grow the mapping.
 *
 * @category constructors
 */
export const chunkIndexMappings = (options: OpenSearchOptions): Record<string, unknown> => ({
  dynamic: "strict",
  properties: {
    chunk_id: { type: "keyword" },
    doc_id: { type: "keyword" },
    tenant_id: { type: "keyword" },
    source: { type: "keyword" },
    section_id: { type: "keyword" },
    section_title: { type: "keyword" },
    embedder: { type: "keyword" },
    start_offset: { type: "integer" },
    end_offset: { type: "integer" },
    [textField]: { type: "text", analyzer: "english" },
    [vectorField]: {
      type: "knn_vector",
      dimension: options.dimensions,
      method: { name: "hnsw", space_type: "cosinesimil", engine: options.engine ?? "faiss" },
    },
    metadata: { type: "object", enabled: false },
  },
});

/**
 * The body of the create-index request: `index.knn: true`, the optional shard counts, and
 * {@link chunkIndexMappings}.
 *
 * @category constructors
 */
export const chunkIndexBody = (options: OpenSearchOptions): Record<string, unknown> => ({
  settings: {
    index: {
      knn: true,
      ...(options.shards === undefined ? {} : { number_of_shards: options.shards }),
      ...(options.replicas === undefined ? {} : { number_of_replicas: options.replicas }),
    },
  },
  mappings: chunkIndexMappings(options),
});

/**
 * The body of the search pipeline: one `score-ranker-processor` fusing the hybrid query's
 * rankings with reciprocal rank fusion (OpenSearch 2.19 or later).
 *
 * @category constructors
 */
export const rrfPipelineBody = (): Record<string, unknown> => ({
  description: "lineage-kit hybrid search: BM25 and k-NN rankings fused by reciprocal rank fusion",
  phase_results_processors: [
    { "score-ranker-processor": { combination: { technique: "rrf", rank_constant: RRF_K } } },
  ],
});
