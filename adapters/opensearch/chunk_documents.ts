/**
 * Chunks and their vectors as OpenSearch documents, and the `_bulk` body that writes them (pure).
 *
 * @module
 */
import { Effect } from "effect";
import { Permanent } from "../../stages/errors.ts";
import type { Chunk, FieldValue } from "../../stages/ir.ts";
import { textField, vectorField } from "./index_definition.ts";

/**
 * What one `writeChunks` call stores: a document's chunks with their vectors, for one tenant.
 *
 * @category models
 */
export interface ChunkWrite {
  /** The tenant the chunks belong to; stale chunks are only removed within it. */
  readonly tenantId: string;
  /** The document whose chunks these are; its other chunks in the index are removed. */
  readonly docId: string;
  /** The chunks, in document order (may be empty: then the document's chunks are all removed). */
  readonly chunks: ReadonlyArray<Chunk>;
  /** One vector per chunk, keyed by chunk id. */
  readonly vectors: ReadonlyArray<
    { readonly chunkId: string; readonly vector: ReadonlyArray<number> }
  >;
  /** The embedding model that made the vectors, stored with each chunk. */
  readonly embedder: string;
  /**
   * The `_id` of a chunk's document. It must be deterministic so a re-run overwrites.
   * @default (chunk) => chunk.chunkId
   */
  readonly documentId?: (chunk: Chunk) => string;
}

/**
 * The stored form of a chunk.
 *
 * @category models
 */
export interface ChunkDocument {
  /** The chunk id, `{docId}:chunk:{i}`. */
  readonly chunk_id: string;
  /** The document the chunk was cut from. */
  readonly doc_id: string;
  /** The tenant the chunk belongs to. */
  readonly tenant_id: string;
  /** The source of the document, the `{source}` of its id. */
  readonly source: string;
  /** The section the chunk was cut from. */
  readonly section_id: string;
  /** The section's title, when the chunk's metadata names it. */
  readonly section_title?: string;
  /** The embedding model that made `embedding`. */
  readonly embedder: string;
  /** Offset of the chunk in its section's text. */
  readonly start_offset: number;
  /** Offset just past the chunk's last character. */
  readonly end_offset: number;
  /** The chunk's text (BM25, English analyzer). */
  readonly text: string;
  /** The chunk's vector. */
  readonly embedding: ReadonlyArray<number>;
  /** The chunk's metadata, kept in `_source` only. */
  readonly metadata: Readonly<Record<string, FieldValue>>;
}

/**
 * The `_id` used when the caller gives no `documentId`: the chunk id.
 *
 * @category constructors
 */
export const chunkIdAsDocumentId = (chunk: Chunk): string => chunk.chunkId;

/**
 * The source of a document id `{source}:{docKey}`.
 *
 * @category combinators
 */
export const sourceOfDocId = (docId: string): string => {
  const colon = docId.indexOf(":");
  return colon < 0 ? docId : docId.slice(0, colon);
};

/**
 * The document a chunk is stored as.
 *
 * @category constructors
 */
export const chunkDocument = (
  write: Pick<ChunkWrite, "tenantId" | "embedder">,
  chunk: Chunk,
  vector: ReadonlyArray<number>,
): ChunkDocument => {
  const title = chunk.metadata.section_title;
  return {
    chunk_id: chunk.chunkId,
    doc_id: chunk.docId,
    tenant_id: write.tenantId,
    source: sourceOfDocId(chunk.docId),
    section_id: chunk.sectionId,
    ...(typeof title === "string" ? { section_title: title } : {}),
    embedder: write.embedder,
    start_offset: chunk.start,
    end_offset: chunk.end,
    [textField]: chunk.text,
    [vectorField]: vector,
    metadata: chunk.metadata,
  };
};

/**
 * A checked write: every chunk with its vector and `_id`.
 *
 * @category models
 */
export interface PreparedChunk {
  /** The document `_id`. */
  readonly id: string;
  /** The chunk. */
  readonly chunk: Chunk;
  /** Its stored form. */
  readonly document: ChunkDocument;
}

const fail = (message: string): Effect.Effect<never, Permanent> =>
  Effect.fail(new Permanent({ message }));

/**
 * Pairs each chunk with its vector and `_id`, before anything is sent: a chunk of another
 * document, a missing vector, a vector of another length than the index's, or two chunks with
 * one `_id` fail with `Permanent` naming the chunk.
 *
 * @category constructors
 */
export const prepareChunks = (
  write: ChunkWrite,
  dimensions: number,
): Effect.Effect<ReadonlyArray<PreparedChunk>, Permanent> => {
  const vectors = new Map(write.vectors.map((v) => [v.chunkId, v.vector]));
  const idOf = write.documentId ?? chunkIdAsDocumentId;
  const seen = new Map<string, string>();
  const prepared: Array<PreparedChunk> = [];
  for (const chunk of write.chunks) {
    if (chunk.docId !== write.docId) {
      return fail(`chunk ${chunk.chunkId} belongs to ${chunk.docId}, not ${write.docId}`);
    }
    const vector = vectors.get(chunk.chunkId);
    if (vector === undefined) return fail(`chunk ${chunk.chunkId} has no vector`);
    if (vector.length !== dimensions) {
      return fail(
        `chunk ${chunk.chunkId} has a vector of ${vector.length} dimensions from ${write.embedder}; the index holds ${dimensions}`,
      );
    }
    const id = idOf(chunk);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      return fail(`chunks ${earlier} and ${chunk.chunkId} have the same document id ${id}`);
    }
    seen.set(id, chunk.chunkId);
    prepared.push({ id, chunk, document: chunkDocument(write, chunk, vector) });
  }
  return Effect.succeed(prepared);
};

/**
 * The `_bulk` body: an `index` action (`_id` only; the index is in the path) and the document,
 * per chunk.
 *
 * @category constructors
 */
export const bulkBody = (
  chunks: ReadonlyArray<PreparedChunk>,
): Array<Record<string, unknown>> =>
  chunks.flatMap((
    c,
  ) => [{ index: { _id: c.id } }, c.document as unknown as Record<string, unknown>]);
