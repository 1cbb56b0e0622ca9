/**
 * The one place that turns the outcome of an HTTP exchange (an error status, a network failure, a
 * timeout) into a {@link StageError}. Adapters that know their remote better (openFDA's "404 means
 * zero hits", vLLM's GPU failures) refine the outcome first and fall back to
 * {@link classifyHttpOutcome} for everything else.
 *
 * Messages name the method, the URL with credentials masked, the status and the remote's own error
 * message, e.g. `GET https://api.fda.gov/drug/label.json?api_key=***: HTTP 403 (API_KEY_INVALID):
 * An invalid api_key was supplied. Get one at https://api.fda.gov:443`.
 *
 * @module
 */
import {
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Transient,
} from "../../stages/errors.ts";
import { describeNetworkError } from "../../stages/network_error.ts";

export { describeNetworkError };

/**
 * An HTTP exchange that did not end in a 2xx response.
 *
 * @category models
 */
export type HttpOutcome =
  | {
    readonly kind: "status";
    readonly method: string;
    readonly url: string;
    readonly status: number;
    readonly headers: Headers;
    /** The response body as text (possibly empty). */
    readonly text: string;
  }
  | {
    readonly kind: "network";
    readonly method: string;
    readonly url: string;
    readonly cause: unknown;
  }
  | {
    readonly kind: "timeout";
    readonly method: string;
    readonly url: string;
    readonly timeoutMs: number;
  };

/**
 * The error a remote described in its response body, in whichever shape it used.
 *
 * @category models
 */
export interface RemoteError {
  /** `error.message`, `message`, `error` or `detail`, whichever the body has first. */
  readonly message: string;
  /** The remote's error code (`"NOT_FOUND"` from openFDA, `400` from vLLM). */
  readonly code?: string | number;
  /** The error class vLLM names (`"BadRequestError"`). */
  readonly type?: string;
  /** The request parameter vLLM blames (`"input_tokens"`). */
  readonly param?: string;
  /** openFDA's extra explanation of a server error. */
  readonly details?: string;
}

/**
 * How long a 429 waits when the remote did not send `Retry-After`.
 *
 * @category constructors
 */
export const defaultRetryAfterMs = 1000;

const maxRemoteMessage = 500;

// Query parameters that carry credentials or a personal contact address: masked in every message,
// because messages end up in the ledger, in CloudEvents and in lineage facets.
const secretParam =
  /([?&](?:api[_-]?key|apikey|key|token|access[_-]?token|auth|password|secret|client[_-]?secret|signature|sig|mailto|email)=)[^&#]*/gi;

/**
 * The URL with credentials masked: user info is dropped and secret query values become `***`.
 * The rest keeps its original encoding.
 *
 * @category combinators
 */
export const redactUrl = (url: string): string =>
  url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, "$1").replace(secretParam, "$1***");

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

const nonEmptyString = (u: unknown): string | undefined =>
  typeof u === "string" && u.trim() !== "" ? u.trim() : undefined;

// FastAPI validation errors are `{"detail": [{"loc": [...], "msg": "..."}]}`.
const detailText = (detail: unknown): string | undefined => {
  if (typeof detail === "string") return nonEmptyString(detail);
  if (Array.isArray(detail)) {
    const parts = detail.map((d) => (isObject(d) ? nonEmptyString(d.msg) : undefined));
    const found = parts.filter((p): p is string => p !== undefined);
    return found.length > 0 ? found.join("; ") : JSON.stringify(detail);
  }
  return detail === undefined || detail === null ? undefined : JSON.stringify(detail);
};

const fromObject = (body: Readonly<Record<string, unknown>>): RemoteError | undefined => {
  // Nested first (`{"error":{message,…}}`: openFDA, current vLLM), then the flat shapes.
  const source = isObject(body.error) ? body.error : body;
  const message = nonEmptyString(source.message) ?? nonEmptyString(body.error) ??
    detailText(body.detail);
  if (message === undefined) return undefined;
  const code = typeof source.code === "string" || typeof source.code === "number"
    ? source.code
    : undefined;
  return {
    message,
    ...(code === undefined ? {} : { code }),
    ...(nonEmptyString(source.type) === undefined ? {} : { type: String(source.type) }),
    ...(nonEmptyString(source.param) === undefined ? {} : { param: String(source.param) }),
    ...(nonEmptyString(source.details) === undefined ? {} : { details: String(source.details) }),
  };
};

/**
 * Reads the remote's error from a response body: `{"error":{"message"}}`, `{"error":"…"}`,
 * `{"detail":…}` or `{"message"}`; `undefined` when the body is not JSON or has none of them.
 *
 * @category combinators
 */
export const parseRemoteError = (text: string): RemoteError | undefined => {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isObject(body) ? fromObject(body) : undefined;
};

/**
 * Milliseconds to wait from a `Retry-After` value (delay in seconds or an HTTP-date, read against
 * `nowMs`); `undefined` when it is missing or unreadable.
 *
 * @category combinators
 */
export const parseRetryAfter = (
  value: string | null | undefined,
  nowMs: number,
): number | undefined => {
  const trimmed = value?.trim() ?? "";
  if (trimmed === "") return undefined;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // An HTTP-date always names its month; without the check `Date.parse("-3")` is year -3.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
};

const plainText = (text: string): string =>
  text.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();

const truncate = (text: string, max: number): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

const statusDetail = (status: number, text: string): string => {
  const remote = parseRemoteError(text);
  if (remote === undefined) {
    const plain = truncate(plainText(text), 200);
    return plain === "" ? `HTTP ${status}` : `HTTP ${status}: ${plain}`;
  }
  const code = typeof remote.code === "string" ? ` (${remote.code})` : "";
  const details = remote.details === undefined ? "" : ` (${remote.details})`;
  return `HTTP ${status}${code}: ${truncate(`${remote.message}${details}`, maxRemoteMessage)}`;
};

/**
 * The message for an outcome: method, masked URL, then the status and remote message, the
 * network failure, or the timeout.
 *
 * @category combinators
 */
export const describeOutcome = (outcome: HttpOutcome): string => {
  const url = redactUrl(outcome.url);
  const where = `${outcome.method} ${url}`;
  switch (outcome.kind) {
    case "status":
      return `${where}: ${statusDetail(outcome.status, outcome.text)}`;
    case "network": {
      const reason = describeNetworkError(outcome.cause).reason.replaceAll(outcome.url, url);
      return `${where}: network error: ${reason}`;
    }
    case "timeout":
      return `${where}: no response within ${outcome.timeoutMs} ms`;
  }
};

const transientStatuses = new Set([408, 425, 500, 502, 503, 504]);
const invalidInputStatuses = new Set([400, 404, 410, 422]);

const classifyStatus = (
  outcome: Extract<HttpOutcome, { kind: "status" }>,
  nowMs: number,
): StageError => {
  const message = describeOutcome(outcome);
  const { status } = outcome;
  const wait = parseRetryAfter(outcome.headers.get("retry-after"), nowMs);
  if (status === 429) {
    return new RateLimited({ message, retryAfterMs: wait ?? defaultRetryAfterMs });
  }
  // Other 5xx (520–524 from CDNs, 507) are the server's trouble too; 501 and 505 will not change.
  if (transientStatuses.has(status) || (status >= 500 && status !== 501 && status !== 505)) {
    return new Transient(wait === undefined ? { message } : { message, retryAfterMs: wait });
  }
  if (invalidInputStatuses.has(status)) {
    return new InvalidInput({ message, path: redactUrl(outcome.url) });
  }
  return new Permanent({ message });
};

/**
 * Maps an HTTP outcome to a stage error: network failures, timeouts, 408/425/5xx → `Transient`
 * (with `retryAfterMs` when `Retry-After` was sent); 429 → `RateLimited` (`Retry-After` or
 * {@link defaultRetryAfterMs}); 400/404/410/422 → `InvalidInput` at the URL; other statuses →
 * `Permanent`. `nowMs` reads HTTP-date `Retry-After` values.
 *
 * @category errors
 */
export const classifyHttpOutcome = (outcome: HttpOutcome, nowMs: number): StageError =>
  outcome.kind === "status"
    ? classifyStatus(outcome, nowMs)
    : new Transient({ message: describeOutcome(outcome) });
