/**
 * Where CloudEvents go: `--events DIR` (JSONL, the default next to the store) or
 * `--events kafka://host:port[,host:port][/topic]` (Kafka, binary mode, key = partitionkey).
 * Kafka security settings come from `KAFKA_SASL_*` / `KAFKA_SSL` as for every Kafka client.
 *
 * @module
 */
import { Effect, Result } from "effect";
import { resolve } from "node:path";
import { makeJsonlSink } from "../lineage/jsonl_sink.ts";
import type { LineageSink } from "../lineage/sink.ts";
import { kafkaConfigFromEnv } from "../adapters/kafka/kafka_client.ts";
import { type KafkaSink, makeKafkaSink } from "../adapters/kafka/kafka_sink.ts";
import { SetupError as UsageError } from "./setup_error.ts";

/** The CloudEvents sink a `--events` value names; `close` ends its connections. */
export const eventsSinkFor = (
  value: string,
  env: Readonly<Record<string, string | undefined>>,
): { readonly sink: LineageSink; readonly close: () => Promise<void> } => {
  if (!value.startsWith("kafka://")) {
    return {
      sink: makeJsonlSink(resolve(value, "cloudevents.jsonl"), "cloudevents"),
      close: () => Promise.resolve(),
    };
  }
  const match = value.match(/^kafka:\/\/([^/?#]+)(?:\/([^/?#]+))?\/?$/);
  if (!match) {
    throw new UsageError(
      `--events: expected kafka://host:port[,host:port][/topic], got "${value}"`,
    );
  }
  const config = kafkaConfigFromEnv({ ...env, KAFKA_BROKERS: match[1] });
  if (Result.isFailure(config)) throw new UsageError(`--events: ${config.failure.message}`);
  const sink: KafkaSink = makeKafkaSink(config.success, match[2] ? { topic: match[2] } : {});
  return { sink, close: () => Effect.runPromise(sink.close()) };
};
