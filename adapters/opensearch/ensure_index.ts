/**
 * Creates the chunk index and its hybrid search pipeline, idempotently. An index that already
 * exists is accepted when its `embedding` field is a `knn_vector` of the configured length; any
 * other existing index is a `Permanent` error naming both lengths, because writing vectors of
 * another length into it would fail item by item.
 *
 * @module
 */
import { Effect } from "effect";
import { Permanent, type StageError } from "../../stages/errors.ts";
import { redactUrl } from "../http/http_errors.ts";
import type { OpenSearchConnection } from "./_connection.ts";
import { send } from "./_connection.ts";
import { chunkIndexBody, rrfPipelineBody, vectorField } from "./index_definition.ts";
import {
  classifyOpenSearchStatus,
  errorTypeOf,
  type OpenSearchRequest,
} from "./opensearch_errors.ts";
import { acknowledgedResponse, decodeResponse, mappingResponse } from "./opensearch_responses.ts";

/**
 * What `ensureIndex` found or did.
 *
 * @category models
 */
export interface EnsureIndexResult {
  /** The index name. */
  readonly index: string;
  /** Whether this call created the index (false: it existed with a matching vector field). */
  readonly created: boolean;
  /** The search pipeline, created or replaced with the adapter's definition. */
  readonly searchPipeline: string;
}

const alreadyExists = new Set(["resource_already_exists_exception"]);

const checkMapping = (
  connection: OpenSearchConnection,
): Effect.Effect<void, StageError> => {
  const { index, dimensions } = connection.options;
  return send(connection, (client) => client.indices.getMapping({ index })).pipe(
    Effect.flatMap((response) => decodeResponse(mappingResponse, response.request, response.body)),
    Effect.flatMap((mappings) => {
      const entries = Object.entries(mappings);
      const where = `OpenSearch index ${index} at ${redactUrl(connection.options.url)}`;
      // An alias answers with its concrete index's name, so the only entry is the one to check.
      const field = entries.length === 1
        ? entries[0][1].mappings.properties?.[vectorField]
        : undefined;
      if (field?.type !== "knn_vector") {
        return Effect.fail(
          new Permanent({
            message: `${where} already exists without a knn_vector field "${vectorField}" (found ${
              field?.type ?? "none"
            })`,
          }),
        );
      }
      if (field.dimension !== dimensions) {
        return Effect.fail(
          new Permanent({
            message:
              `${where} already exists with ${vectorField} of dimension ${field.dimension}; the embedder produces ${dimensions}`,
          }),
        );
      }
      return Effect.void;
    }),
  );
};

const createIndex = (connection: OpenSearchConnection): Effect.Effect<boolean, StageError> => {
  const { index } = connection.options;
  // 400 and 409 come back as responses: "already exists" is an answer here, not a failure. Current
  // releases say it with 400; opensearch-project/OpenSearch#22354 changes that to 409.
  return send(
    connection,
    (client) =>
      client.indices.create({ index, body: chunkIndexBody(connection.options) }, {
        ignore: [400, 409],
      }),
  ).pipe(
    Effect.flatMap((response) => {
      if (response.status < 300) {
        return decodeResponse(acknowledgedResponse, response.request, response.body).pipe(
          Effect.as(true),
        );
      }
      if (alreadyExists.has(errorTypeOf(response.body) ?? "")) {
        return checkMapping(connection).pipe(Effect.as(false));
      }
      // Only a 400 or 409 gets here, and both are Permanent: no Retry-After or clock to read.
      return Effect.fail(
        classifyOpenSearchStatus(response.request, response.status, response.body, {}, 0),
      );
    }),
  );
};

const putPipeline = (
  connection: OpenSearchConnection,
): Effect.Effect<OpenSearchRequest, StageError> =>
  send(
    connection,
    (client) =>
      client.searchPipeline.put({ id: connection.searchPipeline, body: rrfPipelineBody() }),
  ).pipe(
    Effect.tap((response) => decodeResponse(acknowledgedResponse, response.request, response.body)),
    Effect.map((response) => response.request),
  );

/**
 * Creates the index (or checks the existing one's vector field), then puts the search pipeline.
 * Putting the pipeline every time keeps it equal to the definition the hybrid query expects.
 *
 * @category constructors
 */
export const ensureIndex = (
  connection: OpenSearchConnection,
): Effect.Effect<EnsureIndexResult, StageError> =>
  createIndex(connection).pipe(
    Effect.flatMap((created) =>
      putPipeline(connection).pipe(
        Effect.as({
          index: connection.options.index,
          created,
          searchPipeline: connection.searchPipeline,
        }),
      )
    ),
  );
