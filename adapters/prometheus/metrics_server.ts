/**
 * The Prometheus endpoint: an HTTP server (`Deno.serve`) that answers `GET /metrics` with the
 * kit's metrics in the text exposition format 0.0.4, running the scrape-time collectors first.
 * It listens on loopback unless told otherwise: metrics name pipelines, stages and hosts.
 *
 * Effect's own `PrometheusMetrics.layerHttp` mounts the same route on an `HttpRouter`, which
 * needs a platform HTTP server; the kit renders with `PrometheusMetrics` and serves with Deno.
 *
 * @module
 */
import { Effect, type Scope } from "effect";
import { taggedError, type TaggedErrorClass } from "../../stages/errors.ts";
import type { MetricsShape } from "../../pipelines/metrics.ts";

/**
 * The content type of the text exposition format, as Prometheus asks for it.
 *
 * @category models
 */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Where the endpoint listens.
 *
 * @category models
 */
export interface MetricsServerOptions {
  /** The TCP port; 0 picks a free one (the server's `port` says which). */
  readonly port: number;
  /** The address to listen on. @default "127.0.0.1" */
  readonly hostname?: string;
  /** The path metrics are served at. @default "/metrics" */
  readonly path?: string;
}

/**
 * A running endpoint.
 *
 * @category models
 */
export interface MetricsServer {
  /** The metrics URL, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening; scrapes in progress finish first. */
  readonly close: () => Promise<void>;
}

const MetricsServerErrorBase: TaggedErrorClass<"MetricsServerError", {
  readonly message: string;
}> = taggedError("MetricsServerError");
// Named with an explicit type so the published declaration needs no inference (JSR).
/**
 * The endpoint could not listen (the port is taken, the address is not this machine's …).
 *
 * @category errors
 */
export class MetricsServerError extends MetricsServerErrorBase {}

const text = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });

const handlerOf = (metrics: MetricsShape, path: string) => async (request: Request) => {
  if (new URL(request.url).pathname !== path) {
    return text(404, `not found: metrics are served at ${path}\n`);
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    return text(405, "method not allowed\n", { allow: "GET, HEAD" });
  }
  try {
    const body = await Effect.runPromise(metrics.exposition);
    return new Response(request.method === "HEAD" ? null : body, {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE },
    });
  } catch (e) {
    return text(500, `metrics could not be rendered: ${(e as Error).message ?? e}\n`);
  }
};

const urlOf = (hostname: string, port: number, path: string): string =>
  `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}${path}`;

/**
 * Starts serving `metrics`; rejects with {@link MetricsServerError} when it cannot listen.
 *
 * @example
 * ```ts
 * import { makeMetrics } from "../../pipelines/metrics.ts";
 * import { startMetricsServer } from "./metrics_server.ts";
 *
 * const server = await startMetricsServer(makeMetrics(), { port: 0 });
 * const response = await fetch(server.url);
 * console.log(response.headers.get("content-type")); // text/plain; version=0.0.4; charset=utf-8
 * await response.body?.cancel();
 * await server.close();
 * ```
 *
 * @category constructors
 */
export const startMetricsServer = (
  metrics: MetricsShape,
  options: MetricsServerOptions,
): Promise<MetricsServer> => {
  const hostname = options.hostname ?? "127.0.0.1";
  const path = options.path ?? "/metrics";
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { port: options.port, hostname, onListen: () => {} },
      handlerOf(metrics, path),
    );
  } catch (e) {
    return Promise.reject(
      new MetricsServerError({
        message: `cannot serve metrics on ${urlOf(hostname, options.port, path)}: ${
          (e as Error).message ?? e
        }`,
      }),
    );
  }
  const port = server.addr.port;
  return Promise.resolve({
    url: urlOf(hostname, port, path),
    port,
    close: () => server.shutdown(),
  });
};

/**
 * Serves `metrics` for the life of the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeMetrics } from "../../pipelines/metrics.ts";
 * import { serveMetrics } from "./metrics_server.ts";
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const server = yield* serveMetrics(makeMetrics(), { port: 0 });
 *   return server.url;
 * }));
 * ```
 *
 * @category constructors
 */
export const serveMetrics = (
  metrics: MetricsShape,
  options: MetricsServerOptions,
): Effect.Effect<MetricsServer, MetricsServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startMetricsServer(metrics, options),
      catch: (e) =>
        e instanceof MetricsServerError ? e : new MetricsServerError({ message: String(e) }),
    }),
    (server) => Effect.promise(() => server.close()),
  );
