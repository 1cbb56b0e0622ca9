/**
 * The zod schemas of `openlineage.yml` (the official clients' keys, Python's `snake_case` and
 * Java's `camelCase` spellings both accepted) and their decoding into transport configurations.
 * A `composite` transport decodes into the list of its children.
 *
 * @module
 */
import { strictMapping } from "../policies/problem.ts";
import { Redacted } from "effect";
import { resolve } from "node:path";
import { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { HttpTransportConfig } from "./http_transport.ts";
import type { ConfigPath } from "./_config_sources.ts";
import { decodeAt, missingKey, quotedWord, type Where } from "./_config_issues.ts";
import type {
  FileTransportConfig,
  KafkaTransportConfig,
  TransportConfig,
} from "./transport_config.ts";

/** A mapping that rejects unknown keys, naming the allowed ones (the configuration files' rule). */
export const strict = strictMapping;

// Variables are text: numbers and booleans written there arrive as strings.
const toNumber = (v: unknown) =>
  typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
const toBool = (v: unknown) =>
  typeof v === "string" && /^(true|false)$/i.test(v) ? v.toLowerCase() === "true" : v;
const positive = z.preprocess(toNumber, z.number().positive());
const nonNegative = z.preprocess(toNumber, z.number().min(0));
const count = z.preprocess(toNumber, z.number().int().min(1));
const flag = z.preprocess(toBool, z.boolean());
/** A non-empty string. */
export const text: z.ZodString = z.string().min(1);
const stringMap = z.record(
  z.string(),
  z.preprocess((v) => typeof v === "number" || typeof v === "boolean" ? String(v) : v, z.string()),
);
const custom = (path: ConfigPath, message: string, sentence = false) => ({
  code: "custom" as const,
  path: [...path],
  message,
  params: { sentence },
});

const isHttpUrl = (s: string): boolean => {
  try {
    const u = new URL(s);
    return (u.protocol === "http:" || u.protocol === "https:") && !u.username && !u.password;
  } catch {
    return false;
  }
};

const auth = strict({
  type: z.enum(["api_key"]),
  apiKey: text.optional(),
  api_key: text.optional(),
}).superRefine((a, ctx) => {
  if (!a.apiKey && !a.api_key) {
    ctx.addIssue({ code: "custom", path: ["apiKey"], message: "", params: { missing: true } });
  }
});

const retry = strict({
  maxAttempts: count.optional(),
  initialDelay: nonNegative.optional(),
  maxDelay: nonNegative.optional(),
  totalTimeout: positive.optional(),
});

const http = strict({
  type: z.literal("http"),
  name: text.optional(),
  url: z.string().refine(isHttpUrl, "must be an http:// or https:// URL without credentials"),
  endpoint: z.string().optional(),
  timeout: positive.optional(),
  timeoutInMillis: positive.optional(),
  auth: auth.optional(),
  compression: z.enum(["gzip"]).optional(),
  headers: stringMap.optional(),
  customHeaders: stringMap.optional(),
  custom_headers: stringMap.optional(),
  urlParams: stringMap.optional(),
  verify: flag.optional(),
  retry: retry.optional(),
  batch: flag.optional(),
  batchEndpoint: z.string().optional(),
  maxBatch: count.optional(),
  concurrency: count.optional(),
}).superRefine((h, ctx) => {
  if (h.verify === false) {
    ctx.addIssue(
      custom(
        ["verify"],
        "false is not supported: Deno always verifies TLS (add a CA with DENO_CERT)",
      ),
    );
  }
  if (h.timeout !== undefined && h.timeoutInMillis !== undefined) {
    ctx.addIssue(custom(["timeout"], "and timeoutInMillis are both set: keep one"));
  }
});

const file = strict({
  type: z.literal("file"),
  name: text.optional(),
  log_file_path: text.optional(),
  logFilePath: text.optional(),
  location: text.optional(),
  path: text.optional(),
  append: flag.optional(),
}).superRefine((f, ctx) => {
  const given = [f.log_file_path, f.logFilePath, f.location, f.path].filter((p) => p);
  if (given.length === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["log_file_path"],
      message: "",
      params: { missing: true },
    });
  }
  if (given.length > 1) {
    ctx.addIssue(custom([], "give one of log_file_path, location and path"));
  }
  if (f.append === false) {
    ctx.addIssue(custom(["append"], "false is not supported: the file transport appends lines"));
  }
});

const kafka = strict({
  type: z.literal("kafka"),
  name: text.optional(),
  topic: text.optional(),
  topicName: text.optional(),
  properties: stringMap.optional(),
  config: stringMap.optional(),
  messageKey: text.optional(),
  message_key: text.optional(),
  flush: flag.optional(),
}).superRefine((k, ctx) => {
  if (!k.topic && !k.topicName) {
    ctx.addIssue({ code: "custom", path: ["topicName"], message: "", params: { missing: true } });
  }
  if (!(k.properties ?? k.config)?.["bootstrap.servers"]) {
    ctx.addIssue(custom(["properties"], 'must set "bootstrap.servers"'));
  }
});

const simple = (type: "console" | "noop") =>
  strict({ type: z.literal(type), ...(type === "console" ? { name: text.optional() } : {}) });

const composite = strict({
  type: z.literal("composite"),
  name: text.optional(),
  transports: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]),
  continueOnFailure: flag.optional(),
  continue_on_failure: flag.optional(),
  withThreadPool: flag.optional(),
  with_thread_pool: flag.optional(),
});

/** The transport types the configuration accepts. */
export const TRANSPORT_TYPES = ["http", "console", "file", "kafka", "composite", "noop"] as const;

type Decoded = { transports: TransportConfig[]; problems: ConfigProblem[] };

const seconds = (s: number | undefined) => s === undefined ? undefined : s * 1000;

/** Drops undefined fields, so that configurations compare and print cleanly. */
export const compact = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const httpConfig = (h: z.infer<typeof http>): HttpTransportConfig => {
  const key = h.auth?.apiKey ?? h.auth?.api_key;
  const headers = { ...h.custom_headers, ...h.customHeaders, ...h.headers };
  return compact({
    type: "http",
    url: h.url,
    endpoint: h.endpoint,
    apiKey: key ? Redacted.make(key) : undefined,
    compression: h.compression,
    timeoutMs: h.timeoutInMillis ?? seconds(h.timeout),
    headers: Object.keys(headers).length > 0 ? headers : undefined,
    urlParams: h.urlParams,
    retry: h.retry &&
      compact({
        maxAttempts: h.retry.maxAttempts,
        initialDelayMs: seconds(h.retry.initialDelay),
        maxDelayMs: seconds(h.retry.maxDelay),
        maxElapsedMs: seconds(h.retry.totalTimeout),
      }),
    batch: h.batch,
    batchEndpoint: h.batchEndpoint,
    maxBatch: h.maxBatch,
    concurrency: h.concurrency,
    name: h.name,
  });
};

const kafkaConfig = (k: z.infer<typeof kafka>): KafkaTransportConfig => {
  const properties = { ...(k.config ?? {}), ...(k.properties ?? {}) };
  return compact({
    type: "kafka",
    topic: (k.topicName ?? k.topic)!,
    brokers: properties["bootstrap.servers"].split(",").map((b) => b.trim()).filter((b) => b),
    properties,
    messageKey: k.messageKey ?? k.message_key,
    name: k.name,
  });
};

const fileConfig = (f: z.infer<typeof file>, cwd: string): FileTransportConfig =>
  compact({
    type: "file",
    path: resolve(cwd, (f.log_file_path ?? f.logFilePath ?? f.location ?? f.path)!),
    name: f.name,
  });

const MAX_DEPTH = 8;

/** Decodes the transport at `path`; composites become the list of their children. */
export const decodeTransport = (
  value: unknown,
  path: ConfigPath,
  where: Where,
  cwd: string,
  depth = 0,
): Decoded => {
  const type = (value as { type?: unknown } | null)?.type;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      transports: [],
      problems: decodeAt(z.object({}), value, path, where).problems.slice(),
    };
  }
  if (type === undefined) {
    return { transports: [], problems: [missingKey([...path, "type"], where)] };
  }
  if (!(TRANSPORT_TYPES as ReadonlyArray<unknown>).includes(type)) {
    return {
      transports: [],
      problems: [{
        where: where([...path, "type"]),
        message: `unknown transport type${quotedWord(type)} (allowed: ${
          TRANSPORT_TYPES.join(", ")
        })`,
      }],
    };
  }
  const one = <T>(schema: z.ZodType<T>, build: (v: T) => TransportConfig[]): Decoded => {
    const r = decodeAt(schema, value, path, where);
    return { transports: r.value === undefined ? [] : build(r.value), problems: [...r.problems] };
  };
  switch (type as (typeof TRANSPORT_TYPES)[number]) {
    case "http":
      return one(http, (h) => [httpConfig(h)]);
    case "kafka":
      return one(kafka, (k) => [kafkaConfig(k)]);
    case "file":
      return one(file, (f) => [fileConfig(f, cwd)]);
    case "console":
      return one(
        simple("console"),
        (c) => [compact({ type: "console", name: (c as { name?: string }).name })],
      );
    case "noop":
      return one(simple("noop"), () => []);
    case "composite":
      return decodeComposite(value, path, where, cwd, depth);
  }
};

const decodeComposite = (
  value: unknown,
  path: ConfigPath,
  where: Where,
  cwd: string,
  depth: number,
): Decoded => {
  if (depth >= MAX_DEPTH) {
    return {
      transports: [],
      problems: [{ where: where(path), message: "composite transports nest too deep" }],
    };
  }
  const r = decodeAt(composite, value, path, where);
  if (r.value === undefined) return { transports: [], problems: [...r.problems] };
  const children: Array<[string | number, unknown]> = Array.isArray(r.value.transports)
    ? r.value.transports.map((c, i) => [i, c])
    : Object.entries(r.value.transports);
  const out: Decoded = { transports: [], problems: [] };
  for (const [key, child] of children) {
    const d = decodeTransport(child, [...path, "transports", key], where, cwd, depth + 1);
    out.transports.push(...d.transports);
    out.problems.push(...d.problems);
  }
  return out;
};

/** The top-level keys of `openlineage.yml`; `facets`, `tags` … are the clients' and ignored. */
export const topLevel = strict({
  transport: z.unknown().optional(),
  filters: z.unknown().optional(),
  facets: z.unknown().optional(),
  tags: z.unknown().optional(),
  dataset: z.unknown().optional(),
  circuitBreaker: z.unknown().optional(),
  metrics: z.unknown().optional(),
});
