/**
 * Hybrid retrieval over the OpenSearch index: one `hybrid` query with a BM25 `match` clause and a
 * `knn` clause, run through the search pipeline whose `score-ranker-processor` fuses the two
 * rankings with reciprocal rank fusion (k = 60), as the embedded index fuses its own. The `match`
 * clause is named, so each hit says whether it matched the query text.
 *
 * @module
 */
import { Effect } from "effect";
import type { StageError } from "../../stages/errors.ts";
import type { SearchHit } from "../store/hybrid_search.ts";
import type { OpenSearchConnection } from "./_connection.ts";
import { send } from "./_connection.ts";
import { textField, textQueryName, vectorField } from "./index_definition.ts";
import { type ChunkHit, chunkSearchResponse, decodeResponse } from "./opensearch_responses.ts";

/**
 * What to search for.
 *
 * @category models
 */
export interface HybridQuery {
  /** The query text, matched against the chunks' text with BM25. */
  readonly text: string;
  /** The query's embedding, of the index's dimension. */
  readonly vector: ReadonlyArray<number>;
  /**
   * How many fused results to return.
   * @default 10
   */
  readonly k?: number;
  /**
   * How many candidates each ranking contributes before fusion.
   * @default 50
   */
  readonly candidates?: number;
  /** Only chunks of this tenant; every tenant's when absent. */
  readonly tenantId?: string;
}

/**
 * One fused result: the embedded index's {@link SearchHit} fields, without the per-ranking ranks
 * (OpenSearch's fusion does not report them), plus whether the chunk matched the query text.
 *
 * @category models
 */
export interface OpenSearchHit extends SearchHit {
  /** Whether the BM25 clause matched the chunk (it may have been found by the vector alone). */
  readonly matchedText: boolean;
}

/**
 * The `_search` body of a hybrid query: `size` = candidates (the fused list is cut to `k`
 * afterwards), the vector left out of `_source`, and the tenant filter inside both clauses.
 *
 * @category constructors
 */
export const hybridQueryBody = (query: HybridQuery): Record<string, unknown> => {
  const candidates = query.candidates ?? 50;
  const tenant = query.tenantId === undefined ? [] : [{ term: { tenant_id: query.tenantId } }];
  const match = { match: { [textField]: { query: query.text, _name: textQueryName } } };
  return {
    size: candidates,
    _source: { excludes: [vectorField] },
    query: {
      hybrid: {
        queries: [
          tenant.length === 0 ? match : { bool: { must: [match], filter: tenant } },
          {
            knn: {
              [vectorField]: {
                vector: [...query.vector],
                k: candidates,
                ...(tenant.length === 0 ? {} : { filter: tenant[0] }),
              },
            },
          },
        ],
      },
    },
  };
};

/**
 * A search hit as an {@link OpenSearchHit}.
 *
 * @category combinators
 */
export const toOpenSearchHit = (hit: ChunkHit): OpenSearchHit => ({
  chunkId: hit._source.chunk_id,
  docId: hit._source.doc_id,
  text: hit._source.text,
  score: hit._score,
  matchedText: hit.matched_queries?.includes(textQueryName) ?? false,
  // The k-NN clause always returns its nearest candidates, so every fused hit is one of them
  // unless the text alone found it; OpenSearch does not say which, so a text match counts as both.
  match: hit.matched_queries?.includes(textQueryName) ? "text+vector" : "vector",
});

/**
 * Runs a hybrid query through the index's search pipeline and returns the best `k` fused hits.
 *
 * @category constructors
 */
export const searchChunks = (
  connection: OpenSearchConnection,
  query: HybridQuery,
): Effect.Effect<ReadonlyArray<OpenSearchHit>, StageError> =>
  send(
    connection,
    (client) =>
      client.search({
        index: connection.options.index,
        search_pipeline: connection.searchPipeline,
        body: hybridQueryBody(query),
      }),
  ).pipe(
    Effect.flatMap((response) =>
      decodeResponse(chunkSearchResponse, response.request, response.body)
    ),
    Effect.map((response) => response.hits.hits.slice(0, query.k ?? 10).map(toOpenSearchHit)),
  );
