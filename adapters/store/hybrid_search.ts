/**
 * Hybrid retrieval over the embedded index: a full-text ranking and a dense ranking, fused with
 * reciprocal rank fusion.
 *
 * The dense ranking always has candidates (every chunk has some nearest neighbour), so a query
 * whose words match no chunk still returns hits. Each hit therefore says how it was found
 * (`match`), and {@link searchIndex} says how many chunks matched the text at all, so a caller can
 * tell "nearest by meaning" from "contains these words".
 *
 * @module
 */
import type { SqlClient } from "./sql_client.ts";
import { storeOp } from "./store_op.ts";
import { vectorLiteral } from "./embedded_index.ts";
import { Effect } from "effect";
import type { StoreError } from "../../lineage/outbox.ts";

/** The RRF constant from Cormack et al. (2009), as most hybrid search engines use it. */
export const RRF_K = 60;

/**
 * How a hit was found: by the full-text ranking and the dense one, or by only one of them.
 *
 * @category models
 */
export type SearchMatch = "text+vector" | "text" | "vector";

/** One fused result. */
export interface SearchHit {
  /** The matching chunk's id. */
  readonly chunkId: string;
  /** The document the chunk belongs to. */
  readonly docId: string;
  /** The chunk's text. */
  readonly text: string;
  /** Fused score: the sum of 1 / (k + rank) over the rankings that found the chunk. */
  readonly score: number;
  /** 1-based rank in the full-text list, when it was there. */
  readonly textRank?: number;
  /** 1-based rank in the dense list, when it was there. */
  readonly denseRank?: number;
  /** Which rankings found it. */
  readonly match: SearchMatch;
}

/**
 * A search's hits, and how many chunks matched the text (0: every hit is nearest by vector only).
 *
 * @category models
 */
export interface SearchResult {
  /** The fused hits, best first. */
  readonly hits: ReadonlyArray<SearchHit>;
  /** Chunks the full-text query matched, up to `candidates`. */
  readonly textMatches: number;
}

/** Fuses ranked id lists with reciprocal rank fusion (pure). Ties keep first-seen order. */
export const reciprocalRankFusion = (
  rankings: ReadonlyArray<ReadonlyArray<string>>,
  k: number = RRF_K,
): ReadonlyArray<{ readonly id: string; readonly score: number; readonly ranks: number[] }> => {
  const fused = new Map<string, { score: number; ranks: number[] }>();
  rankings.forEach((ranking, list) => {
    ranking.forEach((id, i) => {
      const entry = fused.get(id) ?? { score: 0, ranks: rankings.map(() => 0) };
      entry.score += 1 / (k + i + 1);
      entry.ranks[list] = i + 1;
      fused.set(id, entry);
    });
  });
  return [...fused.entries()]
    .map(([id, e]) => ({ id, score: e.score, ranks: e.ranks }))
    .sort((a, b) => b.score - a.score);
};

/** Options for {@link hybridSearch}. */
export interface HybridSearchOptions {
  /** How many fused results to return. @default 10 */
  readonly k?: number;
  /** How many candidates each ranking contributes. @default 50 */
  readonly candidates?: number;
  /**
   * Drop hits whose fused score is below this. One ranking's first place scores
   * 1 / (60 + 1) ≈ 0.0164; first in both, ≈ 0.0328.
   * @default 0
   */
  readonly minScore?: number;
  /** Rank by vector only the chunks this embedder (model) wrote. @default any embedder */
  readonly embedder?: string;
  /** Only this tenant's chunks. @default every tenant's */
  readonly tenantId?: string;
}

const matchOf = (ranks: ReadonlyArray<number>): SearchMatch =>
  ranks[0] && ranks[1] ? "text+vector" : ranks[0] ? "text" : "vector";

/**
 * Searches the embedded index for `text`, given its query vector: the fused hits, each saying
 * which rankings found it, and how many chunks matched the text.
 *
 * @category constructors
 */
export const searchIndex = (
  db: SqlClient,
  text: string,
  queryVector: ReadonlyArray<number>,
  options: HybridSearchOptions = {},
): Effect.Effect<SearchResult, StoreError> =>
  storeOp("search", async () => {
    const candidates = options.candidates ?? 50;
    const tenant = options.tenantId ?? null;
    const lexical = await db.query<{ chunk_id: string }>(
      `select chunk_id from lk_chunks, websearch_to_tsquery('english', $1) q
       where tsv @@ q and ($3::text is null or tenant_id = $3)
       order by ts_rank_cd(tsv, q) desc, chunk_id limit $2`,
      [text, candidates, tenant],
    );
    // Only vectors of the query's length (and model, when given) are comparable with it.
    const dense = await db.query<{ chunk_id: string }>(
      db.hasVector
        ? `select chunk_id from lk_chunks
           where vector_dims(embedding) = $3 and ($4::text is null or embedder = $4)
             and ($5::text is null or tenant_id = $5)
           order by embedding <=> $1::vector, chunk_id limit $2`
        : `select chunk_id from lk_chunks
           where array_length(embedding, 1) = $3 and ($4::text is null or embedder = $4)
             and ($5::text is null or tenant_id = $5)
           order by lk_cosine_distance(embedding, $1::real[]), chunk_id limit $2`,
      [
        vectorLiteral(db, queryVector),
        candidates,
        queryVector.length,
        options.embedder ?? null,
        tenant,
      ],
    );
    const minScore = options.minScore ?? 0;
    const fused = reciprocalRankFusion([
      lexical.map((r) => r.chunk_id),
      dense.map((r) => r.chunk_id),
    ]).filter((f) => f.score >= minScore).slice(0, options.k ?? 10);
    if (fused.length === 0) return { hits: [], textMatches: lexical.length };
    const rows = await db.query<{ chunk_id: string; doc_id: string; body: string }>(
      "select chunk_id, doc_id, body from lk_chunks where chunk_id = any($1::text[])",
      [fused.map((f) => f.id)],
    );
    const byId = new Map(rows.map((r) => [r.chunk_id, r]));
    const hits = fused.map((f): SearchHit => {
      const row = byId.get(f.id)!;
      return {
        chunkId: f.id,
        docId: row.doc_id,
        text: row.body,
        score: f.score,
        ...(f.ranks[0] ? { textRank: f.ranks[0] } : {}),
        ...(f.ranks[1] ? { denseRank: f.ranks[1] } : {}),
        match: matchOf(f.ranks),
      };
    });
    return { hits, textMatches: lexical.length };
  });

/**
 * Searches the embedded index for `text`, given its query vector; the hits of {@link searchIndex}.
 *
 * @category constructors
 */
export const hybridSearch = (
  db: SqlClient,
  text: string,
  queryVector: ReadonlyArray<number>,
  options: HybridSearchOptions = {},
): Effect.Effect<ReadonlyArray<SearchHit>, StoreError> =>
  Effect.map(searchIndex(db, text, queryVector, options), (result) => result.hits);
