// deno-lint-ignore-file no-explicit-any -- schemas and events are parsed JSON
import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect, Result } from "effect";
import { TestClock } from "effect/testing";
import { resolve } from "node:path";
import {
  type AsyncAPIDocumentInterface,
  type Diagnostic,
  fromFile,
  type MessageInterface,
  Parser,
} from "@asyncapi/parser";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { z } from "zod";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import {
  cloudEventTypes,
  dataSchemaFor,
  validateCloudEvent,
} from "../../lineage/cloudevent_types.ts";
import { encodeBinary } from "../../lineage/kafka_cloudevents.ts";
import { ORCHESTRATION_EVENTS_TOPIC } from "../../adapters/kafka/kafka_sink.ts";
import {
  MINERU_QUEUE_TOPIC,
  MINERU_RESULTS_GROUP,
  MINERU_RESULTS_TOPIC,
} from "../../adapters/kafka/mineru_queue.ts";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { Transient } from "../../stages/errors.ts";
import { fixturesDir, readJsonl, repoRoot, runCli, tempDir } from "../_harness.ts";
import {
  compile,
  enqueue,
  runDriven,
  runnerLayer,
  scriptedStages,
} from "../pipelines/_runner_harness.ts";
import { mineruEvents, runCloudEvents, scopeOf } from "../lineage/_kit_events.ts";

const DOC = resolve(repoRoot, "docs/asyncapi.yaml");

/** A kit rule on top of the built-in ones, at warning level: every channel is a sized topic. */
const kafkaTopic = (channel: any) => {
  const k = channel?.bindings?.kafka;
  return k && Number.isInteger(k.partitions) && Number.isInteger(k.replicas)
    ? []
    : [{ message: "channel has no Kafka binding with partitions and replicas" }];
};

const remoteReads: Array<string> = [];
/** Resolvers for remote $refs that never touch the network and remember being asked. */
const offline = (scheme: string) => ({
  schema: scheme,
  order: 1,
  canRead: true,
  read: (uri: unknown) => {
    remoteReads.push(String(uri));
    return Promise.resolve("{}");
  },
});

const parse = (path: string) =>
  fromFile(
    new Parser({
      ruleset: {
        rules: {
          "lineage-kit-kafka-topic": {
            description: "Every channel is a Kafka topic with partitions and replicas.",
            message: "{{error}}",
            severity: "warn",
            given: "$.channels[*]",
            then: { function: kafkaTopic as never },
          },
        },
      },
      __unstable: { resolver: { resolvers: [offline("http"), offline("https")] } },
    }),
    path,
  ).parse({ validateOptions: { allowedSeverity: { warning: false } } });

/** Errors and warnings, as `[code, severity, path, message]`. */
const problems = (diagnostics: ReadonlyArray<Diagnostic>) =>
  diagnostics.filter((d) => d.severity <= 1).map((d) => [
    d.code,
    d.severity,
    d.path.join("."),
    d.message,
  ]);

const brokenCopy = async (from: string, to: string) => {
  const text = await Deno.readTextFile(DOC);
  expect(text.split(from).length).toBe(2);
  const path = resolve(await tempDir(), "broken.asyncapi.yaml");
  await Deno.writeTextFile(path, text.replace(from, to));
  return path;
};

let document: AsyncAPIDocumentInterface;
const messageFor = (type: string): MessageInterface =>
  document.allMessages().all().find((m) => m.name() === type)!;
/** A message's payload and headers schemas as plain JSON Schema (refs and traits applied). */
const payloadOf = (type: string): any => messageFor(type).payload()!.json();
const headersOf = (type: string): any => messageFor(type).headers()!.json();

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
const compiled = new Map<object, ReturnType<typeof ajv.compile>>();
const accepts = (schema: object, value: unknown) => {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(schema));
  return compiled.get(schema)!(value) as boolean;
};

beforeAll(async () => {
  const { document: parsed, diagnostics } = await parse(DOC);
  expect(problems(diagnostics)).toEqual([]);
  document = parsed!;
});

describe("docs/asyncapi.yaml", () => {
  it("parses offline with 0 errors and 0 warnings (warnings fail the parse)", () => {
    expect(document).toBeDefined();
    expect(document.version()).toBe("3.0.0");
    expect(remoteReads).toEqual([]);
  });

  it("a copy with a publish operation fails with the schema diagnostic", async () => {
    const path = await brokenCopy(
      "  sendOrchestrationEvents:\n    action: send",
      "  sendOrchestrationEvents:\n    action: publish",
    );
    const { document, diagnostics } = await parse(path);
    expect(document).toBeUndefined();
    expect(problems(diagnostics)).toEqual([[
      "asyncapi-document-resolved",
      0,
      "operations.sendOrchestrationEvents.action",
      '"action" property must be equal to one of the allowed values: "send", "receive". Did you mean "receive"?',
    ]]);
  });

  it("a copy with a dangling $ref fails with invalid-ref", async () => {
    const path = await brokenCopy(
      'payload: { $ref: "#/components/schemas/gateData" }\n    gateOpened',
      'payload: { $ref: "#/components/schemas/gateDatum" }\n    gateOpened',
    );
    const { document, diagnostics } = await parse(path);
    expect(document).toBeUndefined();
    expect(problems(diagnostics)).toEqual([[
      "invalid-ref",
      0,
      "components.messages.gateWaiting.payload.$ref",
      "'#/components/schemas/gateDatum' does not exist",
    ]]);
  });

  it("a copy that only earns a warning fails too", async () => {
    const path = await brokenCopy(
      "        topic: mineru.queue.v1\n        partitions: 10\n",
      "        topic: mineru.queue.v1\n",
    );
    const { document, diagnostics } = await parse(path);
    expect(document).toBeUndefined();
    expect(problems(diagnostics)).toEqual([[
      "lineage-kit-kafka-topic",
      1,
      "channels.mineruQueue",
      "channel has no Kafka binding with partitions and replicas",
    ]]);
  });
});

// Every event the outbox holds goes to the orchestration topic; MinerU requests and answers
// also travel on their own topics.
const topicsOf = (type: string): ReadonlyArray<string> =>
  type.startsWith("org.medicalkg.orchestration.")
    ? [ORCHESTRATION_EVENTS_TOPIC]
    : type === "org.medicalkg.mineru.requested"
    ? [ORCHESTRATION_EVENTS_TOPIC, MINERU_QUEUE_TOPIC]
    : [ORCHESTRATION_EVENTS_TOPIC, MINERU_RESULTS_TOPIC];

describe("the document and the code describe the same events", () => {
  it("every catalogue type is a message named after it and vice versa, on its topic", () => {
    const names = document.allMessages().all().map((m) => m.name());
    expect([...names].sort()).toEqual([...cloudEventTypes].sort());
    const onTopic = document.channels().all().flatMap((c) =>
      c.messages().all().map((m) => `${m.name()} @ ${c.address()}`)
    );
    expect(onTopic.sort()).toEqual(
      cloudEventTypes.flatMap((t) => topicsOf(t).map((topic) => `${t} @ ${topic}`)).sort(),
    );
    for (const type of cloudEventTypes) {
      expect(headersOf(type).properties.ce_type.const).toBe(type);
    }
  });

  it("topics are bound with 10 partitions, 3 replicas and 7 days' retention; operations as the code runs them", () => {
    for (const c of document.channels().all()) {
      expect(c.bindings().get("kafka")!.value()).toMatchObject({
        topic: c.address(),
        partitions: 10,
        replicas: 3,
        topicConfiguration: { "retention.ms": 7 * 24 * 3600 * 1000 },
      });
    }
    const ops = document.operations().all().map((o) => ({
      action: o.action(),
      topic: o.channels().all()[0].address(),
      group: o.bindings().get("kafka")?.value().groupId?.enum,
    }));
    expect(ops).toEqual([
      { action: "send", topic: ORCHESTRATION_EVENTS_TOPIC, group: undefined },
      { action: "send", topic: MINERU_QUEUE_TOPIC, group: undefined },
      { action: "receive", topic: MINERU_RESULTS_TOPIC, group: [MINERU_RESULTS_GROUP] },
    ]);
  });

  /** A schema without documentation keywords, zod's safe-integer bounds or the parser's ids. */
  const shape = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(shape);
    if (s === null || typeof s !== "object") return s;
    const drop = (k: string, v: unknown) =>
      ["description", "examples", "title", "$schema"].includes(k) || k.startsWith("x-parser") ||
      (k === "maximum" && v === Number.MAX_SAFE_INTEGER) ||
      (k === "minimum" && v === Number.MIN_SAFE_INTEGER);
    return Object.fromEntries(
      Object.entries(s).filter(([k, v]) => !drop(k, v)).map((
        [k, v],
      ) => [k, k === "required" ? [...(v as Array<string>)].sort() : shape(v)]),
    );
  };

  it("each payload schema is the zod schema's JSON Schema", () => {
    for (const type of cloudEventTypes) {
      const documented = shape(payloadOf(type));
      expect({ type, schema: documented }).toEqual({
        type,
        schema: shape(z.toJSONSchema(dataSchemaFor(type))),
      });
    }
  });

  const wrongValue = (schema: any) =>
    schema.type === "string" ? 42 : schema.type === "boolean" ? "false" : "7";

  it("payload schema and zod schema accept and reject the same samples", () => {
    const disagreements: Array<string> = [];
    const judge = (type: string, label: string, value: unknown, expected: boolean) => {
      const doc = accepts(payloadOf(type), value);
      const code = dataSchemaFor(type as never).safeParse(value).success;
      if (doc !== expected || code !== expected) {
        disagreements.push(`${type} ${label}: document ${doc}, zod ${code}, expected ${expected}`);
      }
    };
    for (const type of cloudEventTypes) {
      const payload = payloadOf(type);
      const properties = Object.entries<any>(payload.properties);
      expect(properties.filter(([, s]) => !s.examples?.length).map(([k]) => k)).toEqual([]);
      const sample = Object.fromEntries(properties.map(([k, s]) => [k, s.examples[0]]));
      judge(type, "sample", sample, true);
      judge(type, "with an unknown field", { ...sample, unexpected: 1 }, false);
      for (const [key, schema] of properties) {
        const { [key]: _gone, ...without } = sample;
        judge(type, `without ${key}`, without, !payload.required.includes(key));
        judge(
          type,
          `with ${key} of the wrong type`,
          { ...sample, [key]: wrongValue(schema) },
          false,
        );
      }
    }
    expect(disagreements).toEqual([]);
  });
});

/** Problems of one event against its message: data vs payload, binary record vs headers and key. */
const checkAgainstDocument = (event: any): Array<string> => {
  const message = messageFor(event.type);
  if (!message) return [`${event.type}: no message in the document`];
  const record = Result.getOrThrow(encodeBinary(event));
  const out: Array<string> = [];
  if (!accepts(payloadOf(event.type), event.data)) out.push(`${event.type}: payload`);
  if (!accepts(headersOf(event.type), record.headers)) out.push(`${event.type}: headers`);
  const key = message.bindings().get("kafka")!.value().key;
  if (!accepts(key, record.key)) out.push(`${event.type}: key`);
  out.push(...validateCloudEvent(event).map((i) => `${event.type}: ${i.path} ${i.message}`));
  return out;
};

describe("events of real runs match the document", () => {
  let dir: string;
  let bad: string;
  let cloudevents: Array<Record<string, any>>;

  beforeAll(async () => {
    dir = await tempDir();
    bad = await tempDir();
    const ct = JSON.parse(
      await Deno.readTextFile(resolve(fixturesDir, "clinicaltrials/NCT06171568.json")),
    );
    ct.protocolSection.identificationModule.briefTitle = ["not", "a", "string"];
    ct.protocolSection.identificationModule.nctId = "NCT99999999";
    await Deno.writeTextFile(resolve(bad, "wrong_type.json"), JSON.stringify(ct));
    const records = ["clinicaltrials", "openalex", "openfda"].flatMap((source) => [
      "--input",
      resolve(repoRoot, "data/records", source),
    ]);
    expect((await runCli(runPipeline, ["--store", dir, ...records])).code).toBe(0);
    const failing = ["--store", dir, "--input", bad, "--source", "clinicaltrials"];
    expect((await runCli(runPipeline, failing)).code).toBe(1);
    cloudevents = await readJsonl(resolve(dir, "lineage/cloudevents.jsonl"));
  });
  afterAll(async () => {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(bad, { recursive: true });
  });

  it("run-pipeline's CloudEvents, successes and failures, validate against their messages", () => {
    const types = new Set(cloudevents.map((e) => e.type));
    for (const suffix of ["started", "completed", "failed"]) {
      expect(types).toContain(`org.medicalkg.orchestration.pipeline.${suffix}`);
      expect(types).toContain(`org.medicalkg.orchestration.stage.${suffix}`);
    }
    expect(cloudevents.flatMap(checkAgainstDocument)).toEqual([]);
  });

  it("gate, pause/resume and MinerU events from the kit's builders validate against their messages", () => {
    const events = [...runCloudEvents(scopeOf("pmc:PMC1")), ...mineruEvents("pmc:PMC1")];
    expect(events.flatMap(checkAgainstDocument)).toEqual([]);
  });
});

describe("retry events of a real runner run match the document", () => {
  let store: Store;
  beforeAll(async () => {
    store = await openEmbeddedStore();
  });
  afterAll(() => store.close());

  it.effect("stage.retrying events validate against their message", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2026-01-01T00:00:00Z"));
      const { registry } = scriptedStages({
        Chunk: (n) => n < 2 ? Effect.fail(new Transient({ message: "503" })) : Effect.void,
      });
      const pipeline = compile();
      const outcome = yield* Effect.gen(function* () {
        const job = yield* enqueue("RETRY-DOC", pipeline);
        return yield* runDriven(job, pipeline, {}, 20);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
      expect(outcome.status).toBe("succeeded");
      const rows = yield* Effect.promise(() =>
        store.client.query<{ payload: Record<string, any> }>(
          "select payload::json as payload from lk_outbox where job_id = $1 and channel = 'cloudevents' order by seq",
          [outcome.jobId],
        )
      );
      const events = rows.map((r) => r.payload);
      expect(events.filter((e) => e.type.endsWith(".stage.retrying")).length).toBe(1);
      expect(events.flatMap(checkAgainstDocument)).toEqual([]);
    }));
});
