/**
 * Stage contracts: every stage type, what it produces, and the shape of an implementation.
 *
 * @module
 */
import type { Effect } from "effect";
import type { StageContext } from "./context.ts";
import type { StageError } from "./errors.ts";
import type {
  ChunkSet,
  Document,
  EmbeddingBatch,
  Extraction,
  GateOutcome,
  GraphWriteReceipt,
  IndexReceipt,
  IngestRequest,
  PdfReceipt,
  RawPayload,
} from "./ir.ts";

/** What each stage type produces. The runner checkpoints these as JSON. */
export interface StageOutputs {
  /** The raw record an Ingest stage fetched. */
  readonly Ingest: RawPayload;
  /** The document a Parse stage built. */
  readonly Parse: Document;
  /** The chunks a Chunk stage cut. */
  readonly Chunk: ChunkSet;
  /** The vectors an Embed stage computed. */
  readonly Embed: EmbeddingBatch;
  /** What an Index stage wrote. */
  readonly Index: IndexReceipt;
  /** The entities and claims an Extract stage found. */
  readonly Extract: Extraction;
  /** What a KG stage wrote to the graph. */
  readonly KG: GraphWriteReceipt;
  /** The PDF a Download stage stored. */
  readonly Download: PdfReceipt;
  /** What an opened Gate passes on. */
  readonly Gate: GateOutcome;
}

/** A stage type as written in pipeline YAML (`type:`). */
export type StageType = keyof StageOutputs;

/** Every stage type, in pipeline order. */
export const stageTypes: ReadonlyArray<StageType> = [
  "Ingest",
  "Download",
  "Gate",
  "Parse",
  "Chunk",
  "Embed",
  "Index",
  "Extract",
  "KG",
];

/**
 * Which upstream outputs each stage type reads. The topology loader checks that every stage has
 * an ancestor of each type it requires (a Gate's resumed document counts as a Parse output).
 */
export const stageRequirements: Readonly<Record<StageType, ReadonlyArray<StageType>>> = {
  Ingest: [],
  Download: ["Ingest"],
  Gate: [],
  Parse: ["Ingest"],
  Chunk: ["Parse"],
  Embed: ["Chunk"],
  Index: ["Chunk", "Embed"],
  Extract: ["Parse"],
  KG: ["Extract"],
};

/** The outputs of a stage's finished ancestors, by type, plus the job's ingest request. */
export interface StageInputs {
  /** The job's ingest request. */
  readonly request: IngestRequest;
  /** The nearest finished ancestor output of a type. The loader guarantees required ones exist. */
  readonly get: <T extends StageType>(type: T) => StageOutputs[T];
}

/** An implementation of one stage type. `R` is the services it needs. */
export interface StageDefinition<T extends StageType, R = never> {
  /** The stage type this implements. */
  readonly type: T;
  /** A short name of the implementation, recorded in lineage (`processing_engine`, facets). */
  readonly implementation: string;
  /** Runs one attempt of the stage. */
  readonly run: (
    ctx: StageContext,
    inputs: StageInputs,
  ) => Effect.Effect<StageOutputs[T], StageError, R>;
  /** How many items the output holds (CloudEvent `output_count`, `outputStatistics.rowCount`). */
  readonly outputCount: (output: StageOutputs[T]) => number;
  /**
   * The outside system an attempt calls (e.g. `clinicaltrials.gov`, `vllm:8000`): the key of the
   * circuit breaker and rate limiter it shares with every other stage calling the same system.
   * Undefined (or no function) for in-process work: then no breaker or rate limit applies.
   */
  readonly dependency?: (ctx: StageContext, inputs: StageInputs) => string | undefined;
  /** Whether a successful attempt used a GPU service (CloudEvent `gpu_used`). */
  readonly usesGpu?: boolean;
}

/** Any stage implementation (for registries). */
// deno-lint-ignore no-explicit-any
export type AnyStageDefinition<R = any> = { [T in StageType]: StageDefinition<T, R> }[StageType];

/** The stage contracts, by name (DESIGN §4): each is `(ctx, input) => Effect<Output, StageError>`. */
export type IngestStage<R = never> = StageDefinition<"Ingest", R>;
/** Payload → Document IR. */
export type ParseStage<R = never> = StageDefinition<"Parse", R>;
/** Document → chunks. */
export type ChunkStage<R = never> = StageDefinition<"Chunk", R>;
/** Chunks → embeddings. */
export type EmbedStage<R = never> = StageDefinition<"Embed", R>;
/** Embeddings + chunks → index receipt. */
export type IndexStage<R = never> = StageDefinition<"Index", R>;
/** Document → entities and claims. */
export type ExtractStage<R = never> = StageDefinition<"Extract", R>;
/** Entities and claims → graph write receipt. */
export type KGStage<R = never> = StageDefinition<"KG", R>;
/** Payload → stored PDF receipt. */
export type DownloadStage<R = never> = StageDefinition<"Download", R>;
