/**
 * Searching the index a pipeline writes to, as it is configured: the query text is embedded by
 * the pipeline's own Embed implementation (so query and chunk vectors come from the same model
 * and length), and the hybrid query goes to its Index implementation (the store's embedded index,
 * or OpenSearch).
 *
 * @module
 */
import { Effect } from "effect";
import type { CompiledPipeline } from "../pipelines/loader.ts";
import type { AnyStageDefinition } from "../stages/contracts.ts";
import type { StageError } from "../stages/errors.ts";
import type { EmbeddingBatch } from "../stages/ir.ts";
import type { StoreError } from "../lineage/outbox.ts";
import type { Store } from "../adapters/store/store.ts";
import { searchIndex, type SearchResult } from "../adapters/store/hybrid_search.ts";
import { openSearchHybridSearch } from "../adapters/opensearch/opensearch_hybrid_search.ts";
import {
  openSearchOptionsFrom,
  type OpenSearchStageConfig,
  sharedOpenSearchIndex,
} from "../adapters/opensearch/opensearch_index_stage.ts";
import { stageServices } from "./kit_layer.ts";
import { SetupError } from "./setup_error.ts";

/** What {@link searchPipelineIndex} searches for. */
export interface PipelineSearchOptions {
  /** How many hits. @default 10 */
  readonly k?: number;
  /** Drop hits below this fused score (embedded index). @default 0 */
  readonly minScore?: number;
  /** The tenant whose chunks are searched. @default every tenant's */
  readonly tenantId?: string;
}

const stageOfType = (pipeline: CompiledPipeline, type: string): string => {
  const found = pipeline.stages.find((s) => s.type === type);
  if (found === undefined) {
    throw new SetupError(`pipeline "${pipeline.name}" has no ${type} stage to search with`);
  }
  return found.name;
};

/** Embeds the query as the pipeline embeds its chunks. */
const embedQuery = (
  pipeline: CompiledPipeline,
  store: Store,
  text: string,
): Effect.Effect<EmbeddingBatch, StageError> => {
  const name = stageOfType(pipeline, "Embed");
  const definition: AnyStageDefinition = pipeline.definitionOf(name);
  const docId = "query:search";
  const chunk = {
    chunkId: `${docId}:chunk:0`,
    docId,
    tenantId: "search",
    text,
    sectionId: `${docId}:s0`,
    start: 0,
    end: text.length,
    metadata: {},
  };
  const ctx = {
    tenantId: "search",
    jobId: "search",
    docId,
    correlationId: "search",
    pipeline: { name: pipeline.name, version: pipeline.version },
    stage: name,
    attempt: 1,
    metadata: {},
  };
  const inputs = {
    request: {
      source: "search",
      docKey: "query",
      location: { kind: "inline" as const, record: text },
    },
    Chunk: { docId, chunks: [chunk] },
  };
  const run = definition.run(ctx, inputs, pipeline.configOf(name)) as Effect.Effect<
    EmbeddingBatch,
    StageError
  >;
  return Effect.provideContext(
    run,
    stageServices(store, { storeDir: store.spec, namespace: "search" }),
  );
};

/**
 * The best chunks for `text` in the index `pipeline` writes to (its Index implementation), the
 * query embedded by its Embed implementation.
 *
 * @category constructors
 */
export const searchPipelineIndex = (
  pipeline: CompiledPipeline,
  store: Store,
  text: string,
  options: PipelineSearchOptions = {},
): Effect.Effect<SearchResult, StageError | StoreError> =>
  Effect.flatMap(embedQuery(pipeline, store, text), (batch): Effect.Effect<
    SearchResult,
    StageError | StoreError
  > => {
    const vector = batch.vectors[0]?.vector ?? [];
    const indexStage = stageOfType(pipeline, "Index");
    const index = pipeline.definitionOf(indexStage);
    if (index.implementation === "opensearch") {
      const config = pipeline.configOf(indexStage) as OpenSearchStageConfig;
      return Effect.flatMap(
        openSearchOptionsFrom(config, batch.dimensions),
        (opensearch) =>
          Effect.map(
            openSearchHybridSearch(sharedOpenSearchIndex(opensearch), text, vector, {
              ...(options.k === undefined ? {} : { k: options.k }),
              ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
            }),
            (hits): SearchResult => ({
              hits: hits.filter((h) => h.score >= (options.minScore ?? 0)),
              textMatches: hits.filter((h) => h.matchedText).length,
            }),
          ),
      );
    }
    return searchIndex(store.client, text, vector, {
      ...(options.k === undefined ? {} : { k: options.k }),
      ...(options.minScore === undefined ? {} : { minScore: options.minScore }),
      ...(options.tenantId === undefined ? {} : { tenantId: options.tenantId }),
      embedder: batch.model,
    });
  });
