/**
 * What the HTTP transport does with each answer: which statuses are success, worth retrying,
 * a poison event, or a problem of the sink's configuration; how long to wait before a retry.
 *
 * @module
 */

/** How an answer is handled. */
export type StatusClass = "ok" | "retry" | "reject" | "fatal";

// The destination is fine but refuses every event the same way (wrong key, wrong path, no gzip):
// dead-lettering would throw away all lineage, so these keep events pending instead.
const SINK_PROBLEMS = new Set([401, 403, 404, 405, 407, 415]);
const TRANSIENT = new Set([408, 425, 429]);

/** Classifies an HTTP status: 2xx ok; 408/425/429/5xx retry; a refused event reject; else fatal. */
export const classifyStatus = (status: number): StatusClass => {
  if (status >= 200 && status < 300) return "ok";
  if (TRANSIENT.has(status) || status >= 500) return "retry";
  if (SINK_PROBLEMS.has(status)) return "fatal";
  if (status >= 400 && status < 500) return "reject";
  return "fatal";
};

/** Retry limits of the HTTP transport, resolved. */
export interface RetryLimits {
  /** Total attempts per request, the first one included. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Time budget for one request, from its first attempt to giving up. */
  readonly maxElapsedMs: number;
}

/** The defaults: 5 attempts, 0.5 s doubling up to 30 s, 2 minutes in all. */
export const defaultRetryLimits: RetryLimits = {
  maxAttempts: 5,
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  maxElapsedMs: 120_000,
};

/** The exponential delay before retry `n` (1 for the first retry), capped at `maxDelayMs`. */
export const backoffMs = (n: number, limits: RetryLimits): number =>
  Math.min(limits.maxDelayMs, limits.initialDelayMs * 2 ** (n - 1));

/**
 * A `Retry-After` header as milliseconds from `nowMs`: delay-seconds or an HTTP date; undefined
 * when absent or unreadable.
 */
export const retryAfterMs = (header: string | null, nowMs: number): number | undefined => {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
};

/** Replaces every secret in `text` with `<redacted>`. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce(
    (acc, secret) => secret.length === 0 ? acc : acc.split(secret).join("<redacted>"),
    text,
  );

/** The first line-ish of a response body, for an error message. */
export const excerpt = (body: string, max = 200): string => {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
};
