import { describe, expect, it } from "vitest";
import { fc, test } from "@fast-check/vitest";
import { Result } from "effect";
import { Buffer } from "node:buffer";
import { resolve } from "node:path";
import { CloudEvent, Kafka } from "cloudevents";
import {
  type CloudEventJson,
  decodeKafkaMessage,
  encodeBinary,
  encodeKafkaMessage,
  encodeStructured,
  type KafkaInboundMessage,
  type KafkaOutboundMessage,
} from "../../lineage/kafka_cloudevents.ts";
import { makeCloudEventValidator } from "../../testing/openlineage_validator.ts";
import { fixturesDir } from "../_harness.ts";
import { mineruEvents, runCloudEvents, scopeOf } from "./_kit_events.ts";

// --- A Gherkin reader just big enough for the CloudEvents conformance features ---------------

interface Step {
  readonly keyword: string;
  readonly text: string;
  readonly docString?: string;
  readonly table?: ReadonlyArray<ReadonlyArray<string>>;
}
interface Scenario {
  readonly name: string;
  readonly steps: ReadonlyArray<Step>;
}
interface Draft {
  name: string;
  steps: Array<Step & { docString?: string; table?: Array<Array<string>> }>;
  examples?: Array<Array<string>>;
}

const cells = (line: string) => line.trim().slice(1, -1).split("|").map((c) => c.trim());

const substitute = (text: string, row: Readonly<Record<string, string>>) =>
  text.replace(/<([^>]+)>/g, (whole, name: string) => row[name] ?? whole);

const expand = (draft: Draft, background: ReadonlyArray<Step>): ReadonlyArray<Scenario> => {
  if (!draft.examples) return [{ name: draft.name, steps: [...background, ...draft.steps] }];
  const [header, ...rows] = draft.examples;
  return rows.map((values) => {
    const row = Object.fromEntries(header.map((h, i) => [h, values[i]]));
    const steps = draft.steps.map((s) => ({
      keyword: s.keyword,
      text: substitute(s.text, row),
      ...(s.docString !== undefined ? { docString: substitute(s.docString, row) } : {}),
      ...(s.table ? { table: s.table.map((r) => r.map((c) => substitute(c, row))) } : {}),
    }));
    return { name: substitute(draft.name, row), steps: [...background, ...steps] };
  });
};

/** Scenarios of a .feature file, outlines expanded, background steps first. */
const readFeature = (source: string): ReadonlyArray<Scenario> => {
  const lines = source.split("\n");
  const drafts: Array<Draft> = [];
  let background: Draft | undefined;
  let current: Draft | undefined;
  let inExamples = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const last = current?.steps[current.steps.length - 1];
    if (line.startsWith('"""')) {
      // Gherkin strips the indentation of the opening delimiter from every line.
      const indent = lines[i].indexOf('"""');
      const body: Array<string> = [];
      while (!lines[++i].trim().startsWith('"""')) body.push(lines[i].slice(indent));
      last!.docString = body.join("\n");
      continue;
    }
    if (line.startsWith("|")) {
      if (inExamples) current!.examples!.push(cells(line));
      else (last!.table ??= []).push(cells(line));
      continue;
    }
    const section = /^(Feature|Background|Scenario Outline|Scenario|Examples):\s*(.*)$/.exec(line);
    if (section) {
      inExamples = section[1] === "Examples";
      if (inExamples) current!.examples = [];
      else if (section[1] !== "Feature") {
        current = { name: section[2], steps: [] };
        if (section[1] === "Background") background = current;
        else drafts.push(current);
      }
      continue;
    }
    const step = /^(Given|When|Then|And|But|\*)\s+(.*)$/.exec(line);
    if (step && current) current.steps.push({ keyword: step[1], text: step[2] });
    // Anything else is free description text.
  }
  return drafts.flatMap((d) => expand(d, background?.steps ?? []));
};

const pairs = (table: ReadonlyArray<ReadonlyArray<string>> | undefined) => {
  const [header, ...rows] = table ?? [];
  expect(header).toEqual(["key", "value"]);
  return Object.fromEntries(rows.map(([k, v]) => [k, v]));
};

const feature = readFeature(
  Deno.readTextFileSync(
    resolve(fixturesDir, "specs/cloudevents/conformance/features/kafka-protocol-binding.feature"),
  ),
);

const asKafkajs = (headers: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v, "utf8")]));

/** Runs one scenario's steps; header values travel as strings or, as kafkajs delivers them, Buffers. */
const runScenario = (scenario: Scenario, buffers: boolean) => {
  let payload = "";
  let headers: Record<string, string> = {};
  let decoded: CloudEventJson | undefined;
  const checked: Array<string> = [];
  for (const step of scenario.steps) {
    switch (step.text) {
      case "Kafka Protocol Binding is supported":
        break;
      case "a Kafka message with payload:":
        payload = step.docString!;
        break;
      case "Kafka headers:":
        headers = pairs(step.table);
        break;
      case "parsed as Kafka message": {
        const message: KafkaInboundMessage = buffers
          ? { key: null, value: Buffer.from(payload, "utf8"), headers: asKafkajs(headers) }
          : { key: null, value: payload, headers };
        decoded = Result.getOrThrow(decodeKafkaMessage(message));
        break;
      }
      case "the attributes are:": {
        const { data: _data, ...attributes } = decoded!;
        expect(attributes).toEqual(pairs(step.table));
        checked.push("attributes");
        break;
      }
      case "the data is equal to the following JSON:":
        expect(decoded!.data).toEqual(JSON.parse(step.docString!));
        checked.push("data");
        break;
      default:
        throw new Error(`no step definition for "${step.keyword} ${step.text}"`);
    }
  }
  return { payload, headers, decoded: decoded!, checked };
};

describe("decodeKafkaMessage() passes the CloudEvents Kafka conformance feature", () => {
  it("reads at least one scenario from the feature file", () => {
    expect(feature.length).toBeGreaterThan(0);
    expect(feature.every((s) => s.steps.some((st) => st.text === "parsed as Kafka message")))
      .toBe(true);
  });

  for (const scenario of feature) {
    for (const buffers of [false, true]) {
      it(`${scenario.name} (header values as ${buffers ? "Buffers" : "strings"})`, () => {
        expect(runScenario(scenario, buffers).checked).toEqual(["attributes", "data"]);
      });
    }
    it(`${scenario.name}: encoding the expected event gives the scenario's message back`, () => {
      const { payload, headers, decoded } = runScenario(scenario, false);
      const structured = headers["content-type"].startsWith("application/cloudevents");
      const message = Result.getOrThrow(
        encodeKafkaMessage(decoded, structured ? "structured" : "binary"),
      );
      expect(JSON.parse(message.value as string)).toEqual(JSON.parse(payload));
      expect(message.key).toBeNull();
      if (structured) {
        expect(message.headers).toEqual({ "content-type": "application/cloudevents+json" });
      } else {
        expect(message.headers).toEqual(headers);
      }
    });
  }
});

const kitEvents: ReadonlyArray<CloudEventJson> = [
  ...runCloudEvents(scopeOf("clinicaltrials:NCT00763412")),
  ...mineruEvents("pmc:PMC6329583"),
];

/** A kafkajs-delivered copy of our record: Buffer key, value and header values. */
const delivered = (m: KafkaOutboundMessage): KafkaInboundMessage => ({
  key: m.key === null ? null : Buffer.from(m.key),
  value: m.value === null ? null : Buffer.from(m.value),
  headers: asKafkajs(m.headers),
});

/** The cloudevents SDK's view of an event, as plain JSON. */
const plain = (e: unknown) => JSON.parse(JSON.stringify(e));

/** `Kafka.toEvent` on a record; its `Message` type omits the Kafka key the binding reads. */
const sdkToEvent = (record: {
  readonly key: string | null;
  readonly value: unknown;
  readonly headers: Readonly<Record<string, string>>;
}) => {
  const message = { ...record, headers: { ...record.headers }, body: record.value };
  return Kafka.toEvent(message);
};

/** What the SDK's Kafka serializer produces, made sendable: string headers, no undefined, JSON value. */
const sdkRecord = (m: { key?: unknown; value?: unknown; headers: Record<string, unknown> }) => ({
  key: typeof m.key === "string" ? m.key : null,
  value: m.value === undefined || m.value === null
    ? null
    : typeof m.value === "string"
    ? m.value
    : JSON.stringify(m.value),
  headers: Object.fromEntries(
    Object.entries(m.headers).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
  ),
});

describe("the codec agrees with the cloudevents SDK on the kit's events", () => {
  it("binary: our record, as kafkajs delivers it with headers stringified, is the same event for Kafka.toEvent", () => {
    for (const event of kitEvents) {
      const message = Result.getOrThrow(encodeBinary(event));
      const received = delivered(message);
      const headers = Object.fromEntries(
        Object.entries(received.headers!).map(([k, v]) => [k, String(v)]),
      );
      const sdk = sdkToEvent({ key: String(received.key), value: received.value, headers });
      expect(plain(sdk)).toEqual(event);
    }
  });

  it("binary: Kafka.binary(event), headers made strings, decodes to the same event", () => {
    for (const event of kitEvents) {
      const record = sdkRecord(Kafka.binary(new CloudEvent(event as never)));
      expect(Result.getOrThrow(decodeKafkaMessage(record))).toEqual(event);
    }
  });

  it("structured: our record is the same event for Kafka.toEvent, and Kafka.structured(event) decodes to it", () => {
    for (const event of kitEvents) {
      const message = Result.getOrThrow(encodeStructured(event));
      const sdk = sdkToEvent(message);
      expect(plain(sdk)).toEqual(event);
      const record = sdkRecord(Kafka.structured(new CloudEvent(event as never)));
      expect(Result.getOrThrow(decodeKafkaMessage(record))).toEqual(event);
    }
  });

  it("binary mode puts every attribute and extension in a string ce_ header and the key in partitionkey", () => {
    const event = kitEvents[0] as Record<string, unknown>;
    const message = Result.getOrThrow(encodeBinary(event));
    const { data, datacontenttype, ...attributes } = event;
    expect(message).toEqual({
      key: event.partitionkey,
      value: JSON.stringify(data),
      headers: {
        ...Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce_${k}`, v])),
        "content-type": datacontenttype,
      },
    });
  });

  it("every emitted event, structured or decoded from binary, validates against the CloudEvents JSON schema", async () => {
    const validator = await makeCloudEventValidator();
    const emitted = kitEvents.flatMap((e) => [
      JSON.parse(Result.getOrThrow(encodeStructured(e)).value as string),
      Result.getOrThrow(decodeKafkaMessage(delivered(Result.getOrThrow(encodeBinary(e))))),
    ]);
    expect(emitted.flatMap((e) => validator.validate(e))).toEqual([]);
  });
});

describe("encodeBinary() and decodeKafkaMessage() beyond the kit's events", () => {
  const base = { specversion: "1.0", id: "1", source: "/s", type: "t" };

  it("stringifies booleans and integers per the CloudEvents type system", () => {
    const message = Result.getOrThrow(encodeBinary({ ...base, sampled: true, hops: 42 }));
    expect(message.headers).toEqual({
      ce_specversion: "1.0",
      ce_id: "1",
      ce_source: "/s",
      ce_type: "t",
      ce_sampled: "true",
      ce_hops: "42",
    });
  });

  it("an event without data is a tombstone (null value) and a null value decodes to no data", () => {
    const message = Result.getOrThrow(encodeBinary(base));
    expect(message).toEqual({
      key: null,
      value: null,
      headers: { ce_specversion: "1.0", ce_id: "1", ce_source: "/s", ce_type: "t" },
    });
    expect(Result.getOrThrow(decodeKafkaMessage(message))).toEqual(base);
  });

  it("carries data_base64 as raw bytes and non-JSON text as text", () => {
    const bytes = { ...base, datacontenttype: "application/pdf", data_base64: "JVBERi0=" };
    const encoded = Result.getOrThrow(encodeBinary(bytes));
    expect(encoded.value).toEqual(Buffer.from("%PDF-"));
    expect(Result.getOrThrow(decodeKafkaMessage(delivered(encoded)))).toEqual(bytes);
    const text = { ...base, datacontenttype: "text/plain", data: "héllo" };
    expect(Result.getOrThrow(decodeKafkaMessage(delivered(Result.getOrThrow(encodeBinary(text))))))
      .toEqual(text);
  });

  it("takes the record key as partitionkey and accepts repeated headers with the same value", () => {
    const ok = decodeKafkaMessage({
      key: Buffer.from("doc-9"),
      value: null,
      headers: {
        ce_specversion: "1.0",
        ce_id: [Buffer.from("1"), "1"],
        ce_source: "/s",
        ce_type: "t",
      },
    });
    expect(Result.getOrThrow(ok)).toEqual({ ...base, partitionkey: "doc-9" });
  });

  it("names what is wrong with records it cannot read", () => {
    const failure = (m: KafkaInboundMessage) => {
      const r = decodeKafkaMessage(m);
      return Result.isFailure(r) ? r.failure.message : "decoded";
    };
    const headers = { ce_specversion: "1.0", ce_id: "1", ce_source: "/s", ce_type: "t" };
    expect([
      failure({ value: "{}", headers: {} }),
      failure({ value: null, headers: { ce_specversion: "1.0", ce_id: "1" } }),
      failure({ value: "{", headers: { ...headers, "content-type": "application/json" } }),
      failure({ value: null, headers: { ...headers, ce_id: ["1", "2"] } }),
      failure({ value: null, headers: { ...headers, ce_specversion: "0.3" } }),
      failure({ value: null, headers: { "content-type": "application/cloudevents+json" } }),
      failure({ value: "[]", headers: { "content-type": "application/cloudevents-batch+json" } }),
      failure({ value: "[]", headers: { "content-type": "application/cloudevents+json" } }),
    ]).toEqual([
      "not a CloudEvent: no ce_specversion header and no application/cloudevents content type",
      "missing required attribute(s): source, type",
      "value is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
      'header "ce_id" repeated with different values',
      'unsupported specversion "0.3" (supported: 1.0)',
      "structured-mode record has a null value",
      'unsupported structured content type "application/cloudevents-batch+json"',
      "structured-mode value is not a JSON object",
    ]);
  });

  it("refuses attribute values with no header form", () => {
    const r = encodeBinary({ ...base, ratio: 0.5 });
    expect(Result.isFailure(r) && r.failure.message).toBe(
      'attribute "ratio": 0.5 has no CloudEvents header form',
    );
  });
});

const attributeName = fc.stringMatching(/^[a-z][a-z0-9]{0,19}$/).filter((n) =>
  !["specversion", "id", "source", "type", "data", "datacontenttype"].includes(n)
);
const anyEvent = fc.record({
  extensions: fc.dictionary(attributeName, fc.string({ unit: "grapheme" }), { maxKeys: 5 }),
  id: fc.string({ unit: "grapheme", minLength: 1 }),
  partitionkey: fc.option(fc.string({ unit: "grapheme", minLength: 1 }), { nil: undefined }),
  data: fc.option(fc.jsonValue().filter((v) => v !== null), { nil: undefined }),
}).map(({ extensions, id, partitionkey, data }) =>
  JSON.parse(JSON.stringify({
    ...extensions,
    specversion: "1.0",
    id,
    source: "/lineage-kit/test",
    type: "org.example.test",
    ...(partitionkey !== undefined ? { partitionkey } : {}),
    ...(data !== undefined ? { datacontenttype: "application/json", data } : {}),
  }))
);

describe("round trips", () => {
  test.prop([anyEvent, fc.constantFrom("binary" as const, "structured" as const)])(
    "decode(encode(event)) is the event, in both modes, as kafkajs delivers the record",
    (event, mode) => {
      const message = Result.getOrThrow(encodeKafkaMessage(event, mode));
      expect(Object.values(message.headers).every((v) => typeof v === "string")).toBe(true);
      expect(Result.getOrThrow(decodeKafkaMessage(delivered(message)))).toEqual(event);
    },
  );
});
