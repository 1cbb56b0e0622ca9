/**
 * The OpenSearch hybrid index as one value: its options, and the operations on it (ensure the
 * index, write a document's chunks, search, check the cluster's health, close). It is built
 * without I/O; invalid options make every operation fail with `Permanent` naming each problem.
 *
 * @module
 */
import { Effect } from "effect";
import { Permanent, type StageError } from "../../stages/errors.ts";
import type { IndexReceipt } from "../../stages/ir.ts";
import { openConnection, type OpenSearchConnection } from "./_connection.ts";
import type { ChunkWrite } from "./chunk_documents.ts";
import { checkClusterHealth, type ClusterHealth } from "./cluster_health.ts";
import { ensureIndex, type EnsureIndexResult } from "./ensure_index.ts";
import {
  type OpenSearchOptions,
  searchPipelineOf,
  validateOpenSearchOptions,
} from "./opensearch_options.ts";
import { type HybridQuery, type OpenSearchHit, searchChunks } from "./opensearch_search.ts";
import { writeChunks } from "./write_chunks.ts";

/**
 * An OpenSearch chunk index and what can be done with it.
 *
 * @category models
 */
export interface OpenSearchIndex {
  /** The cluster's URL as configured (credentials in it are never printed). */
  readonly url: string;
  /** The index name. */
  readonly index: string;
  /** The vector length the index holds. */
  readonly dimensions: number;
  /** The search pipeline that fuses the hybrid query's rankings. */
  readonly searchPipeline: string;
  /** Creates the index and search pipeline, or checks the existing index's vector field. */
  readonly ensureIndex: () => Effect.Effect<EnsureIndexResult, StageError>;
  /** Writes a document's chunks and removes its stale ones. */
  readonly writeChunks: (write: ChunkWrite) => Effect.Effect<IndexReceipt, StageError>;
  /** Runs a hybrid query; hits are fused by reciprocal rank fusion. */
  readonly search: (query: HybridQuery) => Effect.Effect<ReadonlyArray<OpenSearchHit>, StageError>;
  /** Fails unless the cluster answers `_cluster/health` with green or yellow. */
  readonly checkHealth: () => Effect.Effect<ClusterHealth, StageError>;
  /** Closes the client's connections. */
  readonly close: () => Promise<void>;
}

/**
 * Builds the index value for a set of options; no request is made until an operation runs.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeOpenSearchIndex } from "./opensearch_index.ts";
 *
 * const index = makeOpenSearchIndex({ url: "http://search-1:9200", index: "lk-chunks", dimensions: 1024 });
 * const ready = index.checkHealth().pipe(Effect.andThen(index.ensureIndex()));
 * console.log(index.searchPipeline); // "lk-chunks-rrf"
 * ```
 *
 * @category constructors
 */
export const makeOpenSearchIndex = (options: OpenSearchOptions): OpenSearchIndex => {
  const problems = validateOpenSearchOptions(options);
  const connection: OpenSearchConnection | undefined = problems.length === 0
    ? openConnection(options)
    : undefined;
  const withConnection = <A>(
    f: (connection: OpenSearchConnection) => Effect.Effect<A, StageError>,
  ): Effect.Effect<A, StageError> =>
    connection === undefined
      ? Effect.fail(
        new Permanent({ message: `invalid OpenSearch options: ${problems.join("; ")}` }),
      )
      : Effect.suspend(() => f(connection));
  return {
    url: options.url,
    index: options.index,
    dimensions: options.dimensions,
    searchPipeline: searchPipelineOf(options),
    ensureIndex: () => withConnection(ensureIndex),
    writeChunks: (write) => withConnection((c) => writeChunks(c, write)),
    search: (query) => withConnection((c) => searchChunks(c, query)),
    checkHealth: () => withConnection(checkClusterHealth),
    close: () => connection?.close() ?? Promise.resolve(),
  };
};
