// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { describe, expect, it } from "vitest";
import { Effect, Result } from "effect";
import { Kafka, logLevel, type ProducerRecord } from "kafkajs";
import { flush, type SinkReport } from "../../../lineage/relay.ts";
import { makeKafkaSink } from "../../../adapters/kafka/kafka_sink.ts";
import { SinkError } from "../../../lineage/sink.ts";
import {
  type KafkaClientConfig,
  kafkaConfigFromEnv,
  type KafkaProducerFactory,
} from "../../../adapters/kafka/kafka_client.ts";
import { decodeKafkaMessage } from "../../../lineage/kafka_cloudevents.ts";
import { pipelineRunId } from "../../../lineage/run_events.ts";
import type { OutboxRow } from "../../../lineage/outbox.ts";
import { interleavedRows, memoryOutbox, scopeOf } from "../../lineage/_kit_events.ts";

const config: KafkaClientConfig = { brokers: ["broker-1:9092"], idempotent: false };

/** A kafkajs producer stand-in whose first `failures` sends reject. */
const fakeProducer = (failures: number, failConnects = 0) => {
  const log = { made: 0, connects: 0, sends: 0, disconnects: 0 };
  const accepted: Array<ProducerRecord> = [];
  const factory: KafkaProducerFactory = () => {
    log.made++;
    return {
      connect: () => {
        log.connects++;
        return log.connects <= failConnects
          ? Promise.reject(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:9092"))
          : Promise.resolve();
      },
      send: (record) => {
        log.sends++;
        if (log.sends <= failures) {
          return Promise.reject(new Error(`This server is not the leader (send ${log.sends})`));
        }
        accepted.push(structuredClone(record));
        return Promise.resolve([]);
      },
      disconnect: () => {
        log.disconnects++;
        return Promise.resolve();
      },
    };
  };
  return { factory, accepted, log };
};

const flushUntilDrained = async (
  rows: ReadonlyArray<OutboxRow>,
  sink: ReturnType<typeof makeKafkaSink>,
) => {
  const layer = memoryOutbox(rows);
  const reports: Array<SinkReport> = [];
  for (let i = 0; i < 20; i++) {
    const [report] = await Effect.runPromise(
      flush([sink], { batchSize: 7 }).pipe(Effect.provide(layer)),
    );
    reports.push(report);
    if (report.pending === 0 && report.error === undefined) break;
  }
  return reports;
};

const docs = ["pmc:PMC1", "pmc:PMC2", "pmc:PMC3"];

describe("makeKafkaSink()", () => {
  it("loses and reorders nothing per document key while the producer fails its first sends", async () => {
    const rows = interleavedRows(docs);
    const producer = fakeProducer(3);
    const sink = makeKafkaSink(config, { producerFactory: producer.factory });
    const reports = await flushUntilDrained(rows, sink);

    expect(reports.map((r) => r.error ?? "ok")).toEqual([
      "kafka send to orchestration.events.v1 failed: This server is not the leader (send 1)",
      "kafka send to orchestration.events.v1 failed: This server is not the leader (send 2)",
      "kafka send to orchestration.events.v1 failed: This server is not the leader (send 3)",
      "ok",
    ]);
    const cloudevents = rows.filter((r) => r.channel === "cloudevents");
    expect(reports[3].delivered).toBe(cloudevents.length);
    const received = producer.accepted.flatMap((r) => r.messages);
    expect(received.length).toBe(cloudevents.length);
    for (const doc of docs) {
      const sent = received.filter((m) => m.key === doc).map((m) =>
        Result.getOrThrow(decodeKafkaMessage(m as any))
      );
      expect(sent).toEqual(
        cloudevents.filter((r) => r.payload.partitionkey === doc).map((r) => r.payload),
      );
    }
    // One producer, connected once, reused across failures and batches.
    expect(producer.log).toEqual({
      made: 1,
      connects: 1,
      sends: 3 + Math.ceil(cloudevents.length / 7),
      disconnects: 0,
    });
    await Effect.runPromise(sink.close());
    expect(producer.log.disconnects).toBe(1);
  });

  it("hands kafkajs exactly the topic, acks, key, string headers and JSON value of each event", async () => {
    const rows = interleavedRows(["pmc:PMC1"]).slice(0, 2);
    const producer = fakeProducer(0);
    const sink = makeKafkaSink(config, { producerFactory: producer.factory });
    await flushUntilDrained(rows, sink);
    const scope = scopeOf("pmc:PMC1");
    const runId = pipelineRunId(scope);
    expect(producer.accepted).toEqual([{
      topic: "orchestration.events.v1",
      acks: -1,
      compression: 0,
      messages: [{
        key: "pmc:PMC1",
        value: JSON.stringify({
          job_id: "job-pmc:PMC1",
          tenant_id: "default",
          correlation_id: "corr-1",
          pipeline: "pdf",
          pipeline_version: "1.0.0",
          run_number: 1,
        }),
        headers: {
          ce_specversion: "1.0",
          ce_id: `${runId}:pipeline.started`,
          ce_source: "/lineage-kit/pdf/pipeline",
          ce_type: "org.medicalkg.orchestration.pipeline.started",
          ce_subject: "pmc:PMC1",
          ce_time: "2026-01-01T00:00:01.000Z",
          "content-type": "application/json",
          ce_tenantid: "default",
          ce_correlationid: "corr-1",
          ce_olrunid: runId,
          ce_oleventtype: "START",
          ce_partitionkey: "pmc:PMC1",
        },
      }],
    }]);
  });

  it("structured mode with gzip sends the whole event as application/cloudevents+json", async () => {
    const rows = interleavedRows(["pmc:PMC1"]).slice(0, 2);
    const producer = fakeProducer(0);
    const sink = makeKafkaSink(config, {
      producerFactory: producer.factory,
      mode: "structured",
      compression: "gzip",
      topic: "events.test",
    });
    await flushUntilDrained(rows, sink);
    expect(producer.accepted).toEqual([{
      topic: "events.test",
      acks: -1,
      compression: 1,
      messages: [{
        key: "pmc:PMC1",
        value: JSON.stringify(rows[1].payload),
        headers: { "content-type": "application/cloudevents+json" },
      }],
    }]);
  });

  it("a failed connect is retryable and the next delivery makes a fresh producer", async () => {
    const rows = interleavedRows(["pmc:PMC1"]);
    const producer = fakeProducer(0, 1);
    const sink = makeKafkaSink(config, { producerFactory: producer.factory });
    const reports = await flushUntilDrained(rows, sink);
    expect(reports.map((r) => r.error ?? "ok")).toEqual([
      "kafka send to orchestration.events.v1 failed: Connection error: connect ECONNREFUSED 127.0.0.1:9092",
      "ok",
    ]);
    expect(producer.log).toMatchObject({ made: 2, connects: 2, disconnects: 1 });
  });

  it("an event with no Kafka form fails deliver() for good, and the relay dead-letters it and goes on", async () => {
    const producer = fakeProducer(0);
    const sink = makeKafkaSink(config, { producerFactory: producer.factory });
    const good = interleavedRows(["pmc:PMC1"]).filter((r) => r.channel === "cloudevents")
      .slice(0, 3);
    const bad: OutboxRow = {
      channel: "cloudevents",
      runId: "r",
      seq: 100,
      jobId: null,
      payload: { specversion: "1.0", id: "1", source: "/s", type: "t", ratio: 0.5 },
    };
    const failed = await Effect.runPromise(Effect.result(sink.deliver([good[0], bad])));
    expect(failed).toEqual(Result.fail(
      new SinkError({
        sink: "kafka:cloudevents:orchestration.events.v1",
        message: 'outbox event 100: attribute "ratio": 0.5 has no CloudEvents header form',
        retryable: false,
      }),
    ));
    expect(producer.log.sends).toBe(0);

    const rows = [good[0], { ...bad, seq: good[0].seq + 1 }, ...good.slice(1)];
    const reports = await flushUntilDrained(rows, sink);
    expect(reports).toEqual([{
      sink: "kafka:cloudevents:orchestration.events.v1",
      delivered: 3,
      pending: 0,
      deadLettered: 1,
    }]);
    expect(producer.accepted.flatMap((r) => r.messages.map((m) => m.key)))
      .toEqual(["pmc:PMC1", "pmc:PMC1", "pmc:PMC1"]);
  });

  it.skipIf(!Deno.env.get("KAFKA_BROKERS"))(
    "publishes to a real Kafka-protocol broker and a consumer reads the events back in order per key",
    async () => {
      const env = Result.getOrThrow(kafkaConfigFromEnv(Deno.env.toObject()));
      const topic = `lineage-kit-test-${crypto.randomUUID()}`;
      const rows = interleavedRows(docs);
      const sink = makeKafkaSink(env, { topic });
      const reports = await flushUntilDrained(rows, sink);
      await Effect.runPromise(sink.close());
      expect(reports.at(-1)).toMatchObject({ pending: 0 });
      const expected = rows.filter((r) => r.channel === "cloudevents").map((r) => r.payload);
      const kafka = new Kafka({ brokers: [...env.brokers], logLevel: logLevel.ERROR });
      const consumer = kafka.consumer({ groupId: `${topic}-reader` });
      const received: Array<Record<string, unknown>> = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((done) => {
        consumer.run({
          eachMessage: ({ message }) => {
            received.push(Result.getOrThrow(decodeKafkaMessage(message)));
            if (received.length === expected.length) done();
            return Promise.resolve();
          },
        });
      });
      await consumer.disconnect();
      for (const doc of docs) {
        expect(received.filter((e) => e.partitionkey === doc))
          .toEqual(expected.filter((e) => e.partitionkey === doc));
      }
    },
  );
});

describe("kafkaConfigFromEnv()", () => {
  const error = (env: Record<string, string>) => {
    const r = kafkaConfigFromEnv(env);
    return Result.isFailure(r) ? [r.failure.variable, r.failure.message] : r.success;
  };

  it("reads brokers, SASL and TLS settings", () => {
    expect(error({
      KAFKA_BROKERS: "b1.example.org:9093, b2.example.org:9093",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "kit",
      KAFKA_SASL_PASSWORD: "s3cret",
      KAFKA_SSL: "true",
    })).toEqual({
      brokers: ["b1.example.org:9093", "b2.example.org:9093"],
      ssl: true,
      idempotent: true,
      sasl: { mechanism: "scram-sha-512", username: "kit", password: "s3cret" },
    });
    expect(error({ KAFKA_BROKERS: "[::1]:9092", KAFKA_IDEMPOTENT: "0" })).toEqual({
      brokers: ["[::1]:9092"],
      ssl: false,
      idempotent: false,
    });
  });

  it("names the bad variable and what is wrong with it", () => {
    expect([
      error({}),
      error({ KAFKA_BROKERS: "localhost" }),
      error({ KAFKA_BROKERS: "localhost:99999" }),
      error({ KAFKA_BROKERS: "localhost:9092", KAFKA_SASL_MECHANISM: "gssapi" }),
      error({ KAFKA_BROKERS: "localhost:9092", KAFKA_SASL_MECHANISM: "plain" }),
      error({
        KAFKA_BROKERS: "localhost:9092",
        KAFKA_SASL_MECHANISM: "plain",
        KAFKA_SASL_USERNAME: "u",
      }),
      error({ KAFKA_BROKERS: "localhost:9092", KAFKA_SASL_PASSWORD: "p" }),
      error({ KAFKA_BROKERS: "localhost:9092", KAFKA_SSL: "yes" }),
    ]).toEqual([
      ["KAFKA_BROKERS", "KAFKA_BROKERS: not set (expected host:port[,host:port…])"],
      ["KAFKA_BROKERS", 'KAFKA_BROKERS: "localhost" is not host:port'],
      ["KAFKA_BROKERS", 'KAFKA_BROKERS: "localhost:99999" is not host:port'],
      [
        "KAFKA_SASL_MECHANISM",
        'KAFKA_SASL_MECHANISM: unknown mechanism "gssapi" (known: plain, scram-sha-256, scram-sha-512)',
      ],
      ["KAFKA_SASL_USERNAME", "KAFKA_SASL_USERNAME: not set (needed by plain)"],
      ["KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD: not set (needed by plain)"],
      ["KAFKA_SASL_MECHANISM", "KAFKA_SASL_MECHANISM: not set, but a SASL username or password is"],
      ["KAFKA_SSL", 'KAFKA_SSL: expected true or false, got "yes"'],
    ]);
  });
});
