/**
 * The OpenSearch client the adapter's operations share, and the one wrapper that runs a client
 * call as an Effect: interruption aborts the request, failures are mapped once through
 * `opensearch_errors.ts`, and a response comes back with the request it answered.
 *
 * @module
 */
import type { ApiResponse, Client } from "@opensearch-project/opensearch";
import { Clock, Effect } from "effect";
import type { StageError } from "../../stages/errors.ts";
import {
  classifyOpenSearchFailure,
  type OpenSearchRequest,
  requestOf,
} from "./opensearch_errors.ts";
import {
  defaultOpenSearchTimeoutMs,
  type OpenSearchOptions,
  searchPipelineOf,
} from "./opensearch_options.ts";

/** A configured client and the options it was built from. */
export interface OpenSearchConnection {
  /** The client, made (and the client library loaded) on first use. */
  readonly client: () => Promise<Client>;
  /** Closes the client, if one was made. */
  readonly close: () => Promise<void>;
  readonly options: OpenSearchOptions;
  /** The search pipeline the hybrid query runs through. */
  readonly searchPipeline: string;
  readonly timeoutMs: number;
}

/** A response, with the request it answered. */
export interface SentResponse {
  readonly request: OpenSearchRequest;
  readonly status: number;
  readonly body: unknown;
}

/** Opens a client for valid options (see `validateOpenSearchOptions`). */
export const openConnection = (options: OpenSearchOptions): OpenSearchConnection => {
  const timeoutMs = options.timeoutMs ?? defaultOpenSearchTimeoutMs;
  let made: Promise<Client> | undefined;
  const client = () =>
    made ??= loadSdk().then(({ Client }) => makeClient(Client, options, timeoutMs));
  return {
    client,
    close: async () => {
      if (made) await (await made).close();
    },
    options,
    searchPipeline: searchPipelineOf(options),
    timeoutMs,
  };
};

type Sdk = typeof import("@opensearch-project/opensearch");

// The client library is loaded only when a stage first talks to OpenSearch, so commands and
// pipelines that never do (the default ones) do not pay for it.
const loadSdk = (): Promise<Sdk> => import("@opensearch-project/opensearch");

const makeClient = (
  ClientClass: Sdk["Client"],
  options: OpenSearchOptions,
  timeoutMs: number,
): Client =>
  new ClientClass({
    node: options.url,
    ...(options.username !== undefined && options.password !== undefined
      ? { auth: { username: options.username, password: options.password } }
      : {}),
    requestTimeout: timeoutMs,
    // Retries and backoff belong to the stage's policy; a retry inside the client would hide
    // attempts from it (and from lineage).
    maxRetries: 0,
    // With one node there is nothing to fail over to; "ping" would send background HEAD
    // requests after a failure.
    resurrectStrategy: "none",
    ...(options.rejectUnauthorized === false ? { ssl: { rejectUnauthorized: false } } : {}),
  });

/** What `send` calls: one client API call, given the client. */
export type ClientCall = (client: Client) => Promise<ApiResponse> & { abort: () => void };

/**
 * Runs one client call. A non-2xx status fails through `classifyOpenSearchFailure` unless the
 * call passes it in the client's `ignore` option; then it comes back as a response.
 */
export const send = (
  connection: OpenSearchConnection,
  call: ClientCall,
): Effect.Effect<SentResponse, StageError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const pending = call(await connection.client());
      if (signal.aborted) pending.abort();
      signal.addEventListener("abort", () => pending.abort(), { once: true });
      return pending.then((response): SentResponse => ({
        request: requestOf(connection.options.url, response) ??
          { method: "request to", url: connection.options.url },
        status: response.statusCode ?? 0,
        body: response.body,
      }));
    },
    catch: (cause) => cause,
  }).pipe(
    Effect.catch((cause) =>
      Effect.gen(function* () {
        const { errors } = yield* Effect.promise(loadSdk);
        const nowMs = yield* Clock.currentTimeMillis;
        return yield* Effect.fail(
          classifyOpenSearchFailure(
            cause,
            { url: connection.options.url, timeoutMs: connection.timeoutMs },
            nowMs,
            errors,
          ),
        );
      })
    ),
  );
