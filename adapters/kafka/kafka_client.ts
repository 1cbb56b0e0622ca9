/**
 * Kafka connection settings (from `KAFKA_*` variables, checked before anything connects) and the
 * kafkajs producer and consumer the kit's Kafka sink and MinerU queue share: created lazily on
 * first use, connected once, reused, and replaceable by a fake in tests.
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { kafkaConfigFromEnv } from "./kafka_client.ts";
 *
 * const config = kafkaConfigFromEnv({ KAFKA_BROKERS: "localhost:9092", KAFKA_SSL: "yes" });
 * console.log(Result.isFailure(config)); // true: KAFKA_SSL: expected true or false, got "yes"
 * ```
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../../stages/errors.ts";
import { Result } from "effect";
import type {
  Consumer,
  ConsumerConfig,
  Kafka,
  Producer,
  ProducerRecord,
  SASLOptions,
} from "kafkajs";

/**
 * SASL mechanisms kafkajs supports without plugins.
 *
 * @category models
 */
export type KafkaSaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

/**
 * Where and how to reach the Kafka cluster.
 *
 * @category models
 */
export interface KafkaClientConfig {
  /** `host:port` of one or more bootstrap brokers. */
  readonly brokers: ReadonlyArray<string>;
  /** The client id sent to the brokers. @default "lineage-kit" */
  readonly clientId?: string;
  /** Use TLS. @default false */
  readonly ssl?: boolean;
  /** SASL authentication; none when absent. */
  readonly sasl?: {
    readonly mechanism: KafkaSaslMechanism;
    readonly username: string;
    readonly password: string;
  };
  /**
   * Idempotent producer (exactly one copy per send on the broker side). Brokers without
   * idempotence support (such as librdkafka's mock cluster) need `false`.
   *
   * @default true
   */
  readonly idempotent?: boolean;
}

/**
 * A `KAFKA_*` variable is missing or malformed; `variable` names it.
 *
 * @category errors
 */
const KafkaConfigErrorBase: TaggedErrorClass<"KafkaConfigError", {
  readonly variable: string;
  readonly message: string;
}> = taggedError("KafkaConfigError");
// Named with an explicit type so the published declaration needs no inference (JSR).
/**
 * A `KAFKA_*` variable is missing or malformed; `variable` names it.
 *
 * @category errors
 */
export class KafkaConfigError extends KafkaConfigErrorBase {}

const BROKER = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
const MECHANISMS: ReadonlyArray<KafkaSaslMechanism> = ["plain", "scram-sha-256", "scram-sha-512"];

const problem = (variable: string, what: string) =>
  Result.fail(new KafkaConfigError({ variable, message: `${variable}: ${what}` }));

const booleanVar = (
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  fallback: boolean,
): Result.Result<boolean, KafkaConfigError> => {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === "") return Result.succeed(fallback);
  if (/^(true|1)$/i.test(raw)) return Result.succeed(true);
  if (/^(false|0)$/i.test(raw)) return Result.succeed(false);
  return problem(variable, `expected true or false, got "${raw}"`);
};

const brokersVar = (raw: string | undefined): Result.Result<Array<string>, KafkaConfigError> => {
  if (raw === undefined || raw.trim() === "") {
    return problem("KAFKA_BROKERS", "not set (expected host:port[,host:port…])");
  }
  const brokers = raw.split(",").map((b) => b.trim());
  for (const broker of brokers) {
    const port = BROKER.exec(broker)?.[1];
    if (port === undefined || Number(port) < 1 || Number(port) > 65535) {
      return problem("KAFKA_BROKERS", `"${broker}" is not host:port`);
    }
  }
  return Result.succeed(brokers);
};

const saslVars = (
  env: Readonly<Record<string, string | undefined>>,
): Result.Result<KafkaClientConfig["sasl"], KafkaConfigError> => {
  const mechanism = env.KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  const username = env.KAFKA_SASL_USERNAME;
  const password = env.KAFKA_SASL_PASSWORD;
  if (!mechanism) {
    return username || password
      ? problem("KAFKA_SASL_MECHANISM", "not set, but a SASL username or password is")
      : Result.succeed(undefined);
  }
  if (!(MECHANISMS as ReadonlyArray<string>).includes(mechanism)) {
    return problem(
      "KAFKA_SASL_MECHANISM",
      `unknown mechanism "${env.KAFKA_SASL_MECHANISM}" (known: ${MECHANISMS.join(", ")})`,
    );
  }
  if (!username) return problem("KAFKA_SASL_USERNAME", `not set (needed by ${mechanism})`);
  if (!password) return problem("KAFKA_SASL_PASSWORD", `not set (needed by ${mechanism})`);
  return Result.succeed({ mechanism: mechanism as KafkaSaslMechanism, username, password });
};

/**
 * Reads `KAFKA_BROKERS` (required), `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
 * `KAFKA_SASL_PASSWORD`, `KAFKA_SSL` and `KAFKA_IDEMPOTENT`.
 *
 * @param env the environment, e.g. `Deno.env.toObject()`
 * @returns the settings, or the first bad variable with what is wrong with it
 * @category constructors
 */
export const kafkaConfigFromEnv = (
  env: Readonly<Record<string, string | undefined>>,
): Result.Result<KafkaClientConfig, KafkaConfigError> =>
  Result.gen(function* () {
    const brokers = yield* brokersVar(env.KAFKA_BROKERS);
    const sasl = yield* saslVars(env);
    const ssl = yield* booleanVar(env, "KAFKA_SSL", false);
    const idempotent = yield* booleanVar(env, "KAFKA_IDEMPOTENT", true);
    return { brokers, ssl, idempotent, ...(sasl ? { sasl } : {}) };
  });

/**
 * The part of a kafkajs producer the kit uses.
 *
 * @category models
 */
export interface KafkaProducerLike {
  /** Connects to the cluster. */
  readonly connect: () => Promise<void>;
  /** Sends one record batch to a topic. */
  readonly send: (record: ProducerRecord) => Promise<unknown>;
  /** Disconnects from the cluster. */
  readonly disconnect: () => Promise<void>;
}

/**
 * Builds a (not yet connected) producer; tests pass a fake.
 *
 * @category models
 */
export type KafkaProducerFactory = (config: KafkaClientConfig) => KafkaProducerLike;

/**
 * The part of a kafkajs consumer the kit uses.
 *
 * @category models
 */
export type KafkaConsumerLike = Pick<Consumer, "connect" | "subscribe" | "run" | "disconnect">;

/**
 * Builds a (not yet connected) consumer in a consumer group; tests pass a fake.
 *
 * @category models
 */
export type KafkaConsumerFactory = (
  config: KafkaClientConfig,
  groupId: string,
) => KafkaConsumerLike;

// kafkajs is loaded when a producer or consumer first connects, so commands that never speak
// Kafka do not load it.
const kafkaOf = async (config: KafkaClientConfig): Promise<Kafka> => {
  const { Kafka, logLevel } = await import("kafkajs");
  return new Kafka({
    clientId: config.clientId ?? "lineage-kit",
    brokers: [...config.brokers],
    ssl: config.ssl ?? false,
    ...(config.sasl ? { sasl: { ...config.sasl } as SASLOptions } : {}),
    logLevel: logLevel.ERROR,
  });
};

/**
 * The kafkajs producer: `acks` are set per send; one request in flight so a retried request
 * cannot overtake the next one and reorder a partition.
 *
 * @category constructors
 */
export const kafkajsProducer: KafkaProducerFactory = (config): KafkaProducerLike => {
  let producer: Producer | undefined;
  return {
    connect: async () => {
      const { Partitioners } = await import("kafkajs");
      producer = (await kafkaOf(config)).producer({
        idempotent: config.idempotent ?? true,
        maxInFlightRequests: 1,
        // Java-compatible murmur2 partitioning, so other clients put a key on the same partition.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
    },
    send: (record) => {
      if (!producer) return Promise.reject(new Error("Kafka producer is not connected"));
      return producer.send(record);
    },
    disconnect: async () => {
      await producer?.disconnect();
    },
  };
};

/**
 * The kafkajs consumer of a group.
 *
 * @category constructors
 */
export const kafkajsConsumer: KafkaConsumerFactory = (config, groupId): KafkaConsumerLike => {
  let consumer: Consumer | undefined;
  const connected = (): Consumer => {
    if (!consumer) throw new Error("Kafka consumer is not connected");
    return consumer;
  };
  return {
    connect: async () => {
      consumer = (await kafkaOf(config)).consumer({ groupId } satisfies ConsumerConfig);
      await consumer.connect();
    },
    subscribe: (subscription) => connected().subscribe(subscription),
    run: (config) => connected().run(config),
    disconnect: async () => {
      await consumer?.disconnect();
    },
  };
};

/**
 * A producer made on first use and reused; a failed connect is forgotten so the next use tries
 * again.
 *
 * @category models
 */
export interface LazyProducer {
  /** The connected producer, connecting on first use or after a failed connect. */
  readonly get: () => Promise<KafkaProducerLike>;
  /** Disconnects the producer, if one was made; a later `get` connects a new one. */
  readonly close: () => Promise<void>;
}

/**
 * Wraps a producer factory in a {@link LazyProducer}.
 *
 * @param config the connection settings
 * @param factory builds the producer @default kafkajsProducer
 * @returns the lazy producer
 * @category constructors
 */
export const lazyProducer = (
  config: KafkaClientConfig,
  factory: KafkaProducerFactory = kafkajsProducer,
): LazyProducer => {
  let current: Promise<KafkaProducerLike> | undefined;
  const connect = async () => {
    const producer = factory(config);
    try {
      await producer.connect();
      return producer;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  };
  return {
    get: () => {
      if (current === undefined) {
        const attempt = connect();
        current = attempt;
        attempt.catch(() => {
          if (current === attempt) current = undefined;
        });
      }
      return current;
    },
    close: async () => {
      const producer = await current?.catch(() => undefined);
      current = undefined;
      await producer?.disconnect();
    },
  };
};
