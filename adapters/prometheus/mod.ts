/**
 * The Prometheus adapter: the `/metrics` endpoint that serves the kit's metrics service in the
 * text exposition format 0.0.4 for a Prometheus server to scrape.
 *
 * @example
 * ```ts
 * import { makeMetrics } from "../../pipelines/metrics.ts";
 * import { startMetricsServer } from "./mod.ts";
 *
 * const server = await startMetricsServer(makeMetrics(), { port: 9464 });
 * console.log(server.url); // http://127.0.0.1:9464/metrics
 * await server.close();
 * ```
 *
 * @module
 */
export * from "./metrics_server.ts";
