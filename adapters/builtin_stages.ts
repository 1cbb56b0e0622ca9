/**
 * The kit's built-in stages, every one made with `defineStage`: recorded or live ingest, the
 * guarded PDF download, the ledger gate, source parsing, sentence chunking, the feature-hashing
 * embedder, the store's hybrid index and knowledge graph, and structured extraction. Nothing here
 * needs a network or a GPU unless a record asks for a live URL or a PDF.
 *
 * @module
 */
import type { AnyStageDefinition } from "../stages/contracts.ts";
import { makeStageRegistry, type StageRegistry } from "../stages/stage_registry.ts";
import { chunkStage } from "../stages/chunker.ts";
import { hashingEmbedStage } from "../stages/hashing_embedder.ts";
import { extractStage } from "../stages/extract.ts";
import { gateStage } from "../pipelines/gate_stage.ts";
import { ingestStage } from "./sources/ingest_stage.ts";
import { parseStage } from "./sources/parse_stage.ts";
import { pdfDownloadStage } from "./download/pdf_download.ts";
import { embeddedIndexStage } from "./store/embedded_index.ts";
import { embeddedGraphStage } from "./store/embedded_graph.ts";
import { vllmEmbedStage } from "./vllm/vllm_embed_stage.ts";
import { openSearchIndexStage } from "./opensearch/opensearch_index_stage.ts";

/**
 * The built-in stage definitions, in pipeline order; the first of each type is its default, the
 * others are chosen by configuration (`impl: vllm`, `impl: opensearch`).
 *
 * @category constructors
 */
export const builtinStages: ReadonlyArray<AnyStageDefinition> = [
  ingestStage,
  pdfDownloadStage,
  gateStage,
  parseStage,
  chunkStage,
  hashingEmbedStage,
  vllmEmbedStage,
  embeddedIndexStage,
  openSearchIndexStage,
  extractStage,
  embeddedGraphStage,
];

/**
 * A registry of the built-in stages; add your own with `builtinStageRegistry.with([...])`.
 *
 * @example
 * ```ts
 * import { builtinStageRegistry } from "./builtin_stages.ts";
 *
 * console.log(builtinStageRegistry.types.join(", "));
 * // Ingest, Download, Gate, Parse, Chunk, Embed, Index, Extract, KG
 * ```
 *
 * @category constructors
 */
export const builtinStageRegistry: StageRegistry = makeStageRegistry(builtinStages);
