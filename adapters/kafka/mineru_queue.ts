/**
 * The `mineru.queue` contract between the kit and external MinerU GPU workers: the kit publishes
 * `org.medicalkg.mineru.requested` CloudEvents to `mineru.queue.v1`, a worker parses the PDF and
 * answers on `mineru.results.v1` with `org.medicalkg.mineru.completed` or `…failed`. Both topics
 * carry binary-mode CloudEvents keyed by document id; every event is checked against the
 * catalogue's schema on the way out and on the way in.
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { mineruRequestedEvent } from "./mineru_queue.ts";
 *
 * const event = mineruRequestedEvent({
 *   job_id: "job-1",
 *   tenant_id: "default",
 *   doc_id: "pmc:PMC123",
 *   pdf_uri: "file:///data/pdfs/PMC123.pdf",
 *   checksum: `sha256:${"0".repeat(64)}`,
 *   priority: 5,
 *   correlation_id: "c-1",
 * }, { time: new Date("2026-01-01T00:00:00Z") });
 * console.log(Result.getOrThrow(event).partitionkey); // pmc:PMC123
 * ```
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../../stages/errors.ts";
import { Effect, Result } from "effect";
import type { KafkaMessage } from "kafkajs";
import {
  type CloudEventDataByType,
  type KitCloudEvent,
  type MineruCompletedData,
  type MineruFailedData,
  type MineruRequestedData,
  validateCloudEvent,
} from "../../lineage/cloudevent_types.ts";
import {
  decodeKafkaMessage,
  encodeBinary,
  type KafkaInboundMessage,
} from "../../lineage/kafka_cloudevents.ts";
import {
  type KafkaClientConfig,
  type KafkaConsumerFactory,
  kafkajsConsumer,
  type KafkaProducerFactory,
  lazyProducer,
} from "./kafka_client.ts";

/**
 * The topic parse requests go to.
 *
 * @category models
 */
export const MINERU_QUEUE_TOPIC = "mineru.queue.v1";

/**
 * The topic workers answer on.
 *
 * @category models
 */
export const MINERU_RESULTS_TOPIC = "mineru.results.v1";

/**
 * The consumer group the kit reads results in, unless configured otherwise.
 *
 * @category models
 */
export const MINERU_RESULTS_GROUP = "lineage-kit-mineru-results";

/**
 * A MinerU queue event was malformed, or Kafka failed; `operation` says which step.
 *
 * @category errors
 */
const MineruQueueErrorBase: TaggedErrorClass<"MineruQueueError", {
  readonly operation: "build" | "decode" | "send" | "consume";
  readonly message: string;
}> = taggedError("MineruQueueError");
// Named with an explicit type so the published declaration needs no inference (JSR).
/**
 * A MinerU queue event was malformed, or Kafka failed; `operation` says which step.
 *
 * @category errors
 */
export class MineruQueueError extends MineruQueueErrorBase {}

/**
 * The three MinerU event types.
 *
 * @category models
 */
export type MineruEventType =
  | "org.medicalkg.mineru.requested"
  | "org.medicalkg.mineru.completed"
  | "org.medicalkg.mineru.failed";

/**
 * Optional envelope attributes of a MinerU event.
 *
 * @category models
 */
export interface MineruEventOptions {
  /** The event's `time`. @default now */
  readonly time?: Date;
  /**
   * The event's `source`.
   * @default "/lineage-kit/mineru-bridge" for requests, "/mineru-worker" for results
   */
  readonly source?: string;
  /** The event's `id`. @default `<job_id>:<type suffix>` plus the checksum for requests */
  readonly id?: string;
}

/**
 * Builds a MinerU event of any of the three types, checked against the catalogue.
 *
 * @param type one of the `org.medicalkg.mineru.*` types
 * @param data the event's data
 * @param options time, source and id
 * @returns the structured-mode event, or what is wrong with `data`
 * @category constructors
 */
export const makeMineruEvent = <T extends MineruEventType>(
  type: T,
  data: CloudEventDataByType[T],
  options: MineruEventOptions = {},
): Result.Result<KitCloudEvent, MineruQueueError> => {
  const suffix = type.slice("org.medicalkg.".length);
  const requested = type === "org.medicalkg.mineru.requested";
  const event = {
    specversion: "1.0",
    // Deterministic, so a redelivered request or result is recognisable as the same event.
    id: options.id ??
      `${data.job_id}:${suffix}${requested ? `:${(data as MineruRequestedData).checksum}` : ""}`,
    source: options.source ?? (requested ? "/lineage-kit/mineru-bridge" : "/mineru-worker"),
    type,
    subject: data.doc_id,
    time: (options.time ?? new Date()).toISOString(),
    datacontenttype: "application/json",
    tenantid: data.tenant_id,
    correlationid: data.correlation_id,
    partitionkey: data.doc_id,
    data,
  } as const;
  const issues = validateCloudEvent(event);
  return issues.length === 0 ? Result.succeed(event) : Result.fail(
    new MineruQueueError({
      operation: "build",
      message: `${type}: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    }),
  );
};

/**
 * Builds the `org.medicalkg.mineru.requested` event for a PDF.
 *
 * @param request the job, document, PDF location, checksum and priority
 * @param options time, source and id
 * @returns the event, or what is wrong with the request
 * @category constructors
 */
export const mineruRequestedEvent = (
  request: MineruRequestedData,
  options?: MineruEventOptions,
): Result.Result<KitCloudEvent, MineruQueueError> =>
  makeMineruEvent("org.medicalkg.mineru.requested", request, options);

/**
 * A worker's answer, by type.
 *
 * @category models
 */
export type MineruResult =
  | {
    readonly type: "org.medicalkg.mineru.completed";
    readonly data: MineruCompletedData;
    readonly event: KitCloudEvent;
  }
  | {
    readonly type: "org.medicalkg.mineru.failed";
    readonly data: MineruFailedData;
    readonly event: KitCloudEvent;
  };

const decodeError = (message: string) =>
  Result.fail(new MineruQueueError({ operation: "decode", message }));

/**
 * Reads a worker's answer from a structured-mode event.
 *
 * @param event a decoded CloudEvent
 * @returns the typed result, or why it is not a valid MinerU result
 * @category constructors
 */
export const parseMineruResult = (
  event: unknown,
): Result.Result<MineruResult, MineruQueueError> => {
  const issues = validateCloudEvent(event);
  if (issues.length > 0) {
    return decodeError(issues.map((i) => `${i.path}: ${i.message}`).join("; "));
  }
  const valid = event as KitCloudEvent;
  if (valid.type === "org.medicalkg.mineru.completed") {
    return Result.succeed({
      type: valid.type,
      data: valid.data as MineruCompletedData,
      event: valid,
    });
  }
  if (valid.type === "org.medicalkg.mineru.failed") {
    return Result.succeed({ type: valid.type, data: valid.data as MineruFailedData, event: valid });
  }
  return decodeError(`${valid.type} is not a MinerU result`);
};

/**
 * Decodes a record of `mineru.results.v1` (either content mode) into a typed result.
 *
 * @param message a record as kafkajs delivers it
 * @returns the typed result, or why the record is not one
 * @category constructors
 */
export const decodeMineruResult = (
  message: KafkaInboundMessage,
): Result.Result<MineruResult, MineruQueueError> => {
  const decoded = decodeKafkaMessage(message);
  return Result.isSuccess(decoded)
    ? parseMineruResult(decoded.success)
    : decodeError(decoded.failure.message);
};

/**
 * Publishes parse requests to `mineru.queue.v1`.
 *
 * @category models
 */
export interface MineruQueueProducer {
  /** Builds, checks and sends one request; succeeds with the event sent. */
  readonly request: (
    request: MineruRequestedData,
    options?: MineruEventOptions,
  ) => Effect.Effect<KitCloudEvent, MineruQueueError>;
  /** Disconnects the producer, if one was made. */
  readonly close: () => Effect.Effect<void>;
}

/**
 * Options of the MinerU producer and consumer.
 *
 * @category models
 */
export interface MineruQueueOptions {
  /**
   * The topic to publish to or read from.
   * @default "mineru.queue.v1" for the producer, "mineru.results.v1" for the consumer
   */
  readonly topic?: string;
  /** Builds the producer (once, on first send). @default the kafkajs producer */
  readonly producerFactory?: KafkaProducerFactory;
  /** Builds the consumer. @default the kafkajs consumer */
  readonly consumerFactory?: KafkaConsumerFactory;
  /** The consumer group results are read in. @default "lineage-kit-mineru-results" */
  readonly groupId?: string;
}

const fromPromise = <A>(operation: "send" | "consume", run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new MineruQueueError({ operation, message: (cause as Error)?.message ?? String(cause) }),
  });

/**
 * A producer of MinerU parse requests (binary mode, keyed by document id, `acks: -1`).
 *
 * @param config the brokers and security settings
 * @param options topic and producer factory
 * @returns the producer; its kafkajs producer is made on first use
 * @category constructors
 */
export const makeMineruQueueProducer = (
  config: KafkaClientConfig,
  options: MineruQueueOptions = {},
): MineruQueueProducer => {
  const topic = options.topic ?? MINERU_QUEUE_TOPIC;
  const producer = lazyProducer(config, options.producerFactory);
  return {
    request: (request, eventOptions) =>
      Effect.gen(function* () {
        const event = yield* Effect.fromResult(mineruRequestedEvent(request, eventOptions));
        const message = yield* Effect.fromResult(Result.mapError(
          encodeBinary(event),
          (e) => new MineruQueueError({ operation: "build", message: e.message }),
        ));
        yield* fromPromise("send", async () =>
          (await producer.get()).send({
            topic,
            acks: -1,
            messages: [{ ...message, headers: { ...message.headers } }],
          }));
        return event;
      }),
    close: () => Effect.promise(() => producer.close().catch(() => undefined)),
  };
};

/**
 * Reads worker answers from `mineru.results.v1` in a consumer group.
 *
 * @category models
 */
export interface MineruResultsConsumer {
  /**
   * Connects, subscribes and starts handing each result to `handle`. A handler failure is thrown
   * back to kafkajs, which does not commit the record and delivers it again; a record that is not
   * a valid result goes to `onInvalid` and is skipped, since it would never become valid.
   */
  readonly run: <E>(
    handle: (result: MineruResult) => Effect.Effect<void, E>,
    onInvalid: (error: MineruQueueError, message: KafkaMessage) => void,
  ) => Effect.Effect<void, MineruQueueError>;
  /** Disconnects the consumer. */
  readonly close: () => Effect.Effect<void>;
}

/**
 * A consumer of MinerU results.
 *
 * @param config the brokers and security settings
 * @param options topic, group id and consumer factory
 * @returns the consumer; nothing connects until `run`
 * @category constructors
 */
export const makeMineruResultsConsumer = (
  config: KafkaClientConfig,
  options: MineruQueueOptions = {},
): MineruResultsConsumer => {
  const topic = options.topic ?? MINERU_RESULTS_TOPIC;
  const consumer = (options.consumerFactory ?? kafkajsConsumer)(
    config,
    options.groupId ?? MINERU_RESULTS_GROUP,
  );
  return {
    run: (handle, onInvalid) =>
      fromPromise("consume", async () => {
        await consumer.connect();
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            const result = decodeMineruResult(message);
            if (Result.isFailure(result)) return onInvalid(result.failure, message);
            await Effect.runPromise(handle(result.success));
          },
        });
      }),
    close: () => Effect.promise(() => consumer.disconnect().catch(() => undefined)),
  };
};
