/**
 * The CloudEvents Kafka protocol binding (1.0), both content modes, both directions.
 *
 * Binary mode: every context attribute and extension travels as a `ce_<name>` header whose value
 * is a UTF-8 string (booleans as `true`/`false`, integers in decimal), `datacontenttype` as the
 * `content-type` header, and the record value is the data itself (JSON text for JSON content
 * types, the raw bytes of `data_base64`). An event without data is a record with a null value.
 * Structured mode: `content-type: application/cloudevents+json` and the whole event as JSON.
 * In both modes the record key is the `partitionkey` extension, so one document's events land on
 * one partition, in order.
 *
 * Decoding takes what kafkajs hands a consumer: header values as Buffers, strings or arrays of
 * them, and a Buffer value.
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { decodeKafkaMessage, encodeKafkaMessage } from "./kafka_cloudevents.ts";
 *
 * const event = { specversion: "1.0", id: "1", source: "/s", type: "t", partitionkey: "doc-1" };
 * const message = Result.getOrThrow(encodeKafkaMessage(event));
 * console.log(message); // { key: "doc-1", value: null, headers: { ce_specversion: "1.0", … } }
 * console.log(Result.getOrThrow(decodeKafkaMessage(message))); // the event again
 * ```
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../stages/errors.ts";
import { Result } from "effect";
import { Buffer } from "node:buffer";

/**
 * A CloudEvent in the JSON event format: attributes, extensions and `data` or `data_base64`.
 *
 * @category models
 */
export type CloudEventJson = Readonly<Record<string, unknown>>;

/**
 * How an event is carried in a Kafka record.
 *
 * @category models
 */
export type KafkaContentMode = "binary" | "structured";

/**
 * A record ready for kafkajs `producer.send`: every header value is a string.
 *
 * @category models
 */
export interface KafkaOutboundMessage {
  /** The record key: the event's `partitionkey`, or null when it has none. */
  readonly key: string | null;
  /** The record value: the data (binary mode) or the whole event as JSON (structured mode). */
  readonly value: string | Buffer | null;
  /** `content-type`, and in binary mode a `ce_<name>` header per attribute. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A header value as kafkajs delivers it (repeated headers arrive as arrays).
 *
 * @category models
 */
export type KafkaHeaderValue =
  | string
  | Uint8Array
  | ReadonlyArray<string | Uint8Array>
  | undefined;

/**
 * A record as a kafkajs consumer (or anything else) hands it over.
 *
 * @category models
 */
export interface KafkaInboundMessage {
  /** The record key; it fills in the `partitionkey` extension when the event has none. */
  readonly key?: string | Uint8Array | null;
  /** The record value: the data (binary mode) or the whole event as JSON (structured mode). */
  readonly value: string | Uint8Array | null;
  /** The record headers: `content-type` and, in binary mode, the `ce_<name>` attributes. */
  readonly headers?: Readonly<Record<string, KafkaHeaderValue>>;
}

/**
 * An event that has no Kafka form, or a record that is not a CloudEvent.
 *
 * @category errors
 */
export const KafkaCodecErrorBase: TaggedErrorClass<"KafkaCodecError", {
  readonly message: string;
}> = taggedError("KafkaCodecError");
// Named with an explicit type so the published declaration needs no inference (JSR).
/**
 * An event that has no Kafka form, or a record that is not a CloudEvent.
 *
 * @category errors
 */
export class KafkaCodecError extends KafkaCodecErrorBase {}

/**
 * The `content-type` of a structured-mode record.
 *
 * @category models
 */
export const STRUCTURED_CONTENT_TYPE = "application/cloudevents+json";

const REQUIRED = ["specversion", "id", "source", "type"] as const;
const NOT_HEADERS = new Set(["data", "data_base64", "datacontenttype"]);
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
const JSON_CONTENT = /^[a-z0-9!#$&^_.+-]+\/(?:[a-z0-9!#$&^_.-]+\+)?json\s*(?:;|$)/i;
const TEXT_CONTENT = /^text\//i;
const STRUCTURED = /^application\/cloudevents\+json\s*(?:;|$)/i;
const ANY_CLOUDEVENTS = /^application\/cloudevents/i;
const INT32 = 2 ** 31;

const fail = (message: string) => Result.fail(new KafkaCodecError({ message }));

/** The CloudEvents type system's string form of an attribute value, per the binding. */
const headerValue = (name: string, value: unknown): Result.Result<string, KafkaCodecError> => {
  if (typeof value === "string") return Result.succeed(value);
  if (typeof value === "boolean") return Result.succeed(value ? "true" : "false");
  if (typeof value === "number" && Number.isInteger(value) && Math.abs(value) < INT32) {
    return Result.succeed(String(value));
  }
  return fail(`attribute "${name}": ${JSON.stringify(value)} has no CloudEvents header form`);
};

const checkRequired = (event: CloudEventJson): Result.Result<void, KafkaCodecError> => {
  const missing = REQUIRED.filter((a) => typeof event[a] !== "string" || event[a] === "");
  if (missing.length > 0) return fail(`missing required attribute(s): ${missing.join(", ")}`);
  if (event.specversion !== "1.0") {
    return fail(`unsupported specversion "${String(event.specversion)}" (supported: 1.0)`);
  }
  return Result.succeed(undefined);
};

const keyOf = (event: CloudEventJson): Result.Result<string | null, KafkaCodecError> =>
  event.partitionkey === undefined || event.partitionkey === null
    ? Result.succeed(null)
    : headerValue("partitionkey", event.partitionkey);

const bodyOf = (
  event: CloudEventJson,
  contentType: string,
): Result.Result<string | Buffer | null, KafkaCodecError> => {
  if (typeof event.data_base64 === "string") {
    return Result.succeed(Buffer.from(event.data_base64, "base64"));
  }
  if (event.data === undefined || event.data === null) return Result.succeed(null);
  if (JSON_CONTENT.test(contentType)) return Result.succeed(JSON.stringify(event.data));
  if (typeof event.data === "string") return Result.succeed(event.data);
  return fail(`data of content type "${contentType}" must be a string or data_base64`);
};

/**
 * Encodes an event as a binary-mode record.
 *
 * @param event a CloudEvent in the JSON event format
 * @returns the record, or why the event has no binary form
 * @category constructors
 */
export const encodeBinary = (
  event: CloudEventJson,
): Result.Result<KafkaOutboundMessage, KafkaCodecError> =>
  Result.gen(function* () {
    yield* checkRequired(event);
    const hasData = event.data !== undefined && event.data !== null ||
      event.data_base64 !== undefined && event.data_base64 !== null;
    // The JSON format reads absent `datacontenttype` as JSON; binary mode has to say it.
    const contentType = typeof event.datacontenttype === "string"
      ? event.datacontenttype
      : hasData && typeof event.data_base64 !== "string"
      ? "application/json"
      : undefined;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event)) {
      if (name === "datacontenttype" && contentType !== undefined) {
        headers["content-type"] = contentType;
      }
      if (NOT_HEADERS.has(name) || value === undefined || value === null) continue;
      if (!ATTRIBUTE_NAME.test(name)) {
        return yield* fail(`attribute name "${name}" is not [a-z0-9]+`);
      }
      headers[`ce_${name}`] = yield* headerValue(name, value);
    }
    if (contentType !== undefined && !("content-type" in headers)) {
      headers["content-type"] = contentType;
    }
    return {
      key: yield* keyOf(event),
      value: yield* bodyOf(event, contentType ?? "application/octet-stream"),
      headers,
    };
  });

/**
 * Encodes an event as a structured-mode record (`application/cloudevents+json`).
 *
 * @param event a CloudEvent in the JSON event format
 * @returns the record, or why the event cannot be sent
 * @category constructors
 */
export const encodeStructured = (
  event: CloudEventJson,
): Result.Result<KafkaOutboundMessage, KafkaCodecError> =>
  Result.gen(function* () {
    yield* checkRequired(event);
    return {
      key: yield* keyOf(event),
      value: JSON.stringify(event),
      headers: { "content-type": STRUCTURED_CONTENT_TYPE },
    };
  });

/**
 * Encodes an event in the given content mode.
 *
 * @param event a CloudEvent in the JSON event format
 * @param mode the content mode @default "binary"
 * @returns the record, or why the event cannot be sent
 * @category constructors
 */
export const encodeKafkaMessage = (
  event: CloudEventJson,
  mode: KafkaContentMode = "binary",
): Result.Result<KafkaOutboundMessage, KafkaCodecError> =>
  mode === "binary" ? encodeBinary(event) : encodeStructured(event);

const utf8 = new TextDecoder("utf-8", { fatal: true });

const textOf = (
  bytes: string | Uint8Array,
  what: string,
): Result.Result<string, KafkaCodecError> => {
  if (typeof bytes === "string") return Result.succeed(bytes);
  try {
    return Result.succeed(utf8.decode(bytes));
  } catch {
    return fail(`${what} is not valid UTF-8`);
  }
};

/** Header names lowercased, values as strings; a repeated header must repeat the same value. */
const normaliseHeaders = (
  headers: Readonly<Record<string, KafkaHeaderValue>>,
): Result.Result<Record<string, string>, KafkaCodecError> =>
  Result.gen(function* () {
    const out: Record<string, string> = {};
    for (const [rawName, raw] of Object.entries(headers)) {
      if (raw === undefined) continue;
      const name = rawName.toLowerCase();
      const values = typeof raw === "string" || raw instanceof Uint8Array ? [raw] : raw;
      for (const v of values) {
        const text = yield* textOf(v, `header "${rawName}"`);
        if (name in out && out[name] !== text) {
          return yield* fail(`header "${rawName}" repeated with different values`);
        }
        out[name] = text;
      }
    }
    return out;
  });

const decodeData = (
  value: string | Uint8Array,
  contentType: string | undefined,
): Result.Result<Record<string, unknown>, KafkaCodecError> =>
  Result.gen(function* () {
    if (contentType !== undefined && JSON_CONTENT.test(contentType)) {
      const text = yield* textOf(value, "value");
      try {
        return { data: JSON.parse(text) };
      } catch (e) {
        return yield* fail(`value is not valid JSON: ${(e as Error).message}`);
      }
    }
    if (contentType !== undefined && TEXT_CONTENT.test(contentType)) {
      return { data: yield* textOf(value, "value") };
    }
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    return { data_base64: bytes.toString("base64") };
  });

const decodeBinary = (
  headers: Record<string, string>,
  message: KafkaInboundMessage,
): Result.Result<CloudEventJson, KafkaCodecError> =>
  Result.gen(function* () {
    const event: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith("ce_")) event[name.slice(3)] = value;
    }
    // `ce_datacontenttype` is not part of the binding, but some SDKs send it next to content-type.
    const contentType = headers["content-type"] ?? headers["ce_datacontenttype"];
    if (contentType !== undefined) event.datacontenttype = contentType;
    yield* checkRequired(event);
    const data = message.value === null || message.value === undefined
      ? {}
      : yield* decodeData(message.value, contentType);
    return { ...event, ...data };
  });

const decodeStructured = (
  contentType: string,
  message: KafkaInboundMessage,
): Result.Result<CloudEventJson, KafkaCodecError> =>
  Result.gen(function* () {
    if (!STRUCTURED.test(contentType)) {
      return yield* fail(`unsupported structured content type "${contentType}"`);
    }
    if (message.value === null || message.value === undefined) {
      return yield* fail("structured-mode record has a null value");
    }
    const text = yield* textOf(message.value, "value");
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch (e) {
      return yield* fail(`value is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      return yield* fail("structured-mode value is not a JSON object");
    }
    yield* checkRequired(event as CloudEventJson);
    return event as CloudEventJson;
  });

/**
 * Decodes a record in either content mode into a CloudEvent in the JSON event format. The record
 * key, when present, is the `partitionkey` extension.
 *
 * @param message a record as kafkajs delivers it
 * @returns the event, or why the record is not a CloudEvent this binding can read
 * @category constructors
 */
export const decodeKafkaMessage = (
  message: KafkaInboundMessage,
): Result.Result<CloudEventJson, KafkaCodecError> =>
  Result.gen(function* () {
    const headers = yield* normaliseHeaders(message.headers ?? {});
    const contentType = headers["content-type"];
    const structured = contentType !== undefined && ANY_CLOUDEVENTS.test(contentType);
    if (!structured && headers["ce_specversion"] === undefined) {
      return yield* fail(
        "not a CloudEvent: no ce_specversion header and no application/cloudevents content type",
      );
    }
    const event = structured
      ? yield* decodeStructured(contentType, message)
      : yield* decodeBinary(headers, message);
    if (message.key === null || message.key === undefined) return event;
    const key = yield* textOf(message.key, "key");
    // In structured mode the event's own partitionkey wins; the key only fills it in.
    return structured && event.partitionkey !== undefined ? event : { ...event, partitionkey: key };
  });
