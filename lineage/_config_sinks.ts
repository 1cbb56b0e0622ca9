/**
 * From a resolved lineage configuration to sinks, and to a description safe to print.
 *
 * @module
 */
import { Effect } from "effect";
import type { LineageConfig } from "./config.ts";
import { makeConsoleSink } from "./console_sink.ts";
import { httpSinkName, type HttpSinkOptions, makeHttpSink } from "./http_transport.ts";
import { withJobFilters } from "./job_filter.ts";
import { jsonlSinks, makeJsonlSink } from "./jsonl_sink.ts";
import { type LineageSink, SinkError } from "./sink.ts";
import type { KafkaTransportConfig, TransportConfig } from "./transport_config.ts";

/** What {@link sinksFor} needs besides the configuration. */
export interface SinksOptions {
  /** The store's lineage directory, for the default JSONL transport. */
  readonly lineageDir: string;
  /** Builds the Kafka sink; without it a Kafka transport keeps its events pending. */
  readonly kafkaSink?: (transport: KafkaTransportConfig) => LineageSink;
  /** Hooks of HTTP sinks. */
  readonly http?: HttpSinkOptions;
  /** Where the console transport writes. @default stderr */
  readonly consoleWrite?: (line: string) => void;
}

const kafkaName = (t: KafkaTransportConfig) => t.name ?? `kafka:${t.brokers.join(",")}/${t.topic}`;

const noKafka = (t: KafkaTransportConfig): LineageSink => {
  const name = kafkaName(t);
  return {
    name,
    channels: ["openlineage"],
    deliver: () =>
      Effect.fail(
        new SinkError({
          sink: name,
          message: "no Kafka producer is available to this command; events stay pending",
          retryable: false,
        }),
      ),
  };
};

const sinksOf = (t: TransportConfig, options: SinksOptions): ReadonlyArray<LineageSink> => {
  switch (t.type) {
    case "jsonl":
      return jsonlSinks(t.dir ?? options.lineageDir);
    case "file": {
      const sink = makeJsonlSink(t.path, "openlineage");
      return [t.name ? { ...sink, name: t.name } : sink];
    }
    case "console":
      return [makeConsoleSink({ write: options.consoleWrite, name: t.name })];
    case "http":
      return [makeHttpSink(t, options.http)];
    case "kafka":
      return [(options.kafkaSink ?? noKafka)(t)];
  }
};

/**
 * The sinks of a configuration, one per destination: a `composite` transport is already the list
 * of its children, each with its own relay cursor, so one being down never holds the others
 * back. Job filters are applied to every sink. No transports (disabled) gives no sinks.
 */
export const sinksFor = (
  config: LineageConfig,
  options: SinksOptions,
): ReadonlyArray<LineageSink> =>
  config.transports.flatMap((t) => sinksOf(t, options)).map((s) =>
    withJobFilters(s, config.filters)
  );

const SECRET = /pass|secret|token|key|auth|credential|jaas/i;

const describeTransport = (t: TransportConfig): string => {
  switch (t.type) {
    case "jsonl":
      return `jsonl files in ${t.dir ?? "the store's lineage directory"}`;
    case "file":
      return `file ${t.path}`;
    case "console":
      return "console (stderr)";
    case "kafka": {
      const props = Object.entries(t.properties)
        .filter(([k]) => k !== "bootstrap.servers")
        .map(([k, v]) => `${k}=${SECRET.test(k) ? "<redacted>" : v}`);
      return `kafka ${kafkaName(t)}${props.length ? ` (${props.join(", ")})` : ""}`;
    }
    case "http": {
      const parts = [
        t.apiKey ? "api key <redacted>" : undefined,
        t.compression,
        t.timeoutMs !== undefined ? `timeout ${t.timeoutMs} ms` : undefined,
        t.headers ? `headers ${Object.keys(t.headers).join(", ")}` : undefined,
        t.urlParams ? `query ${Object.keys(t.urlParams).join(", ")}` : undefined,
        t.batch ? "batch" : undefined,
      ].filter((p) => p !== undefined);
      const where = httpSinkName({ ...t, name: undefined }).slice("http:".length);
      return `http ${where}${parts.length ? ` (${parts.join(", ")})` : ""}`;
    }
  }
};

/** A human description of the configuration; secrets are redacted. */
export const describeLineageConfig = (config: LineageConfig): string => {
  const lines = [`namespace ${config.namespace}`];
  lines.push(
    config.transports.length === 0
      ? `lineage disabled (${config.origin})`
      : `transports from ${config.origin}:`,
  );
  for (const t of config.transports) lines.push(`  ${describeTransport(t)}`);
  if (config.filters.length > 0) {
    const fs = config.filters.map((f) =>
      f.type === "exact" ? `exact ${JSON.stringify(f.match)}` : `regex ${JSON.stringify(f.regex)}`
    );
    lines.push(`not emitted: jobs matching ${fs.join(", ")}`);
  }
  if (config.parent) {
    const p = config.parent;
    lines.push(`parent run ${p.job.namespace}/${p.job.name}/${p.runId}`);
  }
  return lines.join("\n");
};
