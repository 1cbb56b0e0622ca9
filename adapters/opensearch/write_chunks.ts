/**
 * Writes a document's chunks in one `_bulk` request, then removes the document's chunks that the
 * write did not touch, so a re-processed document that became shorter leaves no orphans.
 *
 * Every bulk item is read. When any failed, the write fails and nothing is removed: a
 * `mapper_parsing_exception` or another 4xx item makes it `Permanent` (naming each failed chunk and
 * OpenSearch's reason), since a retry would send the same document; when every failed item was
 * rejected for load (429) it is `RateLimited`, and when they mix 429s with 5xx items (a shard that
 * was not available) it is `Transient`, so the stage's policy backs off and rewrites the document
 * (the writes are idempotent: every `_id` is deterministic).
 *
 * @module
 */
import { Effect } from "effect";
import { defaultRetryAfterMs, redactUrl } from "../http/http_errors.ts";
import { Permanent, RateLimited, type StageError, Transient } from "../../stages/errors.ts";
import type { IndexReceipt } from "../../stages/ir.ts";
import type { OpenSearchConnection } from "./_connection.ts";
import { send } from "./_connection.ts";
import { bulkBody, type ChunkWrite, prepareChunks, type PreparedChunk } from "./chunk_documents.ts";
import { describeErrorObject, type OpenSearchRequest } from "./opensearch_errors.ts";
import {
  type BulkItem,
  bulkResponse,
  decodeResponse,
  deleteByQueryResponse,
} from "./opensearch_responses.ts";

/**
 * One bulk item that failed, with the chunk it was for.
 *
 * @category models
 */
export interface FailedChunk {
  /** The chunk id. */
  readonly chunkId: string;
  /** The item's HTTP status. */
  readonly status: number;
  /** OpenSearch's `type: reason`. */
  readonly reason: string;
}

const retryableItem = (status: number): boolean =>
  status === 429 || (status >= 500 && status !== 501 && status !== 505);

/**
 * The stage error for a bulk request whose items `failed` (non-empty) out of `total`.
 *
 * @category errors
 */
export const classifyBulkFailures = (
  request: OpenSearchRequest,
  failed: ReadonlyArray<FailedChunk>,
  total: number,
): StageError => {
  const items = failed.map((f) => `chunk ${f.chunkId}: HTTP ${f.status}: ${f.reason}`).join("; ");
  const message = `${request.method} ${
    redactUrl(request.url)
  }: ${failed.length} of ${total} chunks were not written: ${items}`;
  if (failed.some((f) => !retryableItem(f.status))) return new Permanent({ message });
  return failed.every((f) => f.status === 429)
    ? new RateLimited({ message, retryAfterMs: defaultRetryAfterMs })
    : new Transient({ message });
};

const itemOf = (entry: Readonly<Partial<Record<string, BulkItem>>>): BulkItem | undefined =>
  entry.index ?? entry.create ?? entry.update ?? entry.delete;

const readBulk = (
  request: OpenSearchRequest,
  body: unknown,
  chunks: ReadonlyArray<PreparedChunk>,
): Effect.Effect<void, StageError> =>
  decodeResponse(bulkResponse, request, body).pipe(Effect.flatMap((response) => {
    if (response.items.length !== chunks.length) {
      const message = `${request.method} ${
        redactUrl(request.url)
      }: unexpected response: items: ${response.items.length} items for ${chunks.length} chunks`;
      return Effect.fail(new Permanent({ message }));
    }
    // `errors: false` is not trusted alone: every item's status is read.
    const failed = response.items.flatMap((entry, i): ReadonlyArray<FailedChunk> => {
      const item = itemOf(entry);
      if (item !== undefined && item.status < 300 && item.error === undefined) return [];
      const reason = describeErrorObject(item?.error) ?? "no error given";
      return [{ chunkId: chunks[i].chunk.chunkId, status: item?.status ?? 0, reason }];
    });
    return failed.length === 0
      ? Effect.void
      : Effect.fail(classifyBulkFailures(request, failed, chunks.length));
  }));

const writeBulk = (
  connection: OpenSearchConnection,
  chunks: ReadonlyArray<PreparedChunk>,
): Effect.Effect<void, StageError> =>
  chunks.length === 0 ? Effect.void : send(
    connection,
    (client) =>
      client.bulk({
        index: connection.options.index,
        // The next re-run's `_delete_by_query` only sees refreshed documents; waiting for the
        // refresh here makes sure it sees these ones.
        refresh: "wait_for",
        body: bulkBody(chunks),
      }),
  ).pipe(Effect.flatMap((response) => readBulk(response.request, response.body, chunks)));

const removeStale = (
  connection: OpenSearchConnection,
  write: ChunkWrite,
  keep: ReadonlyArray<string>,
): Effect.Effect<number, StageError> =>
  send(
    connection,
    (client) =>
      client.deleteByQuery({
        index: connection.options.index,
        // A version conflict means someone rewrote that chunk meanwhile: skip it, do not abort.
        conflicts: "proceed",
        refresh: true,
        body: {
          query: {
            bool: {
              filter: [
                { term: { tenant_id: write.tenantId } },
                { term: { doc_id: write.docId } },
              ],
              ...(keep.length === 0 ? {} : { must_not: [{ ids: { values: [...keep] } }] }),
            },
          },
        },
      }),
  ).pipe(
    Effect.flatMap((response) =>
      decodeResponse(deleteByQueryResponse, response.request, response.body).pipe(
        Effect.flatMap((result) => {
          if (result.failures.length === 0 && !result.timed_out) {
            return Effect.succeed(result.deleted);
          }
          const what = result.timed_out ? "timed out" : `${result.failures.length} failures`;
          const message = `${response.request.method} ${
            redactUrl(response.request.url)
          }: stale chunks of ${write.docId} not all removed (${result.deleted} of ${result.total} deleted, ${what}): ${
            JSON.stringify(result.failures[0] ?? null)
          }`;
          return Effect.fail(new Transient({ message }));
        }),
      )
    ),
  );

/**
 * Writes a document's chunks (one `_bulk` request of `index` actions) and then deletes the
 * document's other chunks of the same tenant (`_delete_by_query`); returns how many chunks were
 * written.
 *
 * @category constructors
 */
export const writeChunks = (
  connection: OpenSearchConnection,
  write: ChunkWrite,
): Effect.Effect<IndexReceipt, StageError> =>
  prepareChunks(write, connection.options.dimensions).pipe(
    Effect.tap((chunks) => writeBulk(connection, chunks)),
    Effect.tap((chunks) => removeStale(connection, write, chunks.map((c) => c.id))),
    Effect.map((chunks) => ({
      docId: write.docId,
      index: connection.options.index,
      upserted: chunks.length,
    })),
  );
