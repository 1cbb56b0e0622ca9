/**
 * zod schemas of the OpenSearch responses the adapter reads, and the one place a response body is
 * checked against its schema. A body that does not match fails with `Permanent` naming the
 * request, the field path and what was expected.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { Permanent } from "../../stages/errors.ts";
import { redactUrl } from "../http/http_errors.ts";
import type { OpenSearchRequest } from "./opensearch_errors.ts";

/**
 * `{"acknowledged": true}`: the answer to a create-index or put-pipeline request.
 *
 * @category schemas
 */
export const acknowledgedResponse: z.ZodType<{ readonly acknowledged: boolean }> = z.object({
  acknowledged: z.boolean(),
});

/**
 * A knn_vector field as `GET /{index}/_mapping` shows it.
 *
 * @category models
 */
export interface MappedField {
  /** The field type, e.g. `knn_vector`, `text`. */
  readonly type?: string;
  /** The vector length of a `knn_vector`. */
  readonly dimension?: number;
}

/**
 * `GET /{index}/_mapping`: `{"<index>": {"mappings": {"properties": {…}}}}`.
 *
 * @category schemas
 */
export const mappingResponse: z.ZodType<
  Readonly<
    Record<string, {
      readonly mappings: { readonly properties?: Readonly<Record<string, MappedField>> };
    }>
  >
> = z.record(
  z.string(),
  z.object({
    mappings: z.object({
      properties: z.record(
        z.string(),
        z.object({ type: z.string().optional(), dimension: z.number().int().optional() }),
      ).optional(),
    }),
  }),
);

/**
 * The error of one failed bulk item.
 *
 * @category models
 */
export interface BulkItemError {
  /** OpenSearch's exception type, e.g. `mapper_parsing_exception`. */
  readonly type: string;
  /** What went wrong. */
  readonly reason?: string | null;
  /** The underlying error, when OpenSearch reports one. */
  readonly caused_by?: unknown;
}

/**
 * The outcome of one bulk action.
 *
 * @category models
 */
export interface BulkItem {
  /** The document id the action wrote. */
  readonly _id?: string | null;
  /** The item's HTTP status: 200/201 written, 4xx/5xx failed. */
  readonly status: number;
  /** Present when the action failed. */
  readonly error?: BulkItemError;
}

/**
 * A `_bulk` response: `errors` says whether any item failed; `items` has one entry per action,
 * in request order, keyed by the action (`index`, `create`, `update`, `delete`).
 *
 * @category schemas
 */
export const bulkResponse: z.ZodType<{
  readonly errors: boolean;
  readonly items: ReadonlyArray<Readonly<Partial<Record<BulkAction, BulkItem>>>>;
}> = z.object({
  errors: z.boolean(),
  items: z.array(
    z.partialRecord(
      z.enum(["index", "create", "update", "delete"]),
      z.object({
        _id: z.string().nullable().optional(),
        status: z.number().int(),
        error: z.object({
          type: z.string(),
          reason: z.string().nullable().optional(),
          caused_by: z.unknown().optional(),
        }).optional(),
      }),
    ),
  ),
});

/**
 * The bulk actions.
 *
 * @category models
 */
export type BulkAction = "index" | "create" | "update" | "delete";

/**
 * A `_delete_by_query` response: how many documents matched and were deleted, and the per-document
 * failures.
 *
 * @category schemas
 */
export const deleteByQueryResponse: z.ZodType<{
  readonly total: number;
  readonly deleted: number;
  readonly timed_out: boolean;
  readonly failures: ReadonlyArray<unknown>;
}> = z.object({
  total: z.number().int().nonnegative(),
  deleted: z.number().int().nonnegative(),
  timed_out: z.boolean(),
  failures: z.array(z.unknown()),
});

/**
 * One hit of the hybrid search, with the chunk fields the adapter stores.
 *
 * @category models
 */
export interface ChunkHit {
  /** The document id (`_id`). */
  readonly _id: string;
  /** The fused score. */
  readonly _score: number;
  /** The stored chunk fields the search reads back. */
  readonly _source: { readonly chunk_id: string; readonly doc_id: string; readonly text: string };
  /** The `_name`s of the query clauses the hit matched. */
  readonly matched_queries?: ReadonlyArray<string>;
}

/**
 * A search response whose hits are chunks.
 *
 * @category schemas
 */
export const chunkSearchResponse: z.ZodType<{
  readonly hits: { readonly hits: ReadonlyArray<ChunkHit> };
}> = z.object({
  hits: z.object({
    hits: z.array(z.object({
      _id: z.string(),
      _score: z.number(),
      _source: z.object({ chunk_id: z.string(), doc_id: z.string(), text: z.string() }),
      matched_queries: z.array(z.string()).optional(),
    })),
  }),
});

/**
 * `GET /_cluster/health`.
 *
 * @category schemas
 */
export const clusterHealthResponse: z.ZodType<{
  readonly cluster_name: string;
  readonly status: "green" | "yellow" | "red";
  readonly number_of_nodes: number;
  readonly unassigned_shards: number;
}> = z.object({
  cluster_name: z.string(),
  status: z.enum(["green", "yellow", "red"]),
  number_of_nodes: z.number().int().nonnegative(),
  unassigned_shards: z.number().int(),
});

const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) =>
      typeof key === "number"
        ? `${out}[${key}]`
        : out === ""
        ? String(key)
        : `${out}.${String(key)}`,
    "",
  );

/**
 * Checks a response body against its schema; a mismatch is `Permanent` naming the request, the
 * field path and what was expected.
 *
 * @category combinators
 */
export const decodeResponse = <A>(
  schema: z.ZodType<A>,
  request: OpenSearchRequest,
  body: unknown,
): Effect.Effect<A, Permanent> => {
  const parsed = schema.safeParse(body);
  if (parsed.success) return Effect.succeed(parsed.data);
  const issue = parsed.error.issues[0];
  const where = pathText(issue.path) || "(body)";
  return Effect.fail(
    new Permanent({
      message: `${request.method} ${
        redactUrl(request.url)
      }: unexpected response: ${where}: ${issue.message}`,
    }),
  );
};
