/**
 * The cluster health check run before any job starts: `GET /_cluster/health` must answer, and with
 * `green` or `yellow` (a single-node cluster is yellow: its replicas have nowhere to go). A red
 * cluster or one that does not answer fails with a one-line message naming its URL.
 *
 * @module
 */
import { Effect } from "effect";
import { type StageError, Transient } from "../../stages/errors.ts";
import { redactUrl } from "../http/http_errors.ts";
import type { OpenSearchConnection } from "./_connection.ts";
import { send } from "./_connection.ts";
import { clusterHealthResponse, decodeResponse } from "./opensearch_responses.ts";

/**
 * A cluster that can serve the index.
 *
 * @category models
 */
export interface ClusterHealth {
  /** The cluster's name. */
  readonly clusterName: string;
  /** `green`, or `yellow` when some replicas are unassigned. */
  readonly status: "green" | "yellow";
  /** How many nodes are in the cluster. */
  readonly nodes: number;
}

/**
 * Asks the cluster for its health: green or yellow succeeds; red fails with `Transient` (a primary
 * shard is unassigned; the cluster may recover); no answer fails as every request does.
 *
 * @category constructors
 */
export const checkClusterHealth = (
  connection: OpenSearchConnection,
): Effect.Effect<ClusterHealth, StageError> =>
  send(connection, (client) => client.cluster.health()).pipe(
    Effect.flatMap((response) =>
      decodeResponse(clusterHealthResponse, response.request, response.body)
    ),
    Effect.flatMap((health) => {
      if (health.status !== "red") {
        return Effect.succeed<ClusterHealth>({
          clusterName: health.cluster_name,
          status: health.status,
          nodes: health.number_of_nodes,
        });
      }
      const message = `OpenSearch at ${
        redactUrl(connection.options.url)
      } is red: cluster ${health.cluster_name} has ${health.unassigned_shards} unassigned shards`;
      return Effect.fail(new Transient({ message }));
    }),
  );
