/**
 * `--metrics-port N` and `--metrics-host HOST` for the long-running commands: starts the
 * Prometheus endpoint for the command's life and hands out the layer that records the command's
 * metrics and reads its store and resilience state at each scrape.
 *
 * @module
 */
import { Layer } from "effect";
import type { FlagSpec, ParsedArgs } from "./_args.ts";
import { UsageError } from "./_args.ts";
import { makeMetrics, type MetricsShape } from "../pipelines/metrics.ts";
import { layerRunMetrics, type MeteredSink } from "../pipelines/metric_collectors.ts";
import type { JobLedger } from "../pipelines/ledger.ts";
import type { OutboxStore } from "../lineage/outbox.ts";
import type { Resilience } from "../policies/resilience.ts";
import { startMetricsServer } from "../adapters/prometheus/metrics_server.ts";

/** The flags, to spread into a command's flag specs. */
export const flags: Readonly<Record<string, FlagSpec>> = {
  "metrics-port": { type: "integer", min: 0 },
  "metrics-host": { type: "string" },
};

/** The flags' usage lines. */
export const usage =
  `  --metrics-port N    serve Prometheus metrics at http://HOST:N/metrics while running
  --metrics-host H    the address the metrics endpoint listens on (default: 127.0.0.1)`;

/** Where a command serves its metrics; no port: it serves none. */
export interface MetricsOptions {
  /** `--metrics-port`. */
  readonly port?: number;
  /** `--metrics-host`. */
  readonly hostname?: string;
}

/** The metrics flags of parsed arguments; `--metrics-host` alone is a usage error. */
export const optionsFrom = (flags: ParsedArgs["flags"]): MetricsOptions => {
  const port = flags["metrics-port"] as number | undefined;
  const hostname = flags["metrics-host"] as string | undefined;
  if (port === undefined && hostname !== undefined) {
    throw new UsageError("--metrics-host needs --metrics-port");
  }
  return {
    ...(port === undefined ? {} : { port }),
    ...(hostname === undefined ? {} : { hostname }),
  };
};

/** A command's running endpoint. */
export interface Endpoint {
  /** Where the command's metrics are recorded. */
  readonly metrics: MetricsShape;
  /** The endpoint's URL. */
  readonly url: string;
  /** Stops the endpoint. */
  readonly close: () => Promise<void>;
}

/**
 * Starts the command's endpoint when a port is given, saying where on stderr; a usage error when
 * it cannot listen.
 */
export const start = async (
  command: string,
  options: MetricsOptions,
): Promise<Endpoint | undefined> => {
  if (options.port === undefined) return undefined;
  const metrics = makeMetrics();
  try {
    const server = await startMetricsServer(metrics, {
      port: options.port,
      ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
    });
    console.error(`${command}: metrics at ${server.url}`);
    return { metrics, url: server.url, close: server.close };
  } catch (e) {
    throw new UsageError(`--metrics-port: ${(e as Error).message}`);
  }
};

/** The layer recording into the command's metrics (empty without an endpoint). */
export const layer = (
  endpoint: Endpoint | undefined,
  sinks: ReadonlyArray<MeteredSink> = [],
): Layer.Layer<never, never, JobLedger | OutboxStore | Resilience> =>
  endpoint === undefined ? Layer.empty : layerRunMetrics(endpoint.metrics, { sinks });
