/**
 * One HTTP exchange as an Effect: the global `fetch` (so test servers that patch it see every
 * request), a per-request timeout read from Effect's `Clock`, the body read in full, and every
 * failure mapped once to a {@link StageError} through `http_errors.ts`.
 *
 * The timeout interrupts the exchange, and interruption aborts the request through its
 * `AbortSignal`, so a hung remote holds no socket once the timeout has fired.
 *
 * @module
 */
import { Clock, Duration, Effect } from "effect";
import { InvalidInput, type StageError, Transient } from "../../stages/errors.ts";
import { jsonErrorOffset } from "../sources/json_syntax.ts";
import { displayText } from "../../stages/storable_text.ts";
import { classifyHttpOutcome, type HttpOutcome, redactUrl } from "./http_errors.ts";

/**
 * How one exchange is made and its failures classified.
 *
 * @category models
 */
export interface FetchOptions {
  /**
   * Milliseconds to wait for the whole exchange (headers and body).
   * @default 30000
   */
  readonly timeoutMs?: number;
  /**
   * The fetch to call; the global `fetch` at call time when absent.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
  /**
   * An adapter's own reading of a failed exchange; `undefined` falls back to
   * {@link classifyHttpOutcome}.
   */
  readonly classify?: (outcome: HttpOutcome) => StageError | undefined;
  /**
   * Stop reading a 2xx body after this many bytes (see {@link fetchBytes}); unlimited when absent.
   */
  readonly maxBytes?: number;
}

/**
 * A 2xx response with its body as bytes, read up to a limit.
 *
 * @category models
 */
export interface BytesResponse {
  /** The 2xx status. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The body, or its first `maxBytes + 1` bytes when it is longer. */
  readonly bytes: Uint8Array;
  /** Whether the body went on past `maxBytes` (and was not read to its end). */
  readonly overLimit: boolean;
}

/**
 * A 2xx response with its body as text.
 *
 * @category models
 */
export interface TextResponse {
  /** The 2xx status. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The whole body. */
  readonly text: string;
}

/**
 * A 2xx response with its body parsed as JSON.
 *
 * @category models
 */
export interface JsonResponse {
  /** The 2xx status. */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The parsed body, not yet validated. */
  readonly body: unknown;
}

/**
 * The per-request timeout used when none is given.
 *
 * @category constructors
 */
export const defaultTimeoutMs = 30_000;

const withSignal = (init: RequestInit | undefined, signal: AbortSignal): RequestInit => ({
  ...init,
  signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
});

// A body read in chunks, stopping one byte past the limit: a hostile or broken remote streaming
// gigabytes costs at most `maxBytes + 1` of memory.
const readBody = async (
  response: Response,
  maxBytes: number | undefined,
): Promise<{ readonly bytes: Uint8Array; readonly overLimit: boolean }> => {
  if (maxBytes === undefined || response.body === null) {
    return { bytes: new Uint8Array(await response.arrayBuffer()), overLimit: false };
  }
  const reader = response.body.getReader();
  const chunks: Array<Uint8Array> = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(total, maxBytes + 1));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
  }
  return { bytes, overLimit: total > maxBytes };
};

const lenient = new TextDecoder();

const exchange = (
  url: string,
  init: RequestInit | undefined,
  options: FetchOptions,
): Effect.Effect<BytesResponse, HttpOutcome> => {
  const method = (init?.method ?? "GET").toUpperCase();
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return Effect.tryPromise({
    try: async (signal) => {
      // Looked up per call: a test server installed after this module loaded must still see it.
      const doFetch = options.fetch ?? globalThis.fetch;
      const response = await doFetch(url, withSignal(init, signal));
      const ok = response.status >= 200 && response.status < 300;
      // Error bodies are only quoted in messages: the limit applies to them too.
      const body = await readBody(response, options.maxBytes ?? (ok ? undefined : 1024 * 1024));
      return { status: response.status, headers: response.headers, ...body };
    },
    catch: (cause): HttpOutcome => ({ kind: "network", method, url, cause }),
  }).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail<HttpOutcome>({ kind: "timeout", method, url, timeoutMs }),
    }),
    Effect.flatMap((response) =>
      response.status >= 200 && response.status < 300
        ? Effect.succeed(response)
        : Effect.fail<HttpOutcome>({
          kind: "status",
          method,
          url,
          status: response.status,
          headers: response.headers,
          text: lenient.decode(response.bytes),
        })
    ),
  );
};

const classified = <A>(
  effect: Effect.Effect<A, HttpOutcome>,
  options: FetchOptions,
): Effect.Effect<A, StageError> =>
  effect.pipe(
    Effect.catch((outcome) =>
      Effect.flatMap(
        Clock.currentTimeMillis,
        (nowMs) => Effect.fail(options.classify?.(outcome) ?? classifyHttpOutcome(outcome, nowMs)),
      )
    ),
  );

/**
 * Makes one request and returns a 2xx response's body as bytes, read up to `options.maxBytes`
 * (`overLimit` says the body went on); anything else fails as in {@link fetchText}.
 *
 * @category constructors
 */
export const fetchBytes = (
  url: string,
  init?: RequestInit,
  options: FetchOptions = {},
): Effect.Effect<BytesResponse, StageError> => classified(exchange(url, init, options), options);

/**
 * Makes one request and returns a 2xx response's body as text; anything else fails with the
 * stage error `options.classify` or {@link classifyHttpOutcome} gives it.
 *
 * @category constructors
 */
export const fetchText = (
  url: string,
  init?: RequestInit,
  options: FetchOptions = {},
): Effect.Effect<TextResponse, StageError> =>
  classified(
    Effect.map(exchange(url, init, options), (response) => ({
      status: response.status,
      headers: response.headers,
      text: lenient.decode(response.bytes),
    })),
    options,
  );

// V8 quotes the start of the body ("<html>Sign in…"), which says what came instead of JSON; it is
// escaped because messages are stored and a body may hold a NUL.
const syntaxReason = (error: unknown): string =>
  displayText(
    (error instanceof Error ? error.message : String(error)).replace(
      / in JSON at position .*$/s,
      "",
    ),
    300,
  );

/**
 * Parses a 2xx body as JSON. A body that ends before the JSON does (a cut connection) is
 * `Transient`; one that is not JSON at all (an HTML page from a proxy) is `InvalidInput` at the URL.
 *
 * @category combinators
 */
export const parseJsonBody = (
  method: string,
  url: string,
  response: TextResponse,
): Effect.Effect<JsonResponse, Transient | InvalidInput> => {
  try {
    const body: unknown = JSON.parse(response.text);
    return Effect.succeed({ status: response.status, headers: response.headers, body });
  } catch (error) {
    const where = `${method.toUpperCase()} ${redactUrl(url)}: HTTP ${response.status}`;
    const offset = jsonErrorOffset(response.text) ?? response.text.length;
    if (offset >= response.text.length) {
      const size = response.text.length;
      return Effect.fail(
        new Transient({ message: `${where}: truncated JSON body (${size} characters)` }),
      );
    }
    const message = `${where}: invalid JSON at character ${offset}: ${syntaxReason(error)}`;
    return Effect.fail(new InvalidInput({ message, path: redactUrl(url) }));
  }
};

/**
 * Makes one request and parses a 2xx response's body as JSON; failures as in {@link fetchText}
 * and {@link parseJsonBody}.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { fetchJson } from "./fetch_json.ts";
 *
 * const study = fetchJson("https://clinicaltrials.gov/api/v2/studies/NCT00763412", {
 *   headers: { accept: "application/json" },
 * }, { timeoutMs: 10_000 });
 * const program = Effect.map(study, (response) => response.body);
 * ```
 *
 * @category constructors
 */
export const fetchJson = (
  url: string,
  init?: RequestInit,
  options: FetchOptions = {},
): Effect.Effect<JsonResponse, StageError> =>
  fetchText(url, init, options).pipe(
    Effect.flatMap((response) => parseJsonBody(init?.method ?? "GET", url, response)),
  );

/**
 * The key a circuit breaker or rate limiter shares per remote: `host[:port]` of the URL (the port
 * only when it is not the scheme's default). A string that is not a URL is its own key.
 *
 * @category combinators
 */
export const dependencyOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};
