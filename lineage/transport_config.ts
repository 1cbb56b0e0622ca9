/**
 * The transports a lineage configuration can name, as plain values: what `resolveLineageConfig`
 * returns and `sinksFor` turns into sinks.
 *
 * @module
 */
import type { HttpTransportConfig } from "./http_transport.ts";

export type { HttpTransportConfig } from "./http_transport.ts";

/** The kit's default: JSONL files (`openlineage.jsonl`, `cloudevents.jsonl`) in a directory. */
export interface JsonlTransportConfig {
  readonly type: "jsonl";
  /** @default the store's lineage directory */
  readonly dir?: string;
}

/** The official clients' `file` transport: OpenLineage events as JSON lines in one file. */
export interface FileTransportConfig {
  readonly type: "file";
  readonly path: string;
  readonly name?: string;
}

/** The official clients' `console` transport: one JSON line per event on stderr. */
export interface ConsoleTransportConfig {
  readonly type: "console";
  readonly name?: string;
}

/** A Kafka destination; the Kafka module builds its sink. */
export interface KafkaTransportConfig {
  readonly type: "kafka";
  readonly topic: string;
  readonly brokers: ReadonlyArray<string>;
  /** Producer properties as the official clients take them (`bootstrap.servers` …). */
  readonly properties: Readonly<Record<string, string>>;
  readonly messageKey?: string;
  readonly name?: string;
}

/** Any transport. */
export type TransportConfig =
  | JsonlTransportConfig
  | FileTransportConfig
  | ConsoleTransportConfig
  | HttpTransportConfig
  | KafkaTransportConfig;
