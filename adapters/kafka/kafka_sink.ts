/**
 * The Kafka transport for CloudEvents: a lineage sink that publishes the outbox's `cloudevents`
 * channel to a topic (`orchestration.events.v1` by default), binary content mode by default, the
 * record key being the event's `partitionkey` (the document id) so each document's events stay in
 * order on one partition. Every send waits for all in-sync replicas (`acks: -1`).
 *
 * Delivery is at least once: a batch that fails is retried whole by the relay, so a consumer may
 * see an event again after a partial failure; event ids are deterministic, so it can drop the
 * copy.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeKafkaSink } from "./kafka_sink.ts";
 *
 * const sink = makeKafkaSink({ brokers: ["localhost:9092"], idempotent: false });
 * console.log(sink.name); // kafka:cloudevents:orchestration.events.v1
 * await Effect.runPromise(sink.close());
 * ```
 *
 * @module
 */
import { Effect, Result } from "effect";
import type { CompressionTypes, Message } from "kafkajs";
import type { OutboxRow } from "../../lineage/outbox.ts";
import { SinkError } from "../../lineage/sink.ts";
import {
  delivered,
  type EventOutcome,
  type RelaySink,
  type Settlement,
} from "../../lineage/settlement.ts";
import { encodeKafkaMessage, type KafkaContentMode } from "../../lineage/kafka_cloudevents.ts";
import { type KafkaClientConfig, type KafkaProducerFactory, lazyProducer } from "./kafka_client.ts";

/**
 * The topic CloudEvents go to unless configured otherwise.
 *
 * @category models
 */
export const ORCHESTRATION_EVENTS_TOPIC = "orchestration.events.v1";

/**
 * Record-batch compression kafkajs supports without codec plugins.
 *
 * @category models
 */
export type KafkaCompression = "none" | "gzip";

/**
 * Options of {@link makeKafkaSink}.
 *
 * @category models
 */
export interface KafkaSinkOptions {
  /** The topic events are published to. @default "orchestration.events.v1" */
  readonly topic?: string;
  /**
   * The CloudEvents Kafka content mode: `binary` (attributes in `ce_` headers, data as the value)
   * or `structured` (the whole event as JSON in the value). @default "binary"
   */
  readonly mode?: KafkaContentMode;
  /** How record batches are compressed. @default "none" */
  readonly compression?: KafkaCompression;
  /** The relay's cursor name. @default `kafka:cloudevents:<topic>` */
  readonly name?: string;
  /** Builds the producer (once, on first delivery). @default the kafkajs producer */
  readonly producerFactory?: KafkaProducerFactory;
}

/**
 * A lineage sink that holds a producer; `close` disconnects it. Besides all-or-nothing `deliver`
 * it reports per event (`settle`): an event with no Kafka form is rejected for good (a dead
 * letter) instead of blocking its run's later events.
 *
 * @category models
 */
export interface KafkaSink extends RelaySink {
  /** The topic events are published to. */
  readonly topic: string;
  /** Sends events in order and reports per event; an event with no Kafka form is rejected. */
  readonly settle: (events: ReadonlyArray<OutboxRow>) => Effect.Effect<Settlement>;
  /** Disconnects the producer, if one was made. */
  readonly close: () => Effect.Effect<void>;
}

// kafkajs's CompressionTypes values, written out so this module needs only its types.
const COMPRESSION: Readonly<Record<KafkaCompression, CompressionTypes>> = {
  none: 0 as CompressionTypes.None,
  gzip: 1 as CompressionTypes.GZIP,
};

type Send = (messages: Array<Message>) => Effect.Effect<void, SinkError>;

const toMessage = (row: OutboxRow, mode: KafkaContentMode) =>
  Result.map(encodeKafkaMessage(row.payload, mode), (m): Message => ({
    ...m,
    headers: { ...m.headers },
  }));

/** All or nothing: an event with no Kafka form fails the batch, and would on every retry. */
const deliverAll = (
  sink: string,
  mode: KafkaContentMode,
  send: Send,
  rows: ReadonlyArray<OutboxRow>,
): Effect.Effect<void, SinkError> =>
  Effect.gen(function* () {
    const messages: Array<Message> = [];
    for (const row of rows) {
      const m = toMessage(row, mode);
      if (Result.isFailure(m)) {
        return yield* new SinkError({
          sink,
          message: `outbox event ${row.seq}: ${m.failure.message}`,
          retryable: false,
        });
      }
      messages.push(m.success);
    }
    if (messages.length > 0) yield* send(messages);
  });

/** Per event: events with no Kafka form are rejected for good, the others sent in one batch. */
const settleEach = (
  mode: KafkaContentMode,
  send: Send,
  rows: ReadonlyArray<OutboxRow>,
): Effect.Effect<Settlement> =>
  Effect.gen(function* () {
    const outcomes = new Map<number, EventOutcome>();
    const messages: Array<Message> = [];
    for (const row of rows) {
      const m = toMessage(row, mode);
      if (Result.isSuccess(m)) messages.push(m.success);
      else outcomes.set(row.seq, { _tag: "Rejected", reason: m.failure.message });
    }
    const rejected = [...outcomes].map(([seq, outcome]) => ({ seq, outcome }));
    const sent = messages.length > 0 ? yield* Effect.result(send(messages)) : undefined;
    if (sent && Result.isFailure(sent)) return { settled: rejected, error: sent.failure };
    return {
      settled: rows.map((r) => ({ seq: r.seq, outcome: outcomes.get(r.seq) ?? delivered })),
    };
  });

/**
 * A lineage sink publishing CloudEvents to Kafka with kafkajs. The producer is created on the
 * first delivery and reused; a failed send or connect is a retryable {@link SinkError}, so the
 * relay keeps the events waiting and sends them again, in order, on its next flush.
 *
 * @param config the brokers and security settings
 * @param options topic, content mode, compression and producer factory
 * @returns the sink
 * @category constructors
 */
export const makeKafkaSink = (
  config: KafkaClientConfig,
  options: KafkaSinkOptions = {},
): KafkaSink => {
  const topic = options.topic ?? ORCHESTRATION_EVENTS_TOPIC;
  const name = options.name ?? `kafka:cloudevents:${topic}`;
  const mode = options.mode ?? "binary";
  const compression = COMPRESSION[options.compression ?? "none"];
  const producer = lazyProducer(config, options.producerFactory);
  const send: Send = (messages) =>
    Effect.tryPromise({
      try: async () => {
        const p = await producer.get();
        await p.send({ topic, acks: -1, compression, messages });
      },
      catch: (cause) =>
        new SinkError({
          sink: name,
          message: `kafka send to ${topic} failed: ${(cause as Error)?.message ?? String(cause)}`,
          retryable: true,
        }),
    });
  return {
    name,
    topic,
    channels: ["cloudevents"],
    deliver: (rows) => deliverAll(name, mode, send, rows),
    settle: (rows) => settleEach(mode, send, rows),
    close: () => Effect.promise(() => producer.close().catch(() => undefined)),
  };
};
