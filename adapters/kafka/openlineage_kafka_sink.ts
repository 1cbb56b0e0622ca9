/**
 * OpenLineage events on Kafka, keyed like the official clients: a run event by its root job
 * (`run:{namespace}/{job}` of the root run, so a pipeline run and all its stage runs share one
 * partition and keep their order), a job or dataset event by its own name.
 *
 * @module
 */
import { Effect, Result } from "effect";
import type { LineageSink } from "../../lineage/sink.ts";
import { SinkError } from "../../lineage/sink.ts";
import type { KafkaTransportConfig } from "../../lineage/transport_config.ts";
import { kafkaConfigFromEnv, type KafkaProducerFactory, lazyProducer } from "./kafka_client.ts";

// deno-lint-ignore no-explicit-any -- OpenLineage JSON is read loosely here
type Json = Record<string, any>;

/** The message key of an OpenLineage event. */
export const openLineageKey = (event: Readonly<Record<string, unknown>>): string => {
  const e = event as Json;
  const root = e.run?.facets?.parent?.root?.job ?? e.run?.facets?.parent?.job;
  if (e.run && root) return `run:${root.namespace}/${root.name}`;
  if (e.run && e.job) return `run:${e.job.namespace}/${e.job.name}`;
  if (e.job) return `job:${e.job.namespace}/${e.job.name}`;
  if (e.dataset) return `dataset:${e.dataset.namespace}/${e.dataset.name}`;
  return "lineage-kit";
};

/**
 * The official clients' producer properties (`security.protocol`, `sasl.mechanism`,
 * `sasl.username`, `sasl.password`) as the kit's `KAFKA_*` settings; the environment fills the
 * rest.
 */
export const kafkaEnvFromProperties = (
  properties: Readonly<Record<string, string>>,
): Record<string, string> => {
  const env: Record<string, string> = {};
  const protocol = properties["security.protocol"]?.toUpperCase();
  if (protocol === "SSL" || protocol === "SASL_SSL") env.KAFKA_SSL = "true";
  if (properties["sasl.mechanism"]) {
    env.KAFKA_SASL_MECHANISM = properties["sasl.mechanism"].toLowerCase();
  }
  if (properties["sasl.username"]) env.KAFKA_SASL_USERNAME = properties["sasl.username"];
  if (properties["sasl.password"]) env.KAFKA_SASL_PASSWORD = properties["sasl.password"];
  if (properties["enable.idempotence"]) env.KAFKA_IDEMPOTENT = properties["enable.idempotence"];
  return env;
};

/** The sink of a `kafka` OpenLineage transport; security from its properties, then `KAFKA_*`. */
export const makeOpenLineageKafkaSink = (
  transport: KafkaTransportConfig,
  env: Readonly<Record<string, string | undefined>>,
  producerFactory?: KafkaProducerFactory,
): LineageSink => {
  const name = transport.name ??
    `kafka:openlineage:${transport.brokers.join(",")}/${transport.topic}`;
  const config = kafkaConfigFromEnv({
    ...env,
    ...kafkaEnvFromProperties(transport.properties),
    KAFKA_BROKERS: transport.brokers.join(","),
  });
  const producer = Result.isSuccess(config)
    ? lazyProducer(config.success, producerFactory)
    : undefined;
  return {
    name,
    channels: ["openlineage"],
    deliver: (events) =>
      Effect.tryPromise({
        try: async () => {
          if (!producer) {
            throw new Error(Result.isFailure(config) ? config.failure.message : "no producer");
          }
          const p = await producer.get();
          await p.send({
            topic: transport.topic,
            acks: -1,
            messages: events.map((e) => ({
              key: transport.messageKey ?? openLineageKey(e.payload),
              value: JSON.stringify(e.payload),
            })),
          });
        },
        catch: (cause) =>
          new SinkError({
            sink: name,
            message: `Kafka send failed: ${cause instanceof Error ? cause.message : String(cause)}`,
            retryable: true,
          }),
      }),
  };
};
