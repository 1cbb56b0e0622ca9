/**
 * The transports of `openlineage.yml` (the official clients' keys, Python's `snake_case` and
 * Java's `camelCase` spellings both accepted) and their decoding into transport configurations.
 * A `composite` transport decodes into the list of its children. Transport types and keys the kit
 * cannot honour are refused with the reason, never accepted and ignored.
 *
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { ConfigPath } from "./_config_sources.ts";
import { decodeAt, missingKey, quotedWord, type Where } from "./_config_issues.ts";
import { compact, httpConfig, httpSchema } from "./_config_http.ts";
import {
  custom,
  flag,
  integer,
  onlyValue,
  strict,
  stringMap,
  text,
  unsupported,
} from "./_config_values.ts";
import type {
  FileTransportConfig,
  KafkaTransportConfig,
  TransportConfig,
} from "./transport_config.ts";

export { compact } from "./_config_http.ts";
export { strict, text } from "./_config_values.ts";

const REMOTE_FILES = "the file transport writes local files only";

const file = strict({
  type: z.literal("file"),
  name: text.optional(),
  priority: integer.optional(),
  log_file_path: text.optional(),
  logFilePath: text.optional(),
  location: text.optional(),
  path: text.optional(),
  append: flag.optional(),
  storage_options: unsupported(REMOTE_FILES),
  storageOptions: unsupported(REMOTE_FILES),
  filesystem: unsupported(REMOTE_FILES),
  fs_kwargs: unsupported(REMOTE_FILES),
  fsKwargs: unsupported(REMOTE_FILES),
  debug_mode: unsupported("`deno task lineage show` prints runs readably"),
  debugMode: unsupported("`deno task lineage show` prints runs readably"),
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
  if (given.length > 1) ctx.addIssue(custom([], "give one of log_file_path, location and path"));
  const target = given[0] ?? "";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !target.startsWith("file://")) {
    ctx.addIssue(custom(["log_file_path"], `must be a local path (${REMOTE_FILES})`));
  }
});

const kafka = strict({
  type: z.literal("kafka"),
  name: text.optional(),
  priority: integer.optional(),
  topic: text.optional(),
  topicName: text.optional(),
  properties: stringMap.optional(),
  config: stringMap.optional(),
  messageKey: text.optional(),
  message_key: text.optional(),
  flush: onlyValue(
    true,
    "the relay records an event as delivered only once Kafka acknowledged it",
  ),
}).superRefine((k, ctx) => {
  if (!k.topic && !k.topicName) {
    ctx.addIssue({ code: "custom", path: ["topicName"], message: "", params: { missing: true } });
  }
  if (!(k.properties ?? k.config)?.["bootstrap.servers"]) {
    ctx.addIssue(custom(["properties"], 'must set "bootstrap.servers"'));
  }
});

const simple = (type: "console" | "noop") =>
  strict({
    type: z.literal(type),
    priority: integer.optional(),
    ...(type === "console" ? { name: text.optional() } : {}),
  });

const INDEPENDENT = "each transport of a composite has its own delivery cursor: every one gets " +
  "every event, and one being down never holds back the others";

const composite = strict({
  type: z.literal("composite"),
  name: text.optional(),
  priority: integer.optional(),
  transports: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]),
  continueOnFailure: onlyValue(true, INDEPENDENT),
  continue_on_failure: onlyValue(true, INDEPENDENT),
  continue_on_success: onlyValue(true, INDEPENDENT),
  continueOnSuccess: onlyValue(true, INDEPENDENT),
  withThreadPool: onlyValue(true, INDEPENDENT),
  with_thread_pool: onlyValue(true, INDEPENDENT),
  sort_transports: flag.optional(),
  sortTransports: flag.optional(),
});

/** The transport types the configuration accepts. */
export const TRANSPORT_TYPES = ["http", "console", "file", "kafka", "composite", "noop"] as const;

// Types of the official clients the kit does not provide, with what to use instead.
const OTHER_TYPES: Readonly<Record<string, string>> = {
  async_http: "use type http: the kit's relay already sends in the background, in order",
  transform: "its transformer_class is Python code; the configuration's facets, tags and " +
    "dataset.namespaceResolvers keys change events instead",
  datadog: "send to Datadog's OpenLineage intake with type http",
  gcplineage: "not available in this runtime",
  amazon_datazone_api: "not available in this runtime",
  gcs: "not available in this runtime",
  s3: "not available in this runtime",
};

type Decoded = { transports: TransportConfig[]; problems: ConfigProblem[] };

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

// The Python client's `log_file_path` writes one file per event unless `append: true`; the Java
// client's `location` always appends lines.
const fileConfig = (f: z.infer<typeof file>, cwd: string): FileTransportConfig => {
  const target = (f.log_file_path ?? f.logFilePath ?? f.location ?? f.path)!;
  const path = target.startsWith("file://") ? new URL(target).pathname : target;
  const pythonStyle = f.log_file_path !== undefined || f.logFilePath !== undefined;
  return compact({
    type: "file",
    path: resolve(cwd, path),
    append: pythonStyle ? f.append === true : f.append ?? true,
    name: f.name,
  });
};

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
  if (typeof type === "string" && OTHER_TYPES[type] !== undefined) {
    return {
      transports: [],
      problems: [{
        where: where([...path, "type"]),
        message: `transport type "${type}" is not supported: ${OTHER_TYPES[type]}`,
      }],
    };
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
      return one(httpSchema, (h) => [httpConfig(h)]);
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

const priorityOf = (child: unknown): number => {
  const p = Number((child as { priority?: unknown } | null)?.priority ?? 0);
  return Number.isFinite(p) ? p : 0;
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
  // An empty child is how the clients switch one off (the default_http one OPENLINEAGE_URL adds).
  const isEmpty = (c: unknown) =>
    c === null || (typeof c === "object" && !Array.isArray(c) && Object.keys(c).length === 0);
  let children: Array<[string | number, unknown]> =
    (Array.isArray(r.value.transports)
      ? r.value.transports.map((c, i) => [i, c] as [number, unknown])
      : Object.entries(r.value.transports).map(([k, c]) => [k, c] as [string, unknown]))
      .filter(([, c]) => !isEmpty(c));
  if (r.value.sort_transports ?? r.value.sortTransports) {
    children = children.map((c, i) => ({ c, i }))
      .sort((a, b) => priorityOf(b.c[1]) - priorityOf(a.c[1]) || a.i - b.i).map(({ c }) => c);
  }
  const out: Decoded = { transports: [], problems: [] };
  for (const [key, child] of children) {
    // A map key is not made the child's name: the name is the sink's delivery cursor, and the
    // cursor of a configured sink must not change under it (its events would go out again).
    const d = decodeTransport(child, [...path, "transports", key], where, cwd, depth + 1);
    out.transports.push(...d.transports);
    out.problems.push(...d.problems);
  }
  return out;
};

/** The top-level keys of `openlineage.yml` the official clients define. */
export const topLevel = strict({
  transport: z.unknown().optional(),
  filters: z.unknown().optional(),
  facets: z.unknown().optional(),
  tags: z.unknown().optional(),
  dataset: z.unknown().optional(),
  circuitBreaker: z.unknown().optional(),
  metrics: z.unknown().optional(),
  job: z.unknown().optional(),
  run: z.unknown().optional(),
});
