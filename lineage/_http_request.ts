/**
 * One HTTP request of the HTTP transport, with its retries: a timeout per attempt, exponential
 * backoff or the server's `Retry-After`, a bounded number of attempts and a time budget, and
 * every message scrubbed of secrets. The outcome is a value; nothing here fails.
 *
 * @module
 */
import { Clock, Duration, Effect } from "effect";
import { SinkError } from "./sink.ts";
import { describeNetworkError } from "../stages/network_error.ts";
import {
  backoffMs,
  classifyStatus,
  excerpt,
  retryAfterMs,
  type RetryLimits,
  scrub,
} from "./_http_policy.ts";

/** A retry about to happen. */
export interface RetryNotice {
  /** The name of the sink that retries. */
  readonly sink: string;
  /** The attempt that just failed (1 for the first). */
  readonly attempt: number;
  /** Milliseconds until the next attempt: the server's `Retry-After`, else the backoff. */
  readonly delayMs: number;
  /** Why the attempt failed (the HTTP status or the network error), scrubbed of secrets. */
  readonly reason: string;
}

/** A request body: JSON text, or gzip bytes. */
export type Body = Uint8Array<ArrayBuffer> | string;

/** What came back from one attempt. */
export type Answer =
  | {
    readonly _tag: "Answer";
    readonly status: number;
    readonly statusText: string;
    readonly retryAfter: string | null;
    readonly body: string;
  }
  | { readonly _tag: "NoAnswer"; readonly reason: string };

/** How a request ended after its retries. */
export type Final =
  | { readonly _tag: "Ok"; readonly status: number; readonly body: string }
  | { readonly _tag: "Rejected"; readonly status: number; readonly reason: string }
  | { readonly _tag: "Failed"; readonly error: SinkError };

/** Where requests go. */
export interface Target {
  readonly url: string;
  /** Origin and path only: no credentials, no query. */
  readonly display: string;
}

/** Everything a request needs that does not change between requests. */
export interface RequestContext {
  readonly name: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly secrets: ReadonlyArray<string>;
  readonly timeoutMs: number;
  readonly limits: RetryLimits;
  readonly gzip: boolean;
  readonly onRetry: (notice: RetryNotice) => Effect.Effect<void>;
}

/** `base` + `endpoint` (with or without its leading slash) + query parameters. */
export const targetOf = (
  base: string,
  endpoint: string,
  params: Readonly<Record<string, string>> = {},
): Target => {
  const u = new URL(base);
  const path = endpoint.startsWith("/") ? endpoint : `/${endpoint}`;
  u.pathname = u.pathname.replace(/\/+$/, "") + path;
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return { url: u.toString(), display: `${u.origin}${u.pathname}` };
};

const gzip = (text: string): Effect.Effect<Uint8Array<ArrayBuffer>> =>
  Effect.promise(async () =>
    new Uint8Array(
      await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")))
        .arrayBuffer(),
    )
  );

/** A value as a request body: JSON, gzipped when the transport compresses. */
export const encode = (ctx: RequestContext, value: unknown): Effect.Effect<Body> => {
  const text = JSON.stringify(value);
  return ctx.gzip ? gzip(text) : Effect.succeed(text);
};

const describeAnswer = (answer: Answer): string =>
  answer._tag === "NoAnswer"
    ? answer.reason
    : `HTTP ${answer.status}${answer.statusText ? ` ${answer.statusText}` : ""}${
      answer.body.trim() ? `: ${excerpt(answer.body)}` : ""
    }`;

const post = (ctx: RequestContext, target: Target, body: Body): Effect.Effect<Answer> =>
  Effect.promise(async (signal): Promise<Answer> => {
    try {
      const r = await fetch(target.url, { method: "POST", headers: ctx.headers, body, signal });
      const text = await r.text();
      return {
        _tag: "Answer",
        status: r.status,
        statusText: r.statusText,
        retryAfter: r.headers.get("retry-after"),
        body: text,
      };
    } catch (e) {
      // What happened (an unknown host, a refused connection), not only "fetch failed".
      return { _tag: "NoAnswer", reason: describeNetworkError(e).reason };
    }
  }).pipe(
    // Interrupting the attempt aborts the fetch through its signal.
    Effect.timeoutOrElse({
      duration: Duration.millis(ctx.timeoutMs),
      orElse: () =>
        Effect.succeed<Answer>({
          _tag: "NoAnswer",
          reason: `no answer within ${ctx.timeoutMs} ms`,
        }),
    }),
  );

/** A SinkError about `target`, scrubbed of secrets. */
export const sinkError = (
  ctx: RequestContext,
  target: Target,
  reason: string,
  retryable: boolean,
): SinkError =>
  new SinkError({
    sink: ctx.name,
    message: scrub(`POST ${target.display}: ${reason}`, ctx.secrets),
    retryable,
  });

const attempts = (n: number): string => n === 1 ? "1 attempt" : `${n} attempts`;

const failed = (
  ctx: RequestContext,
  target: Target,
  reason: string,
  retryable: boolean,
): Final => ({
  _tag: "Failed",
  error: sinkError(ctx, target, reason, retryable),
});

/** Posts `body`, retrying what is worth retrying, and says how it ended. */
export const postWithRetries = (
  ctx: RequestContext,
  target: Target,
  body: Body,
): Effect.Effect<Final> =>
  Effect.gen(function* () {
    const started = yield* Clock.currentTimeMillis;
    for (let attempt = 1;; attempt++) {
      const answer = yield* post(ctx, target, body);
      const reason = scrub(describeAnswer(answer), ctx.secrets);
      if (answer._tag === "Answer") {
        const verdict = classifyStatus(answer.status);
        if (verdict === "ok") {
          return { _tag: "Ok", status: answer.status, body: answer.body } satisfies Final;
        }
        if (verdict === "reject") {
          return { _tag: "Rejected", status: answer.status, reason } satisfies Final;
        }
        if (verdict === "fatal") return failed(ctx, target, reason, false);
      }
      if (attempt >= ctx.limits.maxAttempts) {
        return failed(ctx, target, `${reason} (gave up after ${attempts(attempt)})`, true);
      }
      const now = yield* Clock.currentTimeMillis;
      const asked = answer._tag === "Answer" ? retryAfterMs(answer.retryAfter, now) : undefined;
      const delayMs = asked ?? backoffMs(attempt, ctx.limits);
      if (now - started + delayMs > ctx.limits.maxElapsedMs) {
        const spent = `retry budget of ${ctx.limits.maxElapsedMs} ms spent`;
        return failed(ctx, target, `${reason} (${spent} after ${attempts(attempt)})`, true);
      }
      yield* ctx.onRetry({ sink: ctx.name, attempt, delayMs, reason });
      if (delayMs > 0) yield* Effect.sleep(Duration.millis(delayMs));
    }
  });
