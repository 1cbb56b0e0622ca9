/**
 * How OpenSearch's failures become stage errors. Messages name the request (method and URL,
 * credentials masked), the status and OpenSearch's own `type: reason`, e.g.
 * `PUT http://search-1:9200/lk-chunks/_bulk?refresh=wait_for: HTTP 429
 * (rejected_execution_exception): rejected execution of coordinating operation […]`.
 *
 * Statuses: 429 is `RateLimited` (with `Retry-After` when sent); 408 and 5xx other than 501/505
 * are `Transient`; every other status is `Permanent` (OpenSearch's 400s are malformed requests
 * or mapping conflicts, which a retry does not fix). A refused connection, an unknown host, a
 * timeout or a dropped connection is `Transient` naming the cluster's URL.
 *
 * @module
 */
import type { errors } from "@opensearch-project/opensearch";
import { Permanent, RateLimited, type StageError, Transient } from "../../stages/errors.ts";
import { defaultRetryAfterMs, parseRetryAfter, redactUrl } from "../http/http_errors.ts";

/**
 * One request as messages name it.
 *
 * @category models
 */
export interface OpenSearchRequest {
  /** The HTTP method. */
  readonly method: string;
  /** The whole URL: the cluster's URL, the path and the query string. */
  readonly url: string;
}

/**
 * The cluster a request went to and how long it was given, for failures without a response.
 *
 * @category models
 */
export interface OpenSearchTarget {
  /** The cluster's URL as configured. */
  readonly url: string;
  /** The request timeout, in milliseconds. */
  readonly timeoutMs: number;
}

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

const maxReason = 500;

const truncate = (text: string): string =>
  text.length <= maxReason ? text : `${text.slice(0, maxReason - 1)}…`;

/**
 * OpenSearch's own description of an error object (`{type, reason, caused_by}`), as
 * `type: reason (caused by type: reason)`; `undefined` when the value is not one.
 *
 * @category errors
 */
export const describeErrorObject = (error: unknown): string | undefined => {
  if (typeof error === "string" && error.trim() !== "") return truncate(error.trim());
  if (!isObject(error) || typeof error.type !== "string") return undefined;
  const reason = typeof error.reason === "string" ? `: ${error.reason}` : "";
  const cause = isObject(error.caused_by) ? describeErrorObject(error.caused_by) : undefined;
  return truncate(`${error.type}${reason}${cause === undefined ? "" : ` (caused by ${cause})`}`);
};

/**
 * The error an OpenSearch error body (`{"error": {…}, "status": …}`) describes; `undefined` when
 * the body has none.
 *
 * @category errors
 */
export const describeErrorBody = (body: unknown): string | undefined =>
  isObject(body) ? describeErrorObject(body.error) : undefined;

/**
 * The `type` of an OpenSearch error body, e.g. `resource_already_exists_exception`.
 *
 * @category errors
 */
export const errorTypeOf = (body: unknown): string | undefined =>
  isObject(body) && isObject(body.error) && typeof body.error.type === "string"
    ? body.error.type
    : undefined;

const bodyText = (body: unknown): string => {
  if (typeof body === "string") return truncate(body.replace(/\s+/g, " ").trim());
  return body === undefined || body === null ? "" : truncate(JSON.stringify(body));
};

const headerValue = (headers: unknown, name: string): string | undefined => {
  if (!isObject(headers)) return undefined;
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
};

const transientStatus = (status: number): boolean =>
  status === 408 || (status >= 500 && status !== 501 && status !== 505);

/**
 * The stage error for an HTTP status OpenSearch answered with.
 *
 * @category errors
 */
export const classifyOpenSearchStatus = (
  request: OpenSearchRequest,
  status: number,
  body: unknown,
  headers: unknown,
  nowMs: number,
): StageError => {
  const said = describeErrorBody(body) ?? bodyText(body);
  const message = `${request.method} ${redactUrl(request.url)}: HTTP ${status}${
    said === "" ? "" : `: ${said}`
  }`;
  const wait = parseRetryAfter(headerValue(headers, "retry-after"), nowMs);
  if (status === 429) {
    return new RateLimited({ message, retryAfterMs: wait ?? defaultRetryAfterMs });
  }
  if (transientStatus(status)) {
    return new Transient(wait === undefined ? { message } : { message, retryAfterMs: wait });
  }
  return new Permanent({ message });
};

interface ClientRequestMeta {
  readonly method?: unknown;
  readonly path?: unknown;
  readonly querystring?: unknown;
}

/**
 * The request a client result or error was about, read from the client's own record of it
 * (`meta.meta.request.params`); `undefined` when the client did not get that far.
 *
 * @category errors
 */
export const requestOf = (baseUrl: string, meta: unknown): OpenSearchRequest | undefined => {
  const params = (meta as { meta?: { request?: { params?: ClientRequestMeta } } } | undefined)
    ?.meta?.request?.params;
  if (typeof params?.method !== "string" || typeof params.path !== "string") return undefined;
  const query = typeof params.querystring === "string" && params.querystring !== ""
    ? `?${params.querystring}`
    : "";
  return { method: params.method, url: `${baseUrl.replace(/\/+$/, "")}${params.path}${query}` };
};

/**
 * Maps whatever the OpenSearch client rejected with to a stage error: a `ResponseError` by its
 * status; a refused connection, unknown host, timeout, dropped or aborted request to `Transient`
 * naming the cluster's URL; anything else (a body that is not JSON, a client misconfiguration)
 * to `Permanent`. `sdkErrors` is the client's `errors` namespace, passed in so that this module
 * does not load the client.
 *
 * @category errors
 */
export const classifyOpenSearchFailure = (
  cause: unknown,
  target: OpenSearchTarget,
  nowMs: number,
  sdkErrors: typeof errors,
): StageError => {
  const request = requestOf(target.url, (cause as { meta?: unknown } | null)?.meta) ??
    { method: "request to", url: target.url };
  const where = `${request.method} ${redactUrl(request.url)}`;
  const url = redactUrl(target.url);
  if (cause instanceof sdkErrors.ResponseError) {
    return classifyOpenSearchStatus(
      request,
      cause.meta.statusCode ?? cause.statusCode,
      cause.meta.body,
      cause.meta.headers,
      nowMs,
    );
  }
  if (cause instanceof sdkErrors.TimeoutError) {
    return new Transient({ message: `${where}: no response within ${target.timeoutMs} ms` });
  }
  if (
    cause instanceof sdkErrors.ConnectionError ||
    cause instanceof sdkErrors.NoLivingConnectionsError
  ) {
    return new Transient({
      message: `${where}: cannot reach OpenSearch at ${url}: ${cause.message}`,
    });
  }
  if (cause instanceof sdkErrors.RequestAbortedError) {
    return new Transient({ message: `${where}: request aborted: ${cause.message}` });
  }
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return new Permanent({ message: `${where}: ${reason}` });
};
