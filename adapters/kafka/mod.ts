/**
 * Kafka: CloudEvents and OpenLineage sinks over kafkajs, and the `mineru.queue` contract for
 * external GPU workers.
 *
 * @module
 */
export * from "./kafka_client.ts";
export * from "./kafka_sink.ts";
export * from "./openlineage_kafka_sink.ts";
export * from "./mineru_queue.ts";
