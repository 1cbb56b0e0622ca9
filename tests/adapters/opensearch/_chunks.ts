/** Chunks, vectors and expected wire values shared by the OpenSearch adapter tests. */
import type { Chunk } from "../../../stages/ir.ts";

export const docId = "clinicaltrials:NCT00763412";

export const chunkAt = (i: number): Chunk => ({
  chunkId: `${docId}:chunk:${i}`,
  docId,
  tenantId: "t1",
  text: `Gefitinib arm ${i} of the trial.`,
  sectionId: `${docId}:s0`,
  start: i * 40,
  end: i * 40 + 31,
  metadata: { section_title: "Brief summary", split_id: i },
});

export const vectorAt = (i: number): ReadonlyArray<number> => [0.1 * i, 0.25, -0.5];

/** The stored document the adapter must send for chunk `i`, key order included. */
export const storedChunk = (i: number): Record<string, unknown> => ({
  chunk_id: `${docId}:chunk:${i}`,
  doc_id: docId,
  tenant_id: "t1",
  source: "clinicaltrials",
  section_id: `${docId}:s0`,
  section_title: "Brief summary",
  embedder: "BAAI/bge-m3",
  start_offset: i * 40,
  end_offset: i * 40 + 31,
  text: `Gefitinib arm ${i} of the trial.`,
  embedding: vectorAt(i),
  metadata: { section_title: "Brief summary", split_id: i },
});

/** The create-index body for a vector of `dimension`. */
export const indexBody = (dimension: number): unknown => ({
  settings: { index: { knn: true } },
  mappings: {
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
      text: { type: "text", analyzer: "english" },
      embedding: {
        type: "knn_vector",
        dimension,
        method: { name: "hnsw", space_type: "cosinesimil", engine: "faiss" },
      },
      metadata: { type: "object", enabled: false },
    },
  },
});

export const pipelineBody: unknown = {
  description: "lineage-kit hybrid search: BM25 and k-NN rankings fused by reciprocal rank fusion",
  phase_results_processors: [
    { "score-ranker-processor": { combination: { technique: "rrf", rank_constant: 60 } } },
  ],
};

/** The `_delete_by_query` body removing the document's chunks other than `keep`. */
export const staleQuery = (keep: ReadonlyArray<string>): unknown => ({
  query: {
    bool: {
      filter: [{ term: { tenant_id: "t1" } }, { term: { doc_id: docId } }],
      ...(keep.length === 0 ? {} : { must_not: [{ ids: { values: keep } }] }),
    },
  },
});
