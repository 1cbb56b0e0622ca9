// deno-lint-ignore-file no-explicit-any -- delivered events are parsed JSON
/**
 * One test per row of the README's lineage configuration table: each key or variable, at its
 * rank, with its effect on the events a sink receives (delivered through a real relay flush and
 * checked by the OpenLineage validator).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Effect, Redacted } from "effect";
import { resolve } from "node:path";
import {
  type LineageConfig,
  resolveLineageConfig,
  type ResolveOptions,
  sinksFor,
} from "../../lineage/config.ts";
import type { LineageConfigError } from "../../lineage/config_error.ts";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { insertOutbox } from "../../adapters/store/sql_outbox.ts";
import { flush } from "../../lineage/relay.ts";
import {
  pipelineEvents,
  type PipelineRunScope,
  type StageAttempt,
  stageEvents,
} from "../../lineage/run_events.ts";
import { fileDataset, storeTableDataset } from "../../lineage/dataset_naming.ts";
import { sourceDatasets } from "../../lineage/datasets.ts";
import type { OutboxEvent } from "../../lineage/outbox.ts";
import {
  makeOpenLineageValidator,
  type OpenLineageValidator,
} from "../../testing/openlineage_validator.ts";
import { tempDir } from "../_harness.ts";

let cwd: string;
let home: string;
let store: Store;
let validator: OpenLineageValidator;
// One embedded store for the file (opening one takes seconds); each test starts it empty.
beforeAll(async () => {
  validator = await makeOpenLineageValidator();
  store = await openEmbeddedStore();
});
afterAll(async () => {
  await store.close();
});
beforeEach(async () => {
  cwd = await tempDir();
  home = await tempDir();
  await store.client.exec(
    "truncate lk_outbox, lk_outbox_cursors, lk_outbox_settled, lk_outbox_dead_letters, lk_leases",
  );
});
afterEach(async () => {
  await Deno.remove(cwd, { recursive: true });
  await Deno.remove(home, { recursive: true });
});

const envOf = (vars: Record<string, string> = {}) => ({
  get: (k: string) => vars[k],
  toObject: () => ({ ...vars }),
});

const yml = (text: string) => Deno.writeTextFile(resolve(cwd, "openlineage.yml"), text);

const resolveWith = (vars: Record<string, string> = {}, extra: Partial<ResolveOptions> = {}) =>
  Effect.runPromise(resolveLineageConfig({ env: envOf(vars), cwd, home, ...extra }));

const problemsOf = async (vars: Record<string, string> = {}) => {
  const r = await Effect.runPromise(
    Effect.result(resolveLineageConfig({ env: envOf(vars), cwd, home })),
  );
  if (r._tag === "Success") throw new Error("expected a LineageConfigError");
  return (r.failure as LineageConfigError).message.split("\n");
};

const scope: PipelineRunScope = {
  namespace: "lineage-kit",
  pipeline: { name: "auto", version: "1.0.0", description: "records into the index" },
  jobId: "job-1",
  tenantId: "default",
  docId: "clinicaltrials:NCT06171568",
  correlationId: "corr-1",
  runNumber: 1,
  runCreatedAt: new Date(Date.UTC(2026, 0, 1)),
};

const storeAt = { namespace: "postgres://db.internal:5432", prefix: "kg" };
const attempt: StageAttempt = {
  stage: "ingest",
  type: "Ingest",
  attempt: 1,
  maxAttempts: 3,
  policy: "polite-api",
  implementation: "test",
  inputs: [{
    ...fileDataset("/data/records/NCT06171568.json", {
      sameAs: sourceDatasets.clinicaltrials,
    }),
    rowCount: 1,
  }],
  outputs: [storeTableDataset(storeAt, "lk_checkpoints.auto.ingest")],
};

const runEvents = (): ReadonlyArray<OutboxEvent> => [
  ...pipelineEvents(scope, { transition: "START", event: "started", time: new Date(1000) }),
  ...stageEvents(scope, attempt, { transition: "START", event: "started", time: new Date(1001) }),
  ...stageEvents(scope, attempt, {
    transition: "COMPLETE",
    event: "completed",
    time: new Date(1002),
    outputCount: 1,
  }),
];

/** What a console sink of `config` receives for one run's events; each event must validate. */
const delivered = async (config: LineageConfig): Promise<any[]> => {
  const lines: string[] = [];
  await insertOutbox(store.client, "job-1", runEvents());
  const sinks = sinksFor(config, { lineageDir: cwd, consoleWrite: (l) => lines.push(l) });
  await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
  const events = lines.map((l) => JSON.parse(l));
  expect(events.flatMap((e) => validator.validate(e))).toEqual([]);
  return events;
};

const console_ = "transport:\n  type: console\n";

describe("README lineage configuration table", () => {
  it("--lineage DIR|URL: wins over the file, the variables and OPENLINEAGE_DISABLED", async () => {
    await yml(console_);
    const c = await resolveWith(
      { OPENLINEAGE_DISABLED: "true", OPENLINEAGE__TRANSPORT__TYPE: "noop" },
      { flag: "out" },
    );
    expect([c.transports, c.origin]).toEqual([
      [{ type: "jsonl", dir: resolve(cwd, "out") }],
      "--lineage",
    ]);
    expect(c.settings.find((s) => s.key === "transport.type")).toMatchObject({
      unused: "--lineage wins",
    });
  });

  it("OPENLINEAGE_DISABLED: true in any case disables; false does nothing; 1 is an error", async () => {
    await yml(console_);
    expect((await resolveWith({ OPENLINEAGE_DISABLED: " True " })).transports).toEqual([]);
    expect((await resolveWith({ OPENLINEAGE_DISABLED: "false" })).transports).toEqual([
      { type: "console" },
    ]);
    expect(await problemsOf({ OPENLINEAGE_DISABLED: "1" })).toEqual([
      'OPENLINEAGE_DISABLED: expected true or false (got "1")',
    ]);
  });

  it("OPENLINEAGE_CONFIG: the file read, before ./openlineage.yml", async () => {
    await yml("transport:\n  type: noop\n");
    await Deno.writeTextFile(resolve(cwd, "other.yml"), console_);
    const c = await resolveWith({ OPENLINEAGE_CONFIG: "other.yml" });
    expect([c.configFile, c.transports]).toEqual(["other.yml", [{ type: "console" }]]);
  });

  it("./openlineage.yml: read when OPENLINEAGE_CONFIG is not set", async () => {
    await yml(console_);
    expect((await resolveWith()).configFile).toBe("openlineage.yml");
  });

  it("~/.openlineage/openlineage.yml: read when neither of the others exists", async () => {
    await Deno.mkdir(resolve(home, ".openlineage"));
    await Deno.writeTextFile(resolve(home, ".openlineage/openlineage.yml"), console_);
    const c = await resolveWith();
    expect([c.configFile, c.transports]).toEqual([
      resolve(home, ".openlineage/openlineage.yml"),
      [{ type: "console" }],
    ]);
  });

  it("OPENLINEAGE__*: below the file key by key; both key spellings; a section variable wins over its keys", async () => {
    await yml("transport:\n  type: http\n  url: http://file:5000\n");
    const c = await resolveWith({
      OPENLINEAGE__TRANSPORT__URL: "http://variable:5000",
      OPENLINEAGE__TRANSPORT__TIMEOUT_IN_MILLIS: "2500",
      OPENLINEAGE__TRANSPORT__AUTH__TYPE: "api_key",
      OPENLINEAGE__TRANSPORT__AUTH__APIKEY: "k-1",
      OPENLINEAGE__TAGS__JOB__TEAM_NAME: "kg",
      OPENLINEAGE__TAGS__RUN: '{"adhoc": "true"}',
      OPENLINEAGE__TAGS__RUN__IGNORED: "x",
    });
    expect(c.transports.map((t) => t.type === "http" && [t.url, t.timeoutMs])).toEqual([
      ["http://file:5000", 2500],
    ]);
    expect(c.transports[0].type === "http" && Redacted.value(c.transports[0].apiKey!)).toBe("k-1");
    expect(c.facets.tags).toEqual({
      job: [{ key: "team_name", value: "kg", source: "USER" }],
      run: [{ key: "adhoc", value: "true", source: "USER" }],
    });
    expect(c.notices).toEqual([
      "OPENLINEAGE__TAGS__RUN__IGNORED is not used: OPENLINEAGE__TAGS__RUN sets the whole " +
      "section (the official clients' rule)",
      "OPENLINEAGE__TRANSPORT__URL is not used: openlineage.yml:3:3 sets transport.url (the " +
      "file wins over OPENLINEAGE__ variables, as in the official clients)",
    ]);
  });

  it("OPENLINEAGE_URL: an HTTP transport without other configuration, a composite's default_http child, else not used", async () => {
    const alone = await resolveWith({ OPENLINEAGE_URL: "http://m:5000" });
    expect([alone.transports, alone.origin]).toEqual([
      [{ type: "http", url: "http://m:5000" }],
      "OPENLINEAGE_URL",
    ]);
    await yml("transport:\n  type: composite\n  transports:\n    local:\n      type: console\n");
    const joined = await resolveWith({ OPENLINEAGE_URL: "http://m:5000" });
    expect(joined.transports).toEqual([{ type: "console" }, {
      type: "http",
      url: "http://m:5000",
    }]);
    const optedOut = await resolveWith({
      OPENLINEAGE_URL: "http://m:5000",
      OPENLINEAGE__TRANSPORT__TRANSPORTS__DEFAULT_HTTP: "{}",
    });
    expect(optedOut.transports).toEqual([{ type: "console" }]);
    await yml(console_);
    const unused = await resolveWith({ OPENLINEAGE_URL: "http://m:5000" });
    expect(unused.transports).toEqual([{ type: "console" }]);
    expect(unused.notices[0]).toMatch(/^OPENLINEAGE_URL is not used: openlineage\.yml:2:3/);
  });

  it("OPENLINEAGE_ENDPOINT: the endpoint of the OPENLINEAGE_URL transport; noted without it", async () => {
    const c = await resolveWith({ OPENLINEAGE_URL: "http://m:5000", OPENLINEAGE_ENDPOINT: "/v2" });
    expect(c.transports).toEqual([{ type: "http", url: "http://m:5000", endpoint: "/v2" }]);
    const alone = await resolveWith({ OPENLINEAGE_ENDPOINT: "/v2" });
    expect(alone.notices).toEqual(["OPENLINEAGE_ENDPOINT is not used without OPENLINEAGE_URL"]);
  });

  it("OPENLINEAGE_API_KEY: the bearer key of the OPENLINEAGE_URL transport and of a --lineage URL", async () => {
    const legacy = await resolveWith({
      OPENLINEAGE_URL: "http://m:5000",
      OPENLINEAGE_API_KEY: "k",
    });
    const flag = await resolveWith({ OPENLINEAGE_API_KEY: "k" }, { flag: "http://m:5000" });
    for (const c of [legacy, flag]) {
      expect(c.transports[0].type === "http" && Redacted.value(c.transports[0].apiKey!)).toBe("k");
    }
    expect(legacy.settings.find((s) => s.key === "transport.auth.apiKey")).toEqual({
      key: "transport.auth.apiKey",
      value: "<redacted>",
      from: "OPENLINEAGE_API_KEY",
    });
  });

  it("OPENLINEAGE_NAMESPACE: the job namespace, over job.namespace", async () => {
    await yml(`${console_}job:\n  namespace: from-file\n`);
    expect((await resolveWith()).namespace).toBe("from-file");
    expect((await resolveWith({ OPENLINEAGE_NAMESPACE: "from-var" })).namespace).toBe("from-var");
  });

  it("OPENLINEAGE_PARENT_ID, OPENLINEAGE_ROOT_PARENT_ID, OPENLINEAGE_CONTEXT: the outside parent run", async () => {
    const c = await resolveWith({
      OPENLINEAGE_PARENT_ID: "airflow/dag.task/01936893-9751-7a91-a2a0-a51101a3970c",
    });
    expect(c.parent).toMatchObject({
      job: { namespace: "airflow", name: "dag.task" },
      runId: "01936893-9751-7a91-a2a0-a51101a3970c",
    });
  });

  it("OPENLINEAGE_CLIENT_LOGGING: noted as not used", async () => {
    expect((await resolveWith({ OPENLINEAGE_CLIENT_LOGGING: "DEBUG" })).notices).toEqual([
      "OPENLINEAGE_CLIENT_LOGGING is not used: the kit logs through Effect's logger",
    ]);
  });

  it("transport.type http: Python and Java keys; verify false and urllib3-only retry keys refused", async () => {
    await yml(`transport:
  type: http
  url: https://marquez.example
  endpoint: /api/v1/lineage
  timeout: 2.5
  compression: gzip
  custom_headers: {X-Team: kg}
  retry: {total: 3, backoff_factor: 0.5}
`);
    expect((await resolveWith()).transports).toEqual([{
      type: "http",
      url: "https://marquez.example",
      endpoint: "/api/v1/lineage",
      compression: "gzip",
      timeoutMs: 2500,
      headers: { "X-Team": "kg" },
      retry: { maxAttempts: 4, initialDelayMs: 500 },
    }]);
    await yml(`transport:
  type: http
  url: https://marquez.example
  verify: false
  retry: {status_forcelist: [500]}
`);
    expect(await problemsOf()).toEqual([
      "openlineage.yml:4:3: transport.verify false is not supported: Deno always verifies TLS " +
      "(add a CA with DENO_CERT)",
      "openlineage.yml:5:11: transport.retry.status_forcelist is not supported: the kit retries " +
      "network errors, timeouts, 408, 425, 429 and 5xx, honouring Retry-After, within " +
      "maxAttempts and totalTimeout",
    ]);
  });

  it("transport.type kafka: topic, config with bootstrap.servers, messageKey; flush false refused", async () => {
    await yml(`transport:
  type: kafka
  topic: openlineage
  config: {bootstrap.servers: "b1:9092,b2:9092", acks: all}
  message_key: kit
  flush: true
`);
    expect((await resolveWith()).transports).toEqual([{
      type: "kafka",
      topic: "openlineage",
      brokers: ["b1:9092", "b2:9092"],
      properties: { "bootstrap.servers": "b1:9092,b2:9092", acks: "all" },
      messageKey: "kit",
    }]);
    await yml(
      'transport:\n  type: kafka\n  topic: t\n  config: {bootstrap.servers: "b:9092"}\n  flush: false\n',
    );
    expect(await problemsOf()).toEqual([
      "openlineage.yml:5:3: transport.flush false is not supported: the relay records an event " +
      "as delivered only once Kafka acknowledged it",
    ]);
  });

  it("transport.type file: log_file_path writes one file per event unless append: true; location appends", async () => {
    await yml("transport:\n  type: file\n  log_file_path: out/ol\n");
    const perEvent = await resolveWith();
    expect(perEvent.transports).toEqual([
      { type: "file", path: resolve(cwd, "out/ol"), append: false },
    ]);
    await insertOutbox(store.client, "job-1", runEvents());
    const sinks = sinksFor(perEvent, { lineageDir: cwd });
    await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
    const files = [...Deno.readDirSync(resolve(cwd, "out"))].map((e) => e.name).sort();
    expect(files).toHaveLength(3);
    for (const f of files) expect(f).toMatch(/^ol-\d{8}-\d{6}\.\d{6}\.json$/);
    const first = JSON.parse(await Deno.readTextFile(resolve(cwd, "out", files[0])));
    expect([first.job.name, first.eventType]).toEqual(["auto", "START"]);
    await yml("transport:\n  type: file\n  location: out/all.jsonl\n");
    expect((await resolveWith()).transports).toEqual([
      { type: "file", path: resolve(cwd, "out/all.jsonl"), append: true },
    ]);
    await yml("transport:\n  type: file\n  log_file_path: s3://bucket/ol\n");
    expect(await problemsOf()).toEqual([
      "openlineage.yml:3:3: transport.log_file_path must be a local path (the file transport " +
      "writes local files only)",
    ]);
  });

  it("transport.type console: one JSON line per event", async () => {
    await yml(console_);
    const events = await delivered(await resolveWith());
    expect(events.map((e) => `${e.job.name} ${e.eventType}`)).toEqual([
      "auto START",
      "auto.ingest START",
      "auto.ingest COMPLETE",
    ]);
  });

  it("transport.type composite: independent children, sort_transports by priority, empty child skipped, continue_on_failure false refused", async () => {
    await yml(`transport:
  type: composite
  sort_transports: true
  transports:
    - {type: console, priority: 1}
    - {type: http, url: "http://m:5000", priority: 5}
    - {}
`);
    expect((await resolveWith()).transports.map((t) => t.type)).toEqual(["http", "console"]);
    await yml(
      "transport:\n  type: composite\n  continue_on_failure: false\n  transports: [{type: console}]\n",
    );
    expect((await problemsOf())[0]).toMatch(
      /^openlineage\.yml:3:3: transport\.continue_on_failure false is not supported: each transport/,
    );
  });

  it("transport.type noop: no sinks", async () => {
    await yml("transport:\n  type: noop\n");
    expect(sinksFor(await resolveWith(), { lineageDir: cwd })).toEqual([]);
  });

  it("other transport.type: refused with what to use instead", async () => {
    await yml("transport:\n  type: async_http\n  url: http://m:5000\n");
    expect(await problemsOf()).toEqual([
      'openlineage.yml:2:3: transport type "async_http" is not supported: use type http: the ' +
      "kit's relay already sends in the background, in order",
    ]);
  });

  it("filters: job names whose events are not emitted", async () => {
    await yml(`${console_}filters:\n  - {type: exact, match: auto.ingest}\n`);
    const events = await delivered(await resolveWith());
    expect(events.map((e) => e.job.name)).toEqual(["auto"]);
  });

  it("facets.<name>.disabled, facets.disabled: those facets leave every event; parent cannot; unknown names are errors", async () => {
    await yml(`${console_}facets:
  processing_engine: {disabled: true}
  disabled: [dataSource, inputStatistics]
  outputStatistics: {disabled: false}
`);
    const c = await resolveWith();
    expect([...c.facets.disabled].sort()).toEqual([
      "dataSource",
      "inputStatistics",
      "processing_engine",
    ]);
    const events = await delivered(c);
    const keys = new Set<string>();
    for (const e of events) {
      Object.keys(e.run.facets).forEach((k) => keys.add(k));
      for (const d of [...e.inputs, ...e.outputs]) {
        Object.keys({ ...d.facets, ...d.inputFacets, ...d.outputFacets }).forEach((k) =>
          keys.add(k)
        );
      }
    }
    expect([...keys].filter((k) => c.facets.disabled.includes(k))).toEqual([]);
    expect(keys.has("outputStatistics")).toBe(true);
    await yml(`${console_}facets:\n  parent: {disabled: true}\n  sparkUnknown: {disabled: true}\n`);
    expect(await problemsOf()).toEqual([
      "openlineage.yml:4:3: facet parent cannot be disabled: Marquez nests stage runs under " +
      "their pipeline run by it",
      expect.stringMatching(/^openlineage\.yml:5:3: unknown facet "sparkUnknown" \(the kit's: /),
    ]);
  });

  it("facets.environment_variables, facets.custom_environment_variables: an environmentVariables run facet with only those", async () => {
    await yml(
      `${console_}facets:\n  environment_variables: [DEPLOY]\n  custom_environment_variables: [REGION, UNSET]\n`,
    );
    const c = await resolveWith({ DEPLOY: "blue", REGION: "eu-west-1", OTHER: "no" });
    expect(c.notices).toEqual(["UNSET is not set: the environmentVariables facet leaves it out"]);
    const events = await delivered(c);
    for (const e of events) {
      expect(e.run.facets.environmentVariables.environmentVariables).toEqual([
        { name: "DEPLOY", value: "blue" },
        { name: "REGION", value: "eu-west-1" },
      ]);
    }
  });

  it("facets.source_code_location: git coordinates of sourceCodeLocation with disabled: false; values without it are errors", async () => {
    await yml(`${console_}facets:
  source_code_location:
    disabled: false
    repo_url: https://github.com/medkg/pipelines
    version: 0123456789abcdef0123456789abcdef01234567
`);
    const withFile: PipelineRunScope = {
      ...scope,
      pipeline: { ...scope.pipeline, file: "/srv/pipelines/auto.yaml", source: {} },
    };
    await insertOutbox(
      store.client,
      "job-1",
      pipelineEvents(withFile, { transition: "START", event: "started", time: new Date(0) }),
    );
    const lines: string[] = [];
    const sinks = sinksFor(await resolveWith(), {
      lineageDir: cwd,
      consoleWrite: (l) => lines.push(l),
    });
    await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
    const scl = JSON.parse(lines[0]).job.facets.sourceCodeLocation;
    expect(scl).toMatchObject({
      type: "git",
      url: "file:///srv/pipelines/auto.yaml",
      repoUrl: "https://github.com/medkg/pipelines",
      version: "0123456789abcdef0123456789abcdef01234567",
    });
    expect(validator.validate(JSON.parse(lines[0]))).toEqual([]);
    await yml(`${console_}facets:\n  source_code_location:\n    repo_url: https://x\n`);
    expect(await problemsOf()).toEqual([
      "openlineage.yml:5:5: facets.source_code_location.repo_url is only used with disabled: " +
      "false (the official client's default is true)",
    ]);
  });

  it("tags.job, tags.run: tags facets from the configuration; a configured key replaces the event's", async () => {
    await yml(`${console_}tags:\n  job: {ENV: production}\n  run: {adhoc: true}\n`);
    const tagged: PipelineRunScope = {
      ...scope,
      pipeline: {
        ...scope.pipeline,
        tags: [{ key: "env", value: "dev" }, { key: "pii", value: "true" }],
      },
    };
    await insertOutbox(
      store.client,
      "job-1",
      pipelineEvents(tagged, { transition: "START", event: "started", time: new Date(0) }),
    );
    const lines: string[] = [];
    const sinks = sinksFor(await resolveWith(), {
      lineageDir: cwd,
      consoleWrite: (l) => lines.push(l),
    });
    await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
    const e = JSON.parse(lines[0]);
    expect(e.job.facets.tags.tags).toEqual([
      { key: "pii", value: "true", source: "PIPELINE" },
      { key: "env", value: "production", source: "USER" },
    ]);
    expect(e.run.facets.tags.tags).toEqual([{ key: "adhoc", value: "true", source: "USER" }]);
    expect(validator.validate(e)).toEqual([]);
  });

  it("job.tags, run.tags: the Java spelling, key:value:source text or a list", async () => {
    await yml(
      `${console_}job:\n  tags: "team:kg;pii;tier:gold:SRE"\nrun:\n  tags: ["ticket:KG-1"]\n`,
    );
    expect((await resolveWith()).facets.tags).toEqual({
      job: [
        { key: "team", value: "kg", source: "CONFIG" },
        { key: "pii", value: "true", source: "CONFIG" },
        { key: "tier", value: "gold", source: "SRE" },
      ],
      run: [{ key: "ticket", value: "KG-1", source: "CONFIG" }],
    });
  });

  it("job.owners: added to every job's ownership facet", async () => {
    await yml(`${console_}job:\n  owners: {team: kg-ingest, person: jdoe}\n`);
    const events = await delivered(await resolveWith());
    for (const e of events) {
      expect(e.job.facets.ownership.owners).toEqual([
        { name: "kg-ingest", type: "team" },
        { name: "jdoe", type: "person" },
      ]);
    }
  });

  it("job.namespace, job.name: the namespace below OPENLINEAGE_NAMESPACE; job.name refused", async () => {
    await yml(`${console_}job:\n  namespace: kg\n  name: x\n`);
    expect(await problemsOf()).toEqual([
      "openlineage.yml:5:3: job.name is not supported: each job is named after its pipeline and " +
      "stage",
    ]);
  });

  it("dataset.namespaceResolvers: hostList, pattern and patternGroup rewrite dataset namespaces; trimmers refused", async () => {
    await yml(`${console_}dataset:
  namespaceResolvers:
    pg-prod:
      type: hostList
      hosts: [db.internal]
      schema: postgres
    never:
      type: pattern
      regex: "nothing-matches"
`);
    const events = await delivered(await resolveWith());
    const complete = events.find((e) => e.eventType === "COMPLETE" && e.job.name === "auto.ingest");
    expect(complete.outputs[0].namespace).toBe("postgres://pg-prod:5432");
    // The dataset's facets come with the run's START event only.
    const start = events.find((e) => e.eventType === "START" && e.job.name === "auto.ingest");
    expect(start.outputs[0].facets.dataSource).toMatchObject({
      name: "postgres://pg-prod:5432",
      uri: "postgres://pg-prod:5432",
    });
    expect(complete.inputs[0].namespace).toBe("file");
    await yml(`${console_}dataset:\n  extraTrimmers: com.x.Trimmer\n`);
    expect((await problemsOf())[0]).toMatch(/dataset\.extraTrimmers is not supported/);
  });

  it("circuitBreaker: simpleMemory, timeout, static and noop decoded; javaRuntime refused", async () => {
    await yml(
      `${console_}circuitBreaker:\n  type: simpleMemory\n  memoryThreshold: 15\n  timeoutInSeconds: 30\n`,
    );
    expect((await resolveWith()).circuitBreaker).toEqual({
      type: "simpleMemory",
      memoryThreshold: 15,
      checkIntervalMs: 1000,
      timeoutMs: 30_000,
    });
    await yml(`${console_}circuitBreaker:\n  type: static\n  valuesReturned: "true,false"\n`);
    const c = await resolveWith();
    expect(c.circuitBreaker).toEqual({
      type: "static",
      values: [true, false],
      checkIntervalMs: 1000,
    });
    // Open at the first check: nothing is handed over, everything waits in the outbox.
    await insertOutbox(store.client, "job-1", runEvents());
    const lines: string[] = [];
    const sinks = sinksFor(c, { lineageDir: cwd, consoleWrite: (l) => lines.push(l) });
    const first = await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
    expect(first).toEqual([{
      sink: "console",
      delivered: 0,
      pending: 3,
      deadLettered: 0,
      error: "circuit breaker open (static breaker): events wait in the outbox",
    }]);
    const second = await Effect.runPromise(flush(sinks).pipe(Effect.provide(store.layer)));
    expect([second[0].delivered, second[0].pending, lines.length]).toEqual([3, 0, 3]);
    await yml(`${console_}circuitBreaker:\n  type: javaRuntime\n`);
    expect((await problemsOf())[0]).toMatch(
      /^openlineage\.yml:4:3: circuit breaker type "javaRuntime" is not supported: it measures JVM/,
    );
  });

  it("metrics: recorded on the configuration for the metrics exposition", async () => {
    await yml(`${console_}metrics:\n  type: prometheus\n  port: 9464\n`);
    const c = await resolveWith();
    expect(c.metrics).toEqual({ type: "prometheus", options: { port: 9464 } });
    expect(c.settings.find((s) => s.key === "metrics.port")).toEqual({
      key: "metrics.port",
      value: "9464",
      from: "openlineage.yml:5:3",
    });
    await yml(`${console_}metrics:\n  type: graphite\n`);
    expect(await problemsOf()).toEqual([
      'openlineage.yml:4:3: unknown metrics type "graphite" (allowed: prometheus, simple, ' +
      "statsd, composite)",
    ]);
  });
});

describe("the README's lineage configuration table", () => {
  it("has a test above for every row, named after the row's key", async () => {
    const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
    const table = readme.split("### Lineage configuration")[1].split("\n### ")[0];
    const rows = table.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| key"))
      .filter((l) => !l.startsWith("| ---")).map((l) =>
        l.split(" | ")[0].slice(2).replaceAll("`", "").replace("\\|", "|").trim()
          // A test title cannot hold the row's own `key: value` colon before its own.
          .replace(": ", " ")
      );
    const source = await Deno.readTextFile(new URL(import.meta.url));
    const titles = [...source.matchAll(/^ {2}it\(\s*"([^"]+)"/gm)].map((m) => m[1]);
    expect(rows).toHaveLength(30);
    expect(rows.filter((row) => !titles.some((t) => t.startsWith(`${row}:`)))).toEqual([]);
  });
});
