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
  /** Selects this transport. */
  readonly type: "jsonl";
  /** The directory the two files are written to. @default the store's lineage directory */
  readonly dir?: string;
}

/**
 * The official clients' `file` transport: OpenLineage events as JSON lines appended to one file,
 * or (the Python client's `log_file_path` without `append: true`) one file per event named
 * `{path}-{YYYYMMDD-HHMMSS.ffffff}.json`.
 */
export interface FileTransportConfig {
  /** Selects this transport. */
  readonly type: "file";
  /** The file events are appended to, or the prefix of the per-event files. */
  readonly path: string;
  /** Append JSON lines to `path`; false writes one file per event. @default true */
  readonly append?: boolean;
  /** The relay's cursor name for this sink. @default `jsonl:openlineage:<absolute path>` */
  readonly name?: string;
}

/** The official clients' `console` transport: one JSON line per event on stderr. */
export interface ConsoleTransportConfig {
  /** Selects this transport. */
  readonly type: "console";
  /** The relay's cursor name for this sink. @default "console" */
  readonly name?: string;
}

/** A Kafka destination; the Kafka module builds its sink. */
export interface KafkaTransportConfig {
  /** Selects this transport. */
  readonly type: "kafka";
  /** The topic OpenLineage events are sent to. */
  readonly topic: string;
  /** The brokers to connect to, `host:port` each (from `bootstrap.servers`). */
  readonly brokers: ReadonlyArray<string>;
  /** Producer properties as the official clients take them (`bootstrap.servers` …). */
  readonly properties: Readonly<Record<string, string>>;
  /**
   * The key of every record. When unset, each event is keyed by what it is about, as
   * `namespace/name`: `run:` and a run event's root job, else `job:` or `dataset:`.
   */
  readonly messageKey?: string;
  /** The relay's cursor name for this sink; when unset, one is made from the brokers and topic. */
  readonly name?: string;
}

/** Any transport. */
export type TransportConfig =
  | JsonlTransportConfig
  | FileTransportConfig
  | ConsoleTransportConfig
  | HttpTransportConfig
  | KafkaTransportConfig;
