import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Effect, Redacted } from "effect";
import { resolve } from "node:path";
import {
  describeLineageConfig,
  type LineageConfig,
  resolveLineageConfig,
  type ResolveOptions,
  sinksFor,
} from "../../lineage/config.ts";
import type { LineageConfigError } from "../../lineage/config_error.ts";
import { childProcessEnv } from "../../lineage/parent_run.ts";
import { openEmbeddedStore } from "../../adapters/store/store.ts";
import { insertOutbox } from "../../adapters/store/sql_outbox.ts";
import { flush } from "../../lineage/relay.ts";
import { tempDir } from "../_harness.ts";

const KEY = "sk-config-2b7e41";

let cwd: string;
let home: string;
beforeEach(async () => {
  cwd = await tempDir();
  home = await tempDir();
});
afterEach(async () => {
  await Deno.remove(cwd, { recursive: true });
  await Deno.remove(home, { recursive: true });
});

const envOf = (vars: Record<string, string> = {}) => ({
  get: (k: string) => vars[k],
  toObject: () => ({ ...vars }),
});

const write = async (path: string, text: string) => {
  await Deno.mkdir(resolve(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
};

const resolveWith = (vars: Record<string, string> = {}, extra: Partial<ResolveOptions> = {}) =>
  Effect.runPromise(resolveLineageConfig({ env: envOf(vars), cwd, home, ...extra }));

const problemsOf = async (
  vars: Record<string, string> = {},
  extra: Partial<ResolveOptions> = {},
) => {
  const r = await Effect.runPromise(
    Effect.result(resolveLineageConfig({ env: envOf(vars), cwd, home, ...extra })),
  );
  if (r._tag === "Success") throw new Error("expected a LineageConfigError");
  return (r.failure as LineageConfigError).message.split("\n");
};

/** A value with its API keys unwrapped, to compare whole values. */
// deno-lint-ignore no-explicit-any -- a generic walk over plain data
const plain = (v: any): any =>
  Redacted.isRedacted(v)
    ? `key:${Redacted.value(v)}`
    : Array.isArray(v)
    ? v.map(plain)
    : v !== null && typeof v === "object"
    ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
    : v;

const httpFile = `transport:
  type: http
  url: http://file-marquez:5000
  auth:
    type: api_key
    apiKey: ${KEY}
`;

/** The parts of a configuration the precedence tests compare. */
const core = (c: LineageConfig) => ({
  namespace: c.namespace,
  transports: plain(c.transports),
  filters: c.filters,
  origin: c.origin,
  ...(c.configFile ? { configFile: c.configFile } : {}),
});

describe("resolveLineageConfig() precedence", () => {
  it("defaults to JSONL files in the store's lineage directory and the lineage-kit namespace", async () => {
    const c = await resolveWith();
    expect(core(c)).toEqual({
      namespace: "lineage-kit",
      transports: [{ type: "jsonl" }],
      filters: [],
      origin: "default",
    });
    expect(c.facets).toEqual({
      disabled: [],
      environmentVariables: [],
      tags: { job: [], run: [] },
      owners: [],
    });
    expect([c.namespaceResolvers, c.circuitBreaker, c.metrics, c.notices]).toEqual([
      [],
      undefined,
      undefined,
      [],
    ]);
  });

  it("reads ./openlineage.yml, else ~/.openlineage/openlineage.yml, the working directory first", async () => {
    await write(resolve(home, ".openlineage/openlineage.yml"), "transport:\n  type: console\n");
    const fromHome = await resolveWith();
    expect(fromHome.transports).toEqual([{ type: "console" }]);
    expect(fromHome.configFile).toBe(resolve(home, ".openlineage/openlineage.yml"));
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    expect(core(await resolveWith())).toEqual({
      namespace: "lineage-kit",
      transports: [{
        type: "http",
        url: "http://file-marquez:5000",
        apiKey: `key:${KEY}`,
      }],
      filters: [],
      origin: "openlineage.yml",
      configFile: "openlineage.yml",
    });
  });

  it("OPENLINEAGE_CONFIG names the file and wins over ./openlineage.yml; a missing one is an error", async () => {
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    await write(resolve(cwd, "conf/ol.yml"), "transport:\n  type: noop\n");
    const chosen = await resolveWith({ OPENLINEAGE_CONFIG: "conf/ol.yml" });
    expect([chosen.transports, chosen.configFile]).toEqual([[], "conf/ol.yml"]);
    expect(await problemsOf({ OPENLINEAGE_CONFIG: "conf/missing.yml" })).toEqual([
      `OPENLINEAGE_CONFIG: no file at ${resolve(cwd, "conf/missing.yml")}`,
    ]);
  });

  it("the file wins over OPENLINEAGE__ variables key by key; the variables fill what it leaves out", async () => {
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    const c = await resolveWith({
      OPENLINEAGE__TRANSPORT__URL: "https://marquez.prod:443",
      OPENLINEAGE__TRANSPORT__COMPRESSION: "gzip",
    });
    expect(plain(c).transports).toEqual([{
      type: "http",
      url: "http://file-marquez:5000",
      apiKey: `key:${KEY}`,
      compression: "gzip",
    }]);
    expect(c.origin).toBe("openlineage.yml");
    expect(c.notices).toEqual([
      "OPENLINEAGE__TRANSPORT__URL is not used: openlineage.yml:3:3 sets transport.url (the " +
      "file wins over OPENLINEAGE__ variables, as in the official clients)",
    ]);
    expect(c.settings.filter((s) => s.key.startsWith("transport."))).toEqual([
      { key: "transport.type", value: "http", from: "openlineage.yml:2:3" },
      { key: "transport.url", value: "http://file-marquez:5000", from: "openlineage.yml:3:3" },
      { key: "transport.auth.type", value: "api_key", from: "openlineage.yml:5:5" },
      { key: "transport.auth.apiKey", value: "<redacted>", from: "openlineage.yml:6:5" },
      { key: "transport.compression", value: "gzip", from: "OPENLINEAGE__TRANSPORT__COMPRESSION" },
    ]);
  });

  it("a variable for another transport type than the file's is noted, and the file's type stays", async () => {
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    const c = await resolveWith({ OPENLINEAGE__TRANSPORT__TYPE: "console" });
    expect(c.transports.map((t) => t.type)).toEqual(["http"]);
    expect(c.notices[0]).toMatch(/^OPENLINEAGE__TRANSPORT__TYPE is not used: openlineage\.yml:2:3/);
  });

  it("./openlineage.yml with transport file and OPENLINEAGE_URL set: events go to the file, and OPENLINEAGE_URL is noted as not used", async () => {
    await write(
      resolve(cwd, "openlineage.yml"),
      "transport:\n  type: file\n  log_file_path: out/events.jsonl\n  append: true\n",
    );
    const c = await resolveWith({
      OPENLINEAGE_URL: "http://legacy:5000",
      OPENLINEAGE_API_KEY: KEY,
    });
    expect(c.transports).toEqual([{
      type: "file",
      path: resolve(cwd, "out/events.jsonl"),
      append: true,
    }]);
    expect(c.notices).toEqual([
      "OPENLINEAGE_URL, OPENLINEAGE_API_KEY are not used: openlineage.yml:2:3 configures a file " +
      "transport (the official clients use OPENLINEAGE_URL only when no transport is configured, " +
      "or add it to a composite one)",
    ]);
  });

  it("the legacy OPENLINEAGE_URL, _ENDPOINT and _API_KEY make an HTTP transport when nothing configures one", async () => {
    const c = await resolveWith({
      OPENLINEAGE_URL: "http://legacy:5000",
      OPENLINEAGE_ENDPOINT: "/api/v1/lineage",
      OPENLINEAGE_API_KEY: KEY,
      OPENLINEAGE__TRANSPORT__COMPRESSION: "gzip",
    });
    expect(plain(c).transports).toEqual([{
      type: "http",
      url: "http://legacy:5000",
      endpoint: "/api/v1/lineage",
      apiKey: `key:${KEY}`,
      compression: "gzip",
    }]);
    expect(c.origin).toBe("OPENLINEAGE_URL, OPENLINEAGE_ENDPOINT, OPENLINEAGE_API_KEY");
  });

  it("OPENLINEAGE__TRANSPORT__ variables with a type win over the legacy ones", async () => {
    const c = await resolveWith({
      OPENLINEAGE_URL: "http://legacy:5000",
      OPENLINEAGE__TRANSPORT__TYPE: "console",
    });
    expect(c.transports).toEqual([{ type: "console" }]);
    expect(c.notices[0]).toMatch(/^OPENLINEAGE_URL is not used: OPENLINEAGE__TRANSPORT__TYPE/);
  });

  it("OPENLINEAGE_DISABLED=true means no sinks, whatever the file and variables say", async () => {
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    const c = await resolveWith({ OPENLINEAGE_DISABLED: "TRUE", OPENLINEAGE_URL: "http://x:1" });
    expect([c.transports, c.origin]).toEqual([[], "OPENLINEAGE_DISABLED"]);
    expect(sinksFor(c, { lineageDir: cwd })).toEqual([]);
  });

  it("the --lineage flag wins over everything: a directory, a Marquez URL, a Kafka topic", async () => {
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    const vars = { OPENLINEAGE_DISABLED: "true", OPENLINEAGE__TRANSPORT__TYPE: "console" };
    const dir = await resolveWith(vars, { flag: "out/lineage" });
    expect([dir.transports, dir.origin]).toEqual([
      [{ type: "jsonl", dir: resolve(cwd, "out/lineage") }],
      "--lineage",
    ]);
    const kafka = await resolveWith(vars, { flag: "kafka://b1:9092,b2:9092/openlineage.events" });
    expect(kafka.transports).toEqual([{
      type: "kafka",
      topic: "openlineage.events",
      brokers: ["b1:9092", "b2:9092"],
      properties: { "bootstrap.servers": "b1:9092,b2:9092" },
    }]);
    const url = await resolveWith({}, { flag: "https://marquez.prod/lineage/api?tenant=t1" });
    expect(url.transports).toEqual([{
      type: "http",
      url: "https://marquez.prod",
      endpoint: "/lineage/api",
      urlParams: { tenant: "t1" },
    }]);
  });

  it("a --lineage URL gets OPENLINEAGE_API_KEY, or the configured key only when it is the same server", async () => {
    await write(resolve(cwd, "openlineage.yml"), httpFile);
    const same = await resolveWith({}, { flag: "http://file-marquez:5000" });
    expect(plain(same).transports[0].apiKey).toBe(`key:${KEY}`);
    const other = await resolveWith({}, { flag: "http://elsewhere:5000" });
    expect(plain(other).transports[0].apiKey).toBeUndefined();
    const env = await resolveWith({ OPENLINEAGE_API_KEY: "k2" }, { flag: "http://elsewhere:5000" });
    expect(plain(env).transports[0].apiKey).toBe("key:k2");
  });

  it("rejects a --lineage value it cannot use", async () => {
    expect(await problemsOf({}, { flag: "ftp://host/x" })).toEqual([
      '--lineage: unsupported scheme "ftp://"; expected a directory, an http(s):// URL ' +
      "(Marquez) or kafka://host:port/topic",
    ]);
    expect(await problemsOf({}, { flag: "kafka://broker:9092" })).toEqual([
      '--lineage: expected kafka://host:port/topic (got "kafka://broker:9092")',
    ]);
  });
});

describe("resolveLineageConfig() variables", () => {
  it("nests on double underscores, camelCases SNAKE_CASE keys and parses JSON values", async () => {
    const c = await resolveWith({
      OPENLINEAGE__TRANSPORT__TYPE: "http",
      OPENLINEAGE__TRANSPORT__URL: "http://m:5000",
      OPENLINEAGE__TRANSPORT__AUTH__TYPE: "api_key",
      OPENLINEAGE__TRANSPORT__AUTH__API_KEY: KEY,
      OPENLINEAGE__TRANSPORT__TIMEOUT_IN_MILLIS: "2500",
      OPENLINEAGE__TRANSPORT__HEADERS: '{"X-Team":"kg"}',
      OPENLINEAGE__TRANSPORT__RETRY__MAX_ATTEMPTS: "7",
      OPENLINEAGE__TRANSPORT__BATCH: "true",
    });
    expect(plain(c).transports).toEqual([{
      type: "http",
      url: "http://m:5000",
      apiKey: `key:${KEY}`,
      timeoutMs: 2500,
      headers: { "X-Team": "kg" },
      retry: { maxAttempts: 7 },
      batch: true,
    }]);
  });

  it("builds a composite from variables; sinksFor gives one sink per child", async () => {
    const c = await resolveWith({
      OPENLINEAGE__TRANSPORT__TYPE: "composite",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__TYPE: "console",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__MARQUEZ__TYPE: "http",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__MARQUEZ__URL: "http://m:5000",
      OPENLINEAGE__NAMESPACE_IS_NOT_A_KEY: "",
    }).catch((e: LineageConfigError) => e.message);
    expect(c).toBe(
      'OPENLINEAGE__NAMESPACE_IS_NOT_A_KEY: unknown key "namespaceIsNotAKey" (allowed: ' +
        "transport, filters, facets, tags, dataset, circuitBreaker, metrics, job, run)",
    );
    const ok = await resolveWith({
      OPENLINEAGE__TRANSPORT__TYPE: "composite",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__LOCAL__TYPE: "console",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__MARQUEZ__TYPE: "http",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__MARQUEZ__URL: "http://m:5000",
    });
    expect(sinksFor(ok, { lineageDir: cwd }).map((s) => [s.name, s.channels])).toEqual([
      ["console", ["openlineage"]],
      ["http:http://m:5000/api/v1/lineage", ["openlineage"]],
    ]);
  });

  it("names the variable in errors, and checks the namespace and OPENLINEAGE_DISABLED", async () => {
    expect(
      await problemsOf({
        OPENLINEAGE__TRANSPORT__TYPE: "http",
        OPENLINEAGE__TRANSPORT__URL: "http://m:5000",
        OPENLINEAGE__TRANSPORT__TIMEOUT: "soon",
        OPENLINEAGE_NAMESPACE: "my namespace",
        OPENLINEAGE_DISABLED: "maybe",
      }),
    ).toEqual([
      'OPENLINEAGE_DISABLED: expected true or false (got "maybe")',
      'OPENLINEAGE_NAMESPACE: "my namespace" is not a valid namespace (1 to 1024 letters, ' +
      "digits and _-.:/@+=; only)",
      "OPENLINEAGE__TRANSPORT__TIMEOUT: transport.timeout must be a number (got a string)",
    ]);
  });
});

describe("resolveLineageConfig() file errors", () => {
  it("reports every problem at once, each at its file:line:column", async () => {
    await write(
      resolve(cwd, "openlineage.yml"),
      `transport:
  type: http
  url: ftp://marquez:5000
  timeout: soon
  compresion: gzip
  auth:
    type: api_key
filters:
  - type: regex
    regex: "(["
  - type: prefix
    match: x
`,
    );
    expect(await problemsOf()).toEqual([
      "openlineage.yml:3:3: transport.url must be an http:// or https:// URL without credentials",
      "openlineage.yml:4:3: transport.timeout must be a number (got a string)",
      'openlineage.yml:5:3: unknown key "compresion" in transport (allowed: type, name, priority, ' +
      "url, endpoint, timeout, timeoutInMillis, auth, compression, headers, customHeaders, " +
      "custom_headers, urlParams, verify, retry, batch, batchEndpoint, maxBatch, concurrency, " +
      "sslContextConfig)",
      'openlineage.yml:6:3: missing required key "apiKey" in transport.auth',
      "openlineage.yml:10:5: filters[0].regex is not a valid regular expression",
      'openlineage.yml:11:5: unknown filter type "prefix" (allowed: exact, regex)',
    ]);
  });

  it("reports a file that is not a mapping, and a transport variable without its url", async () => {
    await write(resolve(cwd, "openlineage.yml"), "- transport\n");
    expect(await problemsOf()).toEqual(["openlineage.yml:1:1: the file must hold a mapping"]);
    await Deno.remove(resolve(cwd, "openlineage.yml"));
    expect(await problemsOf({ OPENLINEAGE__TRANSPORT__TYPE: "http" })).toEqual([
      'OPENLINEAGE__TRANSPORT__TYPE: missing required key "url" in transport',
    ]);
  });

  it("reports an unknown transport type and YAML syntax errors at their position", async () => {
    await write(resolve(cwd, "openlineage.yml"), "transport:\n  type: htp\n");
    expect(await problemsOf()).toEqual([
      'openlineage.yml:2:3: unknown transport type "htp" (allowed: http, console, file, kafka, ' +
      "composite, noop)",
    ]);
    await write(resolve(cwd, "openlineage.yml"), "transport:\n  type: http\n   url: x\n");
    expect(await problemsOf()).toEqual([
      "openlineage.yml:2:9: YAML syntax error: Nested mappings are not allowed in compact mappings",
      "openlineage.yml:2:9: YAML syntax error: Implicit keys need to be on a single line",
    ]);
  });

  it("never repeats a secret in an error, nor in the description of a configuration", async () => {
    await write(
      resolve(cwd, "openlineage.yml"),
      `transport:\n  type: http\n  url: http://m:5000\n  auth:\n    type: ${KEY}\n    apiKey: ${KEY}\n`,
    );
    const errors = await problemsOf();
    expect(errors).toEqual([
      'openlineage.yml:5:5: transport.auth.type must be "api_key"',
    ]);
    await Deno.remove(resolve(cwd, "openlineage.yml"));
    const config = await resolveWith({
      OPENLINEAGE_URL: "http://m:5000",
      OPENLINEAGE_API_KEY: KEY,
    });
    const text = describeLineageConfig(config);
    expect(text).toBe(
      "namespace lineage-kit\n" +
        "transports from OPENLINEAGE_URL, OPENLINEAGE_API_KEY:\n" +
        "  http http://m:5000/api/v1/lineage (api key <redacted>)",
    );
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(String(config.transports[0])).not.toContain(KEY);
  });
});

describe("filters and the parent run", () => {
  it("skips the OpenLineage events of filtered jobs: neither delivered nor left pending", async () => {
    await write(
      resolve(cwd, "openlineage.yml"),
      `transport:\n  type: console\nfilters:\n  - type: exact\n    match: auto.embed\n` +
        `  - type: regex\n    regex: "auto\\\\.kg"\n`,
    );
    const config = await resolveWith();
    expect(config.filters).toEqual([
      { type: "exact", match: "auto.embed" },
      { type: "regex", regex: "auto\\.kg" },
    ]);
    const lines: string[] = [];
    const store = await openEmbeddedStore();
    try {
      const names = ["auto", "auto.embed", "auto.embedder", "auto.kg", "x.auto.kg"];
      await insertOutbox(
        store.client,
        "job-1",
        names.map((name, i) => ({
          channel: "openlineage",
          runId: `r${i}`,
          payload: { eventType: "START", job: { namespace: "lineage-kit", name } },
        })),
      );
      const sinks = sinksFor(config, { lineageDir: cwd, consoleWrite: (l) => lines.push(l) });
      const reports = await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
      expect(reports).toEqual([{ sink: "console", delivered: 3, pending: 0, deadLettered: 0 }]);
      expect(lines.map((l) => JSON.parse(l).job.name)).toEqual([
        "auto",
        "auto.embedder",
        "x.auto.kg",
      ]);
    } finally {
      await store.close();
    }
  });

  it("reads the parent run from OPENLINEAGE_PARENT_ID and passes its own on to a child process", async () => {
    const parent = "0190d1a2-0000-7000-8000-00000000000a";
    const root = "0190d1a2-0000-7000-8000-00000000000b";
    const c = await resolveWith({
      OPENLINEAGE_PARENT_ID: `airflow/etl.load/${parent}`,
      OPENLINEAGE_ROOT_PARENT_ID: `airflow/etl/${root}`,
    });
    expect(c.parent).toEqual({
      runId: parent,
      job: { namespace: "airflow", name: "etl.load" },
      root: { runId: root, job: { namespace: "airflow", name: "etl" } },
    });
    const mine = {
      runId: "0190d1a2-0000-7000-8000-00000000000c",
      job: { namespace: "lineage-kit", name: "auto" },
    };
    const child = await resolveWith(childProcessEnv(mine, c.parent!.root));
    expect(child.parent).toEqual({ ...mine, root: c.parent!.root });
    const urlNamespace = { runId: parent, job: { namespace: "https://x.org/a", name: "j" } };
    const viaContext = await resolveWith(childProcessEnv(urlNamespace));
    expect(viaContext.parent).toEqual({ ...urlNamespace, root: urlNamespace });
  });

  it("rejects a malformed parent, and both parent forms at once", async () => {
    expect(await problemsOf({ OPENLINEAGE_PARENT_ID: "airflow/etl/not-a-uuid" })).toEqual([
      'OPENLINEAGE_PARENT_ID: the run id must be a UUID (got "not-a-uuid")',
    ]);
    expect(await problemsOf({ OPENLINEAGE_PARENT_ID: "a/b/c", OPENLINEAGE_CONTEXT: "{}" })).toEqual(
      [
        "OPENLINEAGE_CONTEXT: and OPENLINEAGE_PARENT_ID are both set: set one of them",
      ],
    );
  });
});

describe("sinksFor()", () => {
  it("makes the default JSONL pair in the lineage directory, and a Kafka sink only through its builder", async () => {
    const c = await resolveWith();
    expect(sinksFor(c, { lineageDir: "/data/lineage" }).map((s) => s.name)).toEqual([
      "jsonl:openlineage:/data/lineage/openlineage.jsonl",
      "jsonl:cloudevents:/data/lineage/cloudevents.jsonl",
    ]);
    const k = await resolveWith({}, { flag: "kafka://b:9092/ol" });
    const [missing] = sinksFor(k, { lineageDir: cwd });
    const failure = await Effect.runPromise(Effect.flip(missing.deliver([])));
    expect([missing.name, failure.message]).toEqual([
      "kafka:b:9092/ol",
      "no Kafka producer is available to this command; events stay pending",
    ]);
    const built = sinksFor(k, {
      lineageDir: cwd,
      kafkaSink: (t) => ({
        name: `built:${t.topic}`,
        channels: ["cloudevents"],
        deliver: () => Effect.void,
      }),
    });
    expect(built.map((s) => s.name)).toEqual(["built:ol"]);
  });
});
