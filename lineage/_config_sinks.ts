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
import { makeEventFilesSink } from "./event_files_sink.ts";
import { withEventPolicy } from "./event_policy.ts";
import { type LineageBreaker, makeLineageBreaker, withLineageBreaker } from "./circuit_breaker.ts";
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
  /** The circuit breaker; tests give one with a fake memory probe. @default from the config */
  readonly circuitBreaker?: LineageBreaker;
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
      if (t.append === false) return [makeEventFilesSink(t.path, t.name)];
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
 * back. Each sink gets the configuration's event policy (facets, tags, owners, namespace
 * resolvers), its job filters, and the circuit breaker, one shared by all sinks. No transports
 * (disabled) gives no sinks.
 */
export const sinksFor = (
  config: LineageConfig,
  options: SinksOptions,
): ReadonlyArray<LineageSink> => {
  const breaker = options.circuitBreaker ??
    (config.circuitBreaker ? makeLineageBreaker(config.circuitBreaker) : undefined);
  const policy = {
    ...config.facets,
    namespaceResolvers: config.namespaceResolvers,
  };
  return config.transports.flatMap((t) => sinksOf(t, options)).map((s) => {
    const filtered = withJobFilters(withEventPolicy(s, policy), config.filters);
    return breaker ? withLineageBreaker(filtered, breaker) : filtered;
  });
};

const SECRET = /pass|secret|token|key|auth|credential|jaas/i;

const describeTransport = (t: TransportConfig): string => {
  switch (t.type) {
    case "jsonl":
      return `jsonl files in ${t.dir ?? "the store's lineage directory"}`;
    case "file":
      return t.append === false ? `one file per event, ${t.path}-<time>.json` : `file ${t.path}`;
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
  lines.push(...policyLines(config));
  for (const notice of config.notices) lines.push(`note: ${notice}`);
  return lines.join("\n");
};

const policyLines = (config: LineageConfig): string[] => {
  const f = config.facets;
  const tags = (ts: ReadonlyArray<{ key: string; value: string }>) =>
    ts.map((t) => `${t.key}=${t.value}`).join(", ");
  return [
    ...(f.disabled.length > 0 ? [`facets left out: ${f.disabled.join(", ")}`] : []),
    ...(f.environmentVariables.length > 0
      ? [`variables recorded: ${f.environmentVariables.map((v) => v.name).join(", ")}`]
      : []),
    ...(f.tags.job.length > 0 ? [`job tags: ${tags(f.tags.job)}`] : []),
    ...(f.tags.run.length > 0 ? [`run tags: ${tags(f.tags.run)}`] : []),
    ...(f.owners.length > 0
      ? [`job owners: ${f.owners.map((o) => `${o.type}:${o.name}`).join(", ")}`]
      : []),
    ...(config.namespaceResolvers.length > 0
      ? [
        `namespace resolvers: ${
          config.namespaceResolvers.map((r) => `${r.name} (${r.type})`).join(", ")
        }`,
      ]
      : []),
    ...(config.circuitBreaker ? [`circuit breaker: ${breakerText(config)}`] : []),
    ...(config.metrics ? [`metrics: ${config.metrics.type} (for the metrics exposition)`] : []),
  ];
};

const breakerText = (config: LineageConfig): string => {
  const b = config.circuitBreaker!;
  switch (b.type) {
    case "simpleMemory":
      return `simpleMemory, open at or below ${b.memoryThreshold}% free heap` +
        (b.timeoutMs ? `, hand-overs limited to ${b.timeoutMs / 1000} s` : "");
    case "timeout":
      return `timeout, hand-overs limited to ${b.timeoutMs / 1000} s`;
    case "static":
      return `static (${b.values.join(",")})`;
  }
};
