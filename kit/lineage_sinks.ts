/**
 * The sinks every command delivers lineage to: the OpenLineage transports of the lineage
 * configuration (`--lineage`, `OPENLINEAGE_*`, openlineage.yml, or the JSONL default) and one
 * CloudEvents sink (`--events`, default JSONL next to the OpenLineage files).
 *
 * @module
 */
import { makeOpenLineageKafkaSink } from "../adapters/kafka/openlineage_kafka_sink.ts";
import { type LineageConfig, sinksFor } from "../lineage/config.ts";
import type { LineageSink } from "../lineage/sink.ts";
import { eventsSinkFor } from "./events_sink.ts";

/** A command's sinks; `close` ends their connections. */
export interface CommandSinks {
  /** The sinks, OpenLineage first, then CloudEvents. */
  readonly sinks: ReadonlyArray<LineageSink>;
  /** Ends the sinks' connections (a Kafka producer). */
  readonly close: () => Promise<void>;
}

/** The OpenLineage sinks of the configuration plus the CloudEvents sink of `events`. */
export const commandSinks = (
  lineage: LineageConfig,
  options: { readonly lineageDir: string; readonly events?: string },
): CommandSinks => {
  const env = Deno.env.toObject();
  const openlineage = sinksFor(lineage, {
    lineageDir: options.lineageDir,
    kafkaSink: (t) => makeOpenLineageKafkaSink(t, env),
  }).filter((s) => s.channels.includes("openlineage"));
  const events = eventsSinkFor(options.events ?? options.lineageDir, env);
  return { sinks: [...openlineage, events.sink], close: events.close };
};
