/**
 * Hybrid search over OpenSearch with the inputs of the embedded index's `hybridSearch`: the index
 * instead of the database, the query text, its vector, and `k` / `candidates`, plus the tenant.
 *
 * @module
 */
import type { Effect } from "effect";
import type { StageError } from "../../stages/errors.ts";
import type { HybridSearchOptions } from "../store/hybrid_search.ts";
import type { OpenSearchIndex } from "./opensearch_index.ts";
import type { OpenSearchHit } from "./opensearch_search.ts";

/**
 * Options of {@link openSearchHybridSearch}: the embedded search's, plus a tenant.
 *
 * @category models
 */
export interface OpenSearchHybridSearchOptions extends HybridSearchOptions {
  /** Only chunks of this tenant; every tenant's when absent. */
  readonly tenantId?: string;
}

/**
 * Searches an OpenSearch index for `text`, given its query vector; the fused hits come best
 * first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeOpenSearchIndex } from "./opensearch_index.ts";
 * import { openSearchHybridSearch } from "./opensearch_hybrid_search.ts";
 *
 * const index = makeOpenSearchIndex({ url: "http://search-1:9200", index: "lk-chunks", dimensions: 3 });
 * const hits = openSearchHybridSearch(index, "gefitinib", [0.1, 0.2, 0.3], { k: 5, tenantId: "t1" });
 * const texts = Effect.map(hits, (found) => found.map((hit) => hit.text));
 * ```
 *
 * @category constructors
 */
export const openSearchHybridSearch = (
  index: OpenSearchIndex,
  text: string,
  queryVector: ReadonlyArray<number>,
  options: OpenSearchHybridSearchOptions = {},
): Effect.Effect<ReadonlyArray<OpenSearchHit>, StageError> =>
  index.search({
    text,
    vector: queryVector,
    ...(options.k === undefined ? {} : { k: options.k }),
    ...(options.candidates === undefined ? {} : { candidates: options.candidates }),
    ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
  });
