import { describe, expect, it } from "vitest";
import { Effect, Result } from "effect";
import { Buffer } from "node:buffer";
import { type EachMessagePayload, Kafka, type KafkaMessage, logLevel } from "kafkajs";
import type { ProducerRecord } from "kafkajs";
import {
  decodeMineruResult,
  makeMineruEvent,
  makeMineruQueueProducer,
  makeMineruResultsConsumer,
  type MineruQueueError,
  mineruRequestedEvent,
  type MineruResult,
  parseMineruResult,
} from "../../../adapters/kafka/mineru_queue.ts";
import {
  decodeKafkaMessage,
  encodeBinary,
  encodeStructured,
} from "../../../lineage/kafka_cloudevents.ts";
import {
  type KafkaClientConfig,
  kafkaConfigFromEnv,
  type KafkaConsumerFactory,
  type KafkaProducerFactory,
} from "../../../adapters/kafka/kafka_client.ts";
import type { MineruRequestedData } from "../../../lineage/cloudevent_types.ts";

const config: KafkaClientConfig = { brokers: ["broker-1:9092"], idempotent: false };
const time = new Date("2026-03-01T12:00:00Z");
const checksum = `sha256:${"e3b0c442".repeat(8)}`;
const request: MineruRequestedData = {
  job_id: "job-5be1c2d0a1f3e4b7",
  tenant_id: "default",
  doc_id: "pmc:PMC6329583",
  pdf_uri: "file:///var/lib/lineage-kit/pdfs/PMC6329583.pdf",
  checksum,
  priority: 5,
  correlation_id: "c-1",
};
const ids = {
  job_id: request.job_id,
  tenant_id: "default",
  doc_id: request.doc_id,
  correlation_id: "c-1",
};
const completed = Result.getOrThrow(makeMineruEvent("org.medicalkg.mineru.completed", {
  ...ids,
  document_uri: "file:///var/lib/lineage-kit/documents/PMC6329583.json",
  pages: 6,
}, { time }));
const failed = Result.getOrThrow(makeMineruEvent("org.medicalkg.mineru.failed", {
  ...ids,
  reason: "gpu_oom",
  error_message: "CUDA out of memory. Tried to allocate 490.00 MiB.",
}, { time }));

/** A consumed record, as kafkajs hands it to `eachMessage`. */
const consumed = (
  m: ReturnType<typeof encodeBinary>,
  offset: number,
  withHeaders = true,
): KafkaMessage => {
  const { key, value, headers } = Result.getOrThrow(m);
  return {
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: withHeaders
      ? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)]))
      : {},
    timestamp: "0",
    attributes: 0,
    offset: String(offset),
  };
};

describe("mineruRequestedEvent()", () => {
  it("builds the whole request event, keyed and addressed by document", () => {
    expect(Result.getOrThrow(mineruRequestedEvent(request, { time }))).toEqual({
      specversion: "1.0",
      id: `job-5be1c2d0a1f3e4b7:mineru.requested:${checksum}`,
      source: "/lineage-kit/mineru-bridge",
      type: "org.medicalkg.mineru.requested",
      subject: "pmc:PMC6329583",
      time: "2026-03-01T12:00:00.000Z",
      datacontenttype: "application/json",
      tenantid: "default",
      correlationid: "c-1",
      partitionkey: "pmc:PMC6329583",
      data: request,
    });
  });

  it("refuses a request that breaks the contract, naming each field", () => {
    const bad = mineruRequestedEvent({ ...request, checksum: "md5:abc", priority: 10 }, { time });
    expect(Result.isFailure(bad) && bad.failure).toMatchObject({
      _tag: "MineruQueueError",
      operation: "build",
      message: "org.medicalkg.mineru.requested: /data/checksum: Invalid string: must match " +
        "pattern /^sha256:[0-9a-f]{64}$/; /data/priority: Too big: expected number to be <=9",
    });
  });
});

describe("parseMineruResult() and decodeMineruResult()", () => {
  it("types completed and failed results, from either content mode", () => {
    expect(Result.getOrThrow(parseMineruResult(completed))).toEqual({
      type: "org.medicalkg.mineru.completed",
      data: completed.data,
      event: completed,
    });
    expect(Result.getOrThrow(decodeMineruResult(consumed(encodeBinary(failed), 0)))).toEqual({
      type: "org.medicalkg.mineru.failed",
      data: failed.data,
      event: failed,
    });
    expect(Result.getOrThrow(decodeMineruResult(consumed(encodeStructured(completed), 1))).event)
      .toEqual(completed);
  });

  it("rejects what is not a valid result, saying why", () => {
    const message = (r: Result.Result<unknown, MineruQueueError>) =>
      Result.isFailure(r) ? r.failure.message : "parsed";
    const requested = Result.getOrThrow(mineruRequestedEvent(request, { time }));
    expect([
      message(parseMineruResult(requested)),
      message(parseMineruResult({ ...failed, data: { ...failed.data as object, reason: "oom" } })),
      message(parseMineruResult({ ...completed, tenantid: "other" })),
      message(decodeMineruResult({ key: null, value: "{}", headers: {} })),
    ]).toEqual([
      "org.medicalkg.mineru.requested is not a MinerU result",
      '/data/reason: Invalid option: expected one of "gpu_oom"|"gpu_unavailable"|"bad_pdf"|"timeout"',
      "/tenantid: must equal data.tenant_id",
      "not a CloudEvent: no ce_specversion header and no application/cloudevents content type",
    ]);
  });
});

const fakeProducer = (fail: boolean) => {
  const sent: Array<ProducerRecord> = [];
  const factory: KafkaProducerFactory = () => ({
    connect: () => Promise.resolve(),
    send: (record) => {
      if (fail) return Promise.reject(new Error("Broker not available"));
      sent.push(structuredClone(record));
      return Promise.resolve([]);
    },
    disconnect: () => Promise.resolve(),
  });
  return { factory, sent };
};

describe("makeMineruQueueProducer()", () => {
  it("sends the request event in binary mode to mineru.queue.v1, keyed by document", async () => {
    const producer = fakeProducer(false);
    const queue = makeMineruQueueProducer(config, { producerFactory: producer.factory });
    const event = await Effect.runPromise(queue.request(request, { time }));
    await Effect.runPromise(queue.close());
    expect(producer.sent).toEqual([{
      topic: "mineru.queue.v1",
      acks: -1,
      messages: [{
        key: "pmc:PMC6329583",
        value: JSON.stringify(request),
        headers: {
          ce_specversion: "1.0",
          ce_id: event.id,
          ce_source: "/lineage-kit/mineru-bridge",
          ce_type: "org.medicalkg.mineru.requested",
          ce_subject: "pmc:PMC6329583",
          ce_time: "2026-03-01T12:00:00.000Z",
          "content-type": "application/json",
          ce_tenantid: "default",
          ce_correlationid: "c-1",
          ce_partitionkey: "pmc:PMC6329583",
        },
      }],
    }]);
  });

  it("fails with a send error when Kafka refuses, and sends nothing for a bad request", async () => {
    const down = makeMineruQueueProducer(config, { producerFactory: fakeProducer(true).factory });
    const r = await Effect.runPromise(Effect.result(down.request(request, { time })));
    expect(Result.isFailure(r) && r.failure).toMatchObject({
      operation: "send",
      message: "Broker not available",
    });
    const producer = fakeProducer(false);
    const up = makeMineruQueueProducer(config, { producerFactory: producer.factory });
    const bad = await Effect.runPromise(Effect.result(up.request({ ...request, doc_id: "" })));
    expect(Result.isFailure(bad) && bad.failure.operation).toBe("build");
    expect(producer.sent).toEqual([]);
  });
});

describe("makeMineruResultsConsumer()", () => {
  const fakeConsumer = () => {
    const calls: Array<string> = [];
    let eachMessage: ((p: EachMessagePayload) => Promise<void>) | undefined;
    const factory: KafkaConsumerFactory = (_config, groupId) => ({
      connect: () => Promise.resolve(void calls.push(`connect ${groupId}`)),
      subscribe: (s) => Promise.resolve(void calls.push(`subscribe ${JSON.stringify(s)}`)),
      run: (r) => Promise.resolve(void (eachMessage = r?.eachMessage)),
      disconnect: () => Promise.resolve(void calls.push("disconnect")),
    });
    const deliver = (message: KafkaMessage) =>
      eachMessage!({
        topic: "mineru.results.v1",
        partition: 0,
        message,
        heartbeat: () => Promise.resolve(),
        pause: () => () => {},
      });
    return { factory, calls, deliver };
  };

  it("hands typed results to the handler in order and skips invalid records via onInvalid", async () => {
    const kafka = fakeConsumer();
    const consumer = makeMineruResultsConsumer(config, { consumerFactory: kafka.factory });
    const results: Array<string> = [];
    const invalid: Array<string> = [];
    await Effect.runPromise(consumer.run(
      (r) => Effect.sync(() => void results.push(`${r.type} ${r.data.doc_id}`)),
      (e, m) => void invalid.push(`${m.offset}: ${e.message}`),
    ));
    await kafka.deliver(consumed(encodeBinary(completed), 0));
    await kafka.deliver(consumed(encodeBinary(failed), 1, false));
    await kafka.deliver(consumed(encodeBinary(failed), 2));
    await Effect.runPromise(consumer.close());
    expect(kafka.calls).toEqual([
      "connect lineage-kit-mineru-results",
      'subscribe {"topics":["mineru.results.v1"],"fromBeginning":true}',
      "disconnect",
    ]);
    expect(results).toEqual([
      "org.medicalkg.mineru.completed pmc:PMC6329583",
      "org.medicalkg.mineru.failed pmc:PMC6329583",
    ]);
    expect(invalid).toEqual([
      "1: not a CloudEvent: no ce_specversion header and no application/cloudevents content type",
    ]);
  });

  it("throws a handler failure back to kafkajs so the record is not committed", async () => {
    const kafka = fakeConsumer();
    const consumer = makeMineruResultsConsumer(config, { consumerFactory: kafka.factory });
    await Effect.runPromise(consumer.run(() => Effect.fail("ledger busy"), () => {}));
    await expect(kafka.deliver(consumed(encodeBinary(completed), 0))).rejects.toThrow(
      "ledger busy",
    );
  });

  it.skipIf(!Deno.env.get("KAFKA_BROKERS"))(
    "request out, worker answer back, through a real Kafka-protocol broker",
    async () => {
      const env = Result.getOrThrow(kafkaConfigFromEnv(Deno.env.toObject()));
      const suffix = crypto.randomUUID();
      const queueTopic = `mineru.queue.test-${suffix}`;
      const resultsTopic = `mineru.results.test-${suffix}`;
      const queue = makeMineruQueueProducer(env, { topic: queueTopic });
      const sent = await Effect.runPromise(queue.request(request, { time }));
      await Effect.runPromise(queue.close());

      // A stand-in GPU worker: read the request, answer with a completed result.
      const kafka = new Kafka({ brokers: [...env.brokers], logLevel: logLevel.ERROR });
      const worker = kafka.consumer({ groupId: `worker-${suffix}` });
      const answer = kafka.producer();
      await Promise.all([worker.connect(), answer.connect()]);
      await worker.subscribe({ topics: [queueTopic], fromBeginning: true });
      const got = await new Promise<KafkaMessage>((done) => {
        worker.run({ eachMessage: ({ message }) => Promise.resolve(done(message)) });
      });
      await worker.disconnect();
      expect(Result.getOrThrow(decodeKafkaMessage(got))).toEqual(sent);
      const reply = Result.getOrThrow(encodeBinary(completed));
      await answer.send({
        topic: resultsTopic,
        messages: [{ ...reply, headers: { ...reply.headers } }],
      });
      await answer.disconnect();

      const consumer = makeMineruResultsConsumer(env, {
        topic: resultsTopic,
        groupId: `kit-${suffix}`,
      });
      const result = await new Promise<MineruResult>((done, fail) => {
        Effect.runPromise(consumer.run((r) => Effect.sync(() => done(r)), (e) => fail(e)));
      });
      await Effect.runPromise(consumer.close());
      expect(result).toEqual({ type: completed.type, data: completed.data, event: completed });
    },
  );
});
