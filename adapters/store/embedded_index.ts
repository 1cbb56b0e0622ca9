/**
 * The embedded hybrid index: chunks with their text (Postgres full-text) and their vectors
 * (pgvector) in one PGlite table. Writes are upserts by chunk id.
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { InvalidInput, type Permanent, type Transient } from "../../stages/errors.ts";
import { describeUnstorable, firstUnstorableChar } from "../../stages/storable_text.ts";
import type { ChunkSet, EmbeddingBatch, IndexReceipt } from "../../stages/ir.ts";
import {
  chunkSetSchema,
  embeddingBatchSchema,
  indexReceiptSchema,
} from "../../stages/ir_schemas.ts";
import type { SqlClient } from "./sql_client.ts";
import { StoreDatabase } from "./store_database.ts";
import { writeFailure } from "./_write_faults.ts";

// A chunk with text the store cannot hold is the document's fault: refused before the write.
const unstorableChunk = (set: ChunkSet): InvalidInput | undefined => {
  for (const [i, chunk] of set.chunks.entries()) {
    const bad = firstUnstorableChar(chunk.text);
    if (bad !== undefined) {
      const path = `chunks[${i}].text`;
      return new InvalidInput({
        message: `${chunk.chunkId}: ${path}: ${
          describeUnstorable(bad)
        }, which the store cannot hold`,
        path,
      });
    }
  }
  return undefined;
};

/** A vector as SQL text: pgvector's `[…]` or a Postgres array's `{…}`. */
export const vectorLiteral = (db: SqlClient, v: ReadonlyArray<number>): string =>
  db.hasVector ? `[${v.join(",")}]` : `{${v.join(",")}}`;

/**
 * Writes a document's chunks and vectors into the store's hybrid index (upserts by chunk id;
 * chunks of an earlier version that no longer exist are removed).
 *
 * @category constructors
 */
export const writeChunks = (
  db: SqlClient,
  tenantId: string,
  chunkSet: ChunkSet,
  batch: EmbeddingBatch,
): Effect.Effect<IndexReceipt, InvalidInput | Permanent | Transient> => {
  const { chunks, docId } = chunkSet;
  const refused = unstorableChunk(chunkSet);
  if (refused !== undefined) return Effect.fail(refused);
  const vectors = new Map(batch.vectors.map((v) => [v.chunkId, v.vector]));
  // Every vector goes in one flat array of floats (sent in the binary format on PGlite, see
  // pglite_statements.ts), each row naming its slice: no float is printed or parsed as text.
  const floats: number[] = [];
  const rows = chunks.map((c) => {
    const vector = vectors.get(c.chunkId) ?? [];
    const from = floats.length + 1;
    for (const x of vector) floats.push(x);
    return {
      chunk_id: c.chunkId,
      doc_id: c.docId,
      tenant_id: tenantId,
      section_id: c.sectionId,
      body: c.text,
      start_offset: c.start,
      end_offset: c.end,
      metadata: c.metadata,
      embedder: batch.model,
      v_from: from,
      v_to: floats.length,
    };
  });
  return Effect.tryPromise({
    try: async () => {
      // One statement, atomic on its own: chunks of an earlier version of the document that no
      // longer exist are removed (so a re-run never leaves stale chunks behind) and the others
      // upserted. The two touch different rows, so neither needs to see what the other did.
      await db.query(
        `with stale as (
           delete from lk_chunks
           where tenant_id = $3 and doc_id = $4 and not (chunk_id = any($5::text[])))
         insert into lk_chunks (chunk_id, doc_id, tenant_id, section_id, body, start_offset,
             end_offset, metadata, embedder, embedding)
           select r.chunk_id, r.doc_id, r.tenant_id, r.section_id, r.body, r.start_offset,
             r.end_offset, r.metadata, r.embedder,
             ($2::real[])[r.v_from:r.v_to]${db.hasVector ? "::vector" : ""}
           from jsonb_to_recordset($1::jsonb) as r(chunk_id text, doc_id text, tenant_id text,
             section_id text, body text, start_offset int, end_offset int, metadata jsonb,
             embedder text, v_from int, v_to int)
           on conflict (tenant_id, chunk_id) do update set body = excluded.body,
             section_id = excluded.section_id, start_offset = excluded.start_offset,
             end_offset = excluded.end_offset, metadata = excluded.metadata,
             embedder = excluded.embedder, embedding = excluded.embedding, updated_at = now()`,
        [JSON.stringify(rows), floats, tenantId, docId, chunks.map((c) => c.chunkId)],
      );
      return { docId, index: "lk_chunks", upserted: rows.length };
    },
    // Refused for the data in it (a row too large for an index …): Permanent; else Transient.
    catch: (cause) => writeFailure("index write", cause),
  });
};

/**
 * The built-in Index stage: the store's hybrid index (full-text + pgvector on PGlite, full-text +
 * `real[]` on a PostgreSQL server).
 *
 * @category constructors
 */
export const embeddedIndexStage: StageDefinition<
  IndexReceipt,
  Record<string, never>,
  { readonly Chunk: typeof chunkSetSchema; readonly Embed: typeof embeddingBatchSchema },
  StoreDatabase
> = defineStage({
  type: "Index",
  implementation: "embedded",
  description: "the store's hybrid index: full-text ranking plus vectors",
  input: { Chunk: chunkSetSchema, Embed: embeddingBatchSchema },
  output: indexReceiptSchema,
  run: (ctx, { Chunk: chunks, Embed: batch }) =>
    Effect.flatMap(
      Effect.service(StoreDatabase),
      (db) => writeChunks(db, ctx.tenantId, chunks, batch),
    ),
  outputCount: (receipt) => receipt.upserted,
  writesTables: ["lk_chunks"],
});
