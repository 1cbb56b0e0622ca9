/**
 * The HTTP transport: sends OpenLineage events to Marquez or any OpenLineage endpoint, as the
 * official clients do (`POST {url}{endpoint}`, JSON, `Authorization: Bearer <api key>`, optional
 * gzip), and does better with failures:
 *
 * - 2xx is success (Marquez answers 201).
 * - 408, 425, 429, 5xx and network errors or timeouts are retried with exponential backoff, or
 *   after the `Retry-After` the server asked for, within a bounded number of attempts and time.
 * - Any other 4xx refuses the event itself (a poison event): it is not retried, and the relay
 *   sets it aside as a dead letter so the run's later events still go out. 401, 403, 404, 405,
 *   407 and 415 are the exception: they say the sink is misconfigured (wrong key, wrong path),
 *   so the events stay pending instead of being thrown away.
 * - The API key and secret-looking header values never appear in an error or log message.
 *
 * Events go one by one in outbox order, one job after the other within a job and several jobs at
 * once; with `batch: true`, many events per `POST {endpoint}/batch` with per-event results, several
 * batches of whole jobs at once.
 * Time is read through Effect's `Clock`, so tests drive retries with `TestClock`.
 *
 * @module
 */
import { Effect, Redacted } from "effect";
import type { OutboxRow } from "./outbox.ts";
import type { SinkError } from "./sink.ts";
import type { EventOutcome, RelaySink, SettledEvent, Settlement } from "./settlement.ts";
import { defaultRetryLimits } from "./_http_policy.ts";
import { perEventStatuses, settleFromStatuses } from "./_http_batch.ts";
import {
  encode,
  postWithRetries,
  type RequestContext,
  type RetryNotice,
  type Target,
  targetOf,
} from "./_http_request.ts";

export type { RetryNotice } from "./_http_request.ts";

/** The endpoint the official clients and Marquez use. */
export const DEFAULT_ENDPOINT = "/api/v1/lineage";

/** Retry limits of the HTTP transport; every field optional. */
export interface HttpRetryOptions {
  /** Total attempts per request, the first one included. @default 5 */
  readonly maxAttempts?: number;
  /** Delay before the first retry; doubles after each. @default 500 */
  readonly initialDelayMs?: number;
  /** Longest delay between attempts, unless the server's `Retry-After` asks more. @default 30000 */
  readonly maxDelayMs?: number;
  /** Time budget of one request from its first attempt; no retry starts past it. @default 120000 */
  readonly maxElapsedMs?: number;
}

/** Configuration of the HTTP transport. */
export interface HttpTransportConfig {
  /** Selects this transport. */
  readonly type: "http";
  /** Base URL, e.g. `http://localhost:5000`. */
  readonly url: string;
  /** Appended to `url`. @default "/api/v1/lineage" */
  readonly endpoint?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  readonly apiKey?: Redacted.Redacted<string>;
  /** Compresses request bodies with gzip (`Content-Encoding: gzip`). @default no compression */
  readonly compression?: "gzip";
  /** Per-request timeout. @default 5000 */
  readonly timeoutMs?: number;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Query parameters added to every request. */
  readonly urlParams?: Readonly<Record<string, string>>;
  /** Retry limits; fields left out take their defaults. */
  readonly retry?: HttpRetryOptions;
  /** Send many events per request to `batchEndpoint`. @default false */
  readonly batch?: boolean;
  /** Where batches are posted, appended to `url`. @default `${endpoint}/batch` */
  readonly batchEndpoint?: string;
  /** Events per batch request. @default 100 */
  readonly maxBatch?: number;
  /**
   * Requests in flight at once: one job's events each, or with `batch`, batches of whole jobs
   * (a job's events always go one after the other). @default 4
   */
  readonly concurrency?: number;
  /** The relay's cursor name for this sink. @default `http:<url><endpoint>` */
  readonly name?: string;
}

/** Hooks of {@link makeHttpSink}. */
export interface HttpSinkOptions {
  /** Called before each retry sleep, e.g. to log it (the reason is already redacted). */
  readonly onRetry?: (notice: RetryNotice) => Effect.Effect<void>;
}

const SECRET_HEADER = /auth|key|token|secret|password|cookie|session/i;
const OWN_HEADERS = /^(content-type|content-encoding|authorization)$/i;

/** The cursor name of an HTTP sink: its `name`, else `http:` and where it posts. */
export const httpSinkName = (config: HttpTransportConfig): string =>
  config.name ?? `http:${targetOf(config.url, config.endpoint ?? DEFAULT_ENDPOINT).display}`;

const sendEvent = (
  ctx: RequestContext,
  target: Target,
  row: OutboxRow,
): Effect.Effect<EventOutcome, SinkError> =>
  Effect.gen(function* () {
    const final = yield* postWithRetries(ctx, target, yield* encode(ctx, row.payload));
    if (final._tag === "Failed") return yield* Effect.fail(final.error);
    if (final._tag === "Rejected") {
      return { _tag: "Rejected", status: final.status, reason: final.reason } as const;
    }
    return { _tag: "Delivered" } as const;
  });

const settleOneByOne = (
  ctx: RequestContext,
  target: Target,
  events: ReadonlyArray<OutboxRow>,
): Effect.Effect<Settlement> =>
  Effect.gen(function* () {
    const settled: SettledEvent[] = [];
    for (const row of events) {
      const result = yield* Effect.result(sendEvent(ctx, target, row));
      if (result._tag === "Failure") return { settled, error: result.failure };
      settled.push({ seq: row.seq, outcome: result.success });
    }
    return { settled };
  });

const settleBatch = (
  ctx: RequestContext,
  batchTarget: Target,
  eventTarget: Target,
  events: ReadonlyArray<OutboxRow>,
): Effect.Effect<Settlement> =>
  Effect.gen(function* () {
    const body = yield* encode(ctx, events.map((e) => e.payload));
    const final = yield* postWithRetries(ctx, batchTarget, body);
    if (final._tag === "Failed") return { settled: [], error: final.error };
    // The batch as a whole was refused: sending its events one by one finds the poison ones.
    if (final._tag === "Rejected") return yield* settleOneByOne(ctx, eventTarget, events);
    const statuses = perEventStatuses(final.body, events.length);
    if (statuses === undefined && final.status === 207) {
      return settleFromStatuses(ctx, batchTarget, events, events.map(() => undefined));
    }
    return settleFromStatuses(ctx, batchTarget, events, statuses ?? events.map(() => 201));
  });

const contextOf = (config: HttpTransportConfig, options: HttpSinkOptions): RequestContext => {
  const key = config.apiKey ? Redacted.value(config.apiKey) : undefined;
  // The transport owns these three; a custom header of the same name (any case) would be merged
  // into a second value instead of replacing it.
  const custom = Object.fromEntries(
    Object.entries(config.headers ?? {}).filter(([name]) => !OWN_HEADERS.test(name)),
  );
  const secretHeaders = Object.entries(custom)
    .filter(([name, value]) => SECRET_HEADER.test(name) && value.length >= 4)
    .map(([, value]) => value);
  return {
    name: httpSinkName(config),
    headers: {
      ...custom,
      "Content-Type": "application/json",
      ...(config.compression === "gzip" ? { "Content-Encoding": "gzip" } : {}),
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
    },
    secrets: [...(key ? [key] : []), ...secretHeaders],
    timeoutMs: config.timeoutMs ?? 5000,
    limits: { ...defaultRetryLimits, ...config.retry },
    gzip: config.compression === "gzip",
    onRetry: options.onRetry ?? (() => Effect.void),
  };
};

/** A sink posting OpenLineage events to an HTTP endpoint such as Marquez. */
export const makeHttpSink = (
  config: HttpTransportConfig,
  options: HttpSinkOptions = {},
): RelaySink & Required<Pick<RelaySink, "settle" | "maxBatch" | "concurrency">> => {
  const ctx = contextOf(config, options);
  const endpoint = config.endpoint ?? DEFAULT_ENDPOINT;
  const eventTarget = targetOf(config.url, endpoint, config.urlParams);
  const batchTarget = targetOf(
    config.url,
    config.batchEndpoint ?? `${endpoint.replace(/\/+$/, "")}/batch`,
    config.urlParams,
  );
  const settle = (events: ReadonlyArray<OutboxRow>): Effect.Effect<Settlement> =>
    config.batch
      ? settleBatch(ctx, batchTarget, eventTarget, events)
      : settleOneByOne(ctx, eventTarget, events);
  return {
    name: ctx.name,
    channels: ["openlineage"],
    settle,
    maxBatch: config.batch ? config.maxBatch ?? 100 : 1,
    concurrency: config.concurrency ?? 4,
    // Without the relay's per-event records a refused event can only be reported: it is logged
    // and the call succeeds, so that one poison event does not hold back every later one.
    deliver: (events) =>
      settle(events).pipe(
        Effect.tap((s) =>
          Effect.forEach(
            s.settled.filter((e) => e.outcome._tag === "Rejected"),
            (e) => Effect.logWarning(`${ctx.name}: event ${e.seq} refused`, e.outcome),
          )
        ),
        Effect.flatMap((s) => s.error ? Effect.fail(s.error) : Effect.void),
      ),
  };
};
