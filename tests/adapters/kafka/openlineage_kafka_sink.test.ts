import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import type { ProducerRecord } from "kafkajs";
import {
  kafkaEnvFromProperties,
  makeOpenLineageKafkaSink,
  openLineageKey,
} from "../../../adapters/kafka/openlineage_kafka_sink.ts";
import type { KafkaClientConfig } from "../../../adapters/kafka/kafka_client.ts";
import type { OutboxRow } from "../../../lineage/outbox.ts";

const pipelineStart = {
  eventType: "START",
  run: { runId: "p1", facets: {} },
  job: { namespace: "lineage-kit", name: "auto" },
};
const stageStart = {
  eventType: "START",
  run: {
    runId: "s1",
    facets: {
      parent: {
        run: { runId: "p1" },
        job: { namespace: "lineage-kit", name: "auto" },
        root: { run: { runId: "r0" }, job: { namespace: "airflow", name: "dag" } },
      },
    },
  },
  job: { namespace: "lineage-kit", name: "auto.parse" },
};
const row = (seq: number, payload: Record<string, unknown>): OutboxRow => ({
  seq,
  channel: "openlineage",
  runId: String(seq),
  jobId: "j",
  payload,
});

describe("the OpenLineage Kafka sink", () => {
  it("keys run events by their root job, so a hierarchy stays in one partition", () => {
    expect(openLineageKey(pipelineStart)).toBe("run:lineage-kit/auto");
    expect(openLineageKey(stageStart)).toBe("run:airflow/dag");
    expect(openLineageKey({ job: { namespace: "n", name: "j" } })).toBe("job:n/j");
    expect(openLineageKey({ dataset: { namespace: "file", name: "/x" } })).toBe("dataset:file//x");
  });

  it("sends the events in order with acks -1, and takes security from the transport's properties", async () => {
    const sent: ProducerRecord[] = [];
    let seen: KafkaClientConfig | undefined;
    const sink = makeOpenLineageKafkaSink(
      {
        type: "kafka",
        topic: "openlineage.events",
        brokers: ["broker-1:9092"],
        properties: {
          "security.protocol": "SASL_SSL",
          "sasl.mechanism": "SCRAM-SHA-512",
          "sasl.username": "kit",
          "sasl.password": "s3cret",
        },
      },
      {},
      (config) => {
        seen = config;
        return {
          connect: () => Promise.resolve(),
          send: (record) => Promise.resolve(void sent.push(record)),
          disconnect: () => Promise.resolve(),
        };
      },
    );
    await Effect.runPromise(sink.deliver([row(1, pipelineStart), row(2, stageStart)]));
    expect(seen).toMatchObject({
      brokers: ["broker-1:9092"],
      ssl: true,
      sasl: { mechanism: "scram-sha-512", username: "kit", password: "s3cret" },
    });
    expect(sent).toEqual([{
      topic: "openlineage.events",
      acks: -1,
      messages: [
        { key: "run:lineage-kit/auto", value: JSON.stringify(pipelineStart) },
        { key: "run:airflow/dag", value: JSON.stringify(stageStart) },
      ],
    }]);
    expect(kafkaEnvFromProperties({ "security.protocol": "PLAINTEXT" })).toEqual({});
  });

  it("a failing producer is a retryable sink error that names the sink, so events wait", async () => {
    const sink = makeOpenLineageKafkaSink(
      { type: "kafka", topic: "t", brokers: ["b:9092"], properties: {} },
      {},
      () => ({
        connect: () => Promise.reject(new Error("connection refused")),
        send: () => Promise.resolve(),
        disconnect: () => Promise.resolve(),
      }),
    );
    const result = await Effect.runPromise(Effect.result(sink.deliver([row(1, pipelineStart)])));
    expect(result._tag).toBe("Failure");
    if (result._tag === "Failure") {
      expect(result.failure).toMatchObject({ sink: "kafka:openlineage:b:9092/t", retryable: true });
      expect(result.failure.message).toContain("connection refused");
    }
  });
});
