/**
 * `deno task run-pipeline`: discovers documents, routes each to its pipeline, runs the jobs with
 * bounded concurrency on the embedded store, delivers lineage, and prints a summary.
 *
 * Exit status: 0 when no job failed, 1 when some job failed, 2 for usage or configuration errors.
 *
 * @module
 */
import { Effect, Fiber } from "effect";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type CompiledPipeline, type Config, loadConfig } from "../pipelines/loader.ts";
import { formatProblem } from "../policies/problem.ts";
import { type Job, JobLedger } from "../pipelines/ledger.ts";
import { bridgeTick } from "../pipelines/mineru_bridge.ts";
import { sensorTick } from "../pipelines/sensor.ts";
import { mineruUrlFrom, parserLayer, runtimeLayer } from "./_runtime.ts";
import { type ResilienceSummary, summary as resilienceSummary } from "../policies/resilience.ts";
import { type JobOutcome, runJobs } from "../pipelines/runner.ts";
import { flushWithDeadline, runRelay, type SinkReport } from "../lineage/relay.ts";
import type { LineageSink } from "../lineage/sink.ts";
import { type LineageConfig, resolveLineageConfig } from "../lineage/config.ts";
import { eventsSinkFor } from "./_events_sink.ts";
import { commandSinks } from "./_lineage_sinks.ts";
import { OutboxStore } from "../lineage/outbox.ts";
import { discoverRecords } from "../adapters/sources/discover.ts";
import type { Store } from "../adapters/store/store.ts";
import { type IngestRequest, type SourceName, sourceNames } from "../stages/ir.ts";
import { type FlagSpec, parseArgs, UsageError } from "./_args.ts";
import { makeProgress, table } from "./_output.ts";
import { defaultLineageDir, describeStore, openStoreOrExplain, storeSpec } from "./_command.ts";

const USAGE = `usage: deno task run-pipeline [options]

  --pipeline NAME     run every document through this pipeline (default: route by source)
  --source NAME       treat inputs as records of this source (${sourceNames.join(", ")})
  --input PATH        a record file or a folder of them; repeatable (default: the bundled records)
  --store DIR|URL     the embedded store directory, or a postgres:// server (default: .lineage-kit)
  --lineage DIR|URL   OpenLineage destination: a directory (JSONL), an http(s):// Marquez URL or
                      kafka://host:port/topic (default: OPENLINEAGE_* settings, then <store>/lineage;
                      ./.lineage-kit/lineage for a postgres:// store)
  --events DIR|kafka://host:port[/topic]
                      where CloudEvents go (default: the lineage directory;
                      Kafka topic default orchestration.events.v1)
  --tenant ID         tenant of the jobs (default: default)
  --concurrency N     jobs in flight at once (default: 4)
  --force             re-process documents that already succeeded, and failed ones from scratch
  --enqueue-only      record the jobs as queued and exit: \`deno task worker\` processes run them
                      (they read record files at the same absolute paths)
  --mineru-url URL    MinerU service: parse downloaded PDFs and finish paused PDF jobs in-process
                      (default: $MINERU_URL; without it PDF jobs pause at their gate)
  --allow-private-network
                      let PDF downloads reach loopback and private addresses
  --json              print a JSON summary as the last line of stdout
  --help              this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  pipeline: { type: "string" },
  source: { type: "string" },
  input: { type: "string", repeatable: true },
  store: { type: "string" },
  lineage: { type: "string" },
  events: { type: "string" },
  tenant: { type: "string" },
  concurrency: { type: "integer", min: 1 },
  force: { type: "boolean" },
  "enqueue-only": { type: "boolean" },
  "mineru-url": { type: "string" },
  "allow-private-network": { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean" },
};

/** Validated options of a run. */
export interface RunOptions {
  readonly pipeline?: string;
  readonly source?: SourceName;
  readonly inputs: ReadonlyArray<string>;
  readonly storeDir: string;
  readonly lineageDir: string;
  /** `--lineage`: a directory, an http(s):// Marquez URL or kafka://host:port/topic. */
  readonly lineageFlag?: string;
  /** `--events`: a directory or a kafka:// URL; undefined = the lineage directory. */
  readonly events?: string;
  readonly tenant: string;
  readonly concurrency: number;
  readonly force: boolean;
  /** Record the jobs as queued and run none (workers run them). */
  readonly enqueueOnly: boolean;
  readonly json: boolean;
  readonly namespace: string;
  readonly mineruUrl?: string;
  readonly allowPrivateNetwork: boolean;
}

/** The records shipped with the kit, processed when no `--input` is given. */
export const bundledRecordsDir: string = fileURLToPath(new URL("../data/records", import.meta.url));

/** `--input` paths must exist: a typo is a usage error, not a failed document. */
const existingInputs = (paths: ReadonlyArray<string>): ReadonlyArray<string> => {
  for (const path of paths) {
    try {
      Deno.statSync(path);
    } catch {
      throw new UsageError(`--input: no such file or folder: ${path}`);
    }
  }
  return paths;
};

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

/** Turns argv and the environment into options; throws UsageError on bad input. */
export const runOptionsFrom = (
  args: ReadonlyArray<string>,
  env: { get(key: string): string | undefined },
): RunOptions | "help" => {
  const { flags, positional } = parseArgs(args, flagSpecs);
  if (flags.help) return "help";
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
  const source = flags.source as string | undefined;
  if (source !== undefined && !(sourceNames as ReadonlyArray<string>).includes(source)) {
    throw new UsageError(`--source: unknown source "${source}" (known: ${sourceNames.join(", ")})`);
  }
  if (flags["enqueue-only"] === true) {
    const clash = ["force", "mineru-url", "concurrency"].find((f) => flags[f] !== undefined);
    if (clash !== undefined) {
      throw new UsageError(
        `--enqueue-only runs nothing here, so --${clash} does not apply (a worker takes its own)`,
      );
    }
  }
  // Checked now so a bad target is a usage error before any work (the producer connects lazily).
  if (typeof flags.events === "string") eventsSinkFor(flags.events, Deno.env.toObject());
  const storeDir = storeSpec(flags.store as string | undefined);
  const namespace = env.get("OPENLINEAGE_NAMESPACE") ?? "lineage-kit";
  if (!/^[A-Za-z0-9_\-.:/@+=;]{1,1024}$/.test(namespace)) {
    throw new UsageError(
      `OPENLINEAGE_NAMESPACE: "${namespace}" is not a valid namespace (letters, digits and _-.:/@+=; only)`,
    );
  }
  return {
    pipeline: flags.pipeline as string | undefined,
    source: source as SourceName | undefined,
    inputs: existingInputs(
      (flags.input as ReadonlyArray<string> | undefined) ?? [bundledRecordsDir],
    ),
    storeDir,
    lineageDir: defaultLineageDir(storeDir),
    ...optional("lineageFlag", flags.lineage as string | undefined),
    tenant: (flags.tenant as string | undefined) ?? "default",
    concurrency: (flags.concurrency as number | undefined) ?? 4,
    force: flags.force === true,
    enqueueOnly: flags["enqueue-only"] === true,
    json: flags.json === true,
    namespace,
    allowPrivateNetwork: flags["allow-private-network"] === true,
    ...optional("events", flags.events as string | undefined),
    ...optional(
      "mineruUrl",
      mineruUrlFrom(flags["mineru-url"] as string | undefined, env.get("MINERU_URL")),
    ),
  };
};

const absolute = (request: IngestRequest): IngestRequest =>
  request.location.kind === "file"
    ? { ...request, location: { ...request.location, file: resolve(request.location.file) } }
    : request;

interface Planned {
  readonly request: IngestRequest;
  readonly pipeline?: CompiledPipeline;
}

const plan = (config: Config, options: RunOptions, requests: ReadonlyArray<IngestRequest>) => {
  if (options.pipeline !== undefined && !config.pipeline(options.pipeline)) {
    throw new UsageError(
      `--pipeline: unknown pipeline "${options.pipeline}" (known: ${
        config.pipelines.map((p) => p.name).join(", ")
      })`,
    );
  }
  return requests.map((request): Planned => ({
    request,
    pipeline: options.pipeline
      ? config.pipeline(options.pipeline)
      : config.routeSource(request.source),
  }));
};

interface Summary {
  readonly outcomes: ReadonlyArray<JobOutcome>;
  /** Jobs left queued for workers (`--enqueue-only`). */
  readonly queued: number;
  /** Jobs `--enqueue-only` found already known and not queued (done, failed, running …). */
  readonly known: number;
  readonly unrouted: ReadonlyArray<IngestRequest>;
  readonly events: { readonly openlineage: number; readonly cloudevents: number };
  readonly sinks: ReadonlyArray<SinkReport>;
  readonly resilience: ResilienceSummary;
  readonly seconds: number;
}

const execute = (
  store: Store,
  config: Config,
  options: RunOptions,
  planned: ReadonlyArray<Planned>,
  lineage: LineageConfig,
  sinks: ReadonlyArray<LineageSink>,
) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const outbox = yield* OutboxStore;
    const before = yield* outbox.totals();
    const started = performance.now();
    const jobs: Array<{ job: Job; pipeline: CompiledPipeline }> = [];
    for (const p of planned) {
      if (!p.pipeline) continue;
      const { job } = yield* ledger.enqueue({
        tenantId: options.tenant,
        request: p.request,
        pipeline: p.pipeline.name,
        pipelineVersion: p.pipeline.version,
      });
      jobs.push({ job, pipeline: config.pipeline(job.pipeline) ?? p.pipeline });
    }
    if (options.enqueueOnly) {
      return {
        outcomes: [],
        queued: jobs.filter((j) => j.job.status === "queued").length,
        known: jobs.filter((j) => j.job.status !== "queued").length,
        unrouted: planned.filter((p) => !p.pipeline).map((p) => p.request),
        events: { openlineage: 0, cloudevents: 0 },
        sinks: [],
        resilience: yield* resilienceSummary(),
        seconds: (performance.now() - started) / 1000,
      } satisfies Summary;
    }
    const progress = makeProgress(jobs.length, "jobs");
    const stopRelay = new AbortController();
    // The relay runs beside the jobs: a slow or dead sink never holds a stage back.
    const relay = yield* Effect.forkChild(
      runRelay(sinks, { interval: "2 seconds", signal: stopRelay.signal }),
    );
    const outcomes = yield* runJobs(jobs, {
      concurrency: options.concurrency,
      force: options.force,
      // A job left running by a process that died is taken over once its lease has expired.
      reclaimRunning: true,
      onDone: (o) => progress.tick(o.status),
    });
    progress.end();
    const finished = options.mineruUrl && outcomes.some((o) => o.status === "paused")
      ? yield* finishPausedJobs(config, outcomes).pipe(
        Effect.provide(parserLayer(options.mineruUrl)),
      )
      : outcomes;
    stopRelay.abort();
    yield* Fiber.join(relay);
    const reports = yield* flushWithDeadline(sinks, { maxWaitMs: 30_000 });
    const after = yield* outbox.totals();
    return {
      outcomes: finished,
      queued: 0,
      known: 0,
      unrouted: planned.filter((p) => !p.pipeline).map((p) => p.request),
      events: {
        openlineage: after.openlineage - before.openlineage,
        cloudevents: after.cloudevents - before.cloudevents,
      },
      sinks: reports,
      resilience: yield* resilienceSummary(),
      seconds: (performance.now() - started) / 1000,
    } satisfies Summary;
  }).pipe(Effect.provide(runtimeLayer(store, {
    ...options,
    namespace: lineage.namespace,
    ...(lineage.parent ? { parentRun: lineage.parent } : {}),
  })));

/**
 * Runs the MinerU bridge and the sensor in-process until no paused job makes progress, then
 * reports each job as the ledger has it.
 */
const finishPausedJobs = (config: Config, outcomes: ReadonlyArray<JobOutcome>) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    for (let round = 0; round < 20; round++) {
      const bridged = yield* bridgeTick(config);
      const sensed = yield* sensorTick(config);
      const progress = bridged.parsed.length + bridged.failed.length + sensed.resumed.length;
      if (progress === 0) break;
    }
    return yield* Effect.forEach(outcomes, (o) =>
      Effect.gen(function* () {
        if (o.status !== "paused") return o;
        const job = yield* ledger.get(o.jobId);
        if (!job || job.status === "paused" || job.status === "running") return o;
        return {
          jobId: o.jobId,
          docId: o.docId,
          status: job.status === "succeeded" ? "succeeded" : "failed",
          ...(job.error ? { error: job.error } : {}),
          durationMs: (job.finishedAt?.getTime() ?? 0) - (job.runCreatedAt?.getTime() ?? 0),
        } satisfies JobOutcome;
      }));
  });

const countsOf = (s: Summary) => {
  const jobs = { succeeded: 0, failed: s.unrouted.length, paused: 0, skipped: 0 };
  for (const o of s.outcomes) jobs[o.status]++;
  return jobs;
};

// ` --store X` for commands the summary suggests, when the run used another store than the
// default (a server URL without its password).
const storeArg = (options: RunOptions): string =>
  options.storeDir === storeSpec(undefined) ? "" : ` --store ${describeStore(options.storeDir)}`;

const printQueued = (s: Summary, options: RunOptions) => {
  console.log(
    `${s.queued} jobs queued in ${s.seconds.toFixed(2)}s; \`deno task worker${
      storeArg(options)
    }\` runs them` +
      (s.unrouted.length > 0 ? ` (${s.unrouted.length} records had no pipeline)` : ""),
  );
  if (s.known > 0) {
    console.log(
      `${s.known} documents already had a job that is not queued (done, failed or running): ` +
        "left as they are; `deno task run-pipeline` re-runs failed ones (and, with --force, done ones)",
    );
  }
};

const printSummary = (s: Summary, options: RunOptions, lineage: LineageConfig) => {
  const rows = s.outcomes.map((o) => [
    o.docId,
    o.status,
    o.status === "skipped" ? "" : `${o.durationMs}ms`,
    o.error ? `${o.error.stage}: ${o.error.type}: ${o.error.message}` : "",
  ]);
  for (const r of s.unrouted) {
    rows.push([`${r.source}:${r.docKey}`, "failed", "", `no pipeline lists source "${r.source}"`]);
  }
  console.log(table(["document", "status", "time", "error"], rows));
  const c = countsOf(s);
  console.log(
    `\n${c.succeeded} succeeded, ${c.failed} failed, ${c.paused} paused, ${c.skipped} skipped` +
      ` in ${s.seconds.toFixed(2)}s`,
  );
  console.log(
    `${s.events.openlineage} OpenLineage events (namespace ${lineage.namespace}) → ${
      s.sinks.filter((r) => !r.sink.startsWith("jsonl:cloudevents:")).map((r) =>
        r.sink.replace(/^jsonl:openlineage:/, "")
      ).join(", ") || "nowhere (lineage disabled)"
    }`,
  );
  console.log(
    `${s.events.cloudevents} CloudEvents → ${
      (s.sinks.find((r) => r.sink.includes("cloudevents")) ?? { sink: "" }).sink
        .replace(/^jsonl:cloudevents:/, "")
    }`,
  );
  for (const r of s.sinks) {
    if (r.pending > 0 || r.deadLettered > 0) {
      console.log(
        `lineage sink ${r.sink}: ${r.pending} pending, ${r.deadLettered} dead-lettered` +
          `${r.error ? ` (${r.error})` : ""}; \`deno task lineage flush${storeArg(options)}${
            options.lineageFlag ? ` --lineage ${options.lineageFlag}` : ""
          }\` delivers the rest`,
      );
    }
  }
  for (const b of s.resilience.breakers) {
    if (b.opens === 0 && b.fastFailed === 0) continue;
    console.log(
      `circuit breaker ${b.key}: opened ${b.opens}×, ${b.fastFailed} calls failed fast, ` +
        `${b.halfOpenToClosed} probe(s) closed it`,
    );
  }
  for (const r of s.resilience.rateLimits) {
    if (r.waits === 0) continue;
    console.log(
      `rate limit ${r.key}: ${r.waits} of ${r.calls} calls waited ${
        (r.waitedMs / 1000).toFixed(1)
      }s`,
    );
  }
  if (c.paused > 0) {
    const gates = [...new Set(s.outcomes.flatMap((o) => (o.gate ? [o.gate] : [])))].join(", ");
    console.log(
      `${c.paused} jobs paused at ${gates}: they continue once MinerU parsed their PDFs; run ` +
        `\`deno task mineru-bridge --mineru-url URL${storeArg(options)}\` and ` +
        `\`deno task sensor --once${storeArg(options)}\`, or re-run with --mineru-url URL`,
    );
  }
  if (c.skipped > 0 && !options.force) {
    console.log("already succeeded documents were skipped (use --force to re-process)");
  }
};

/** Runs the command; returns its exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  let options: RunOptions | "help";
  try {
    options = runOptionsFrom(args, Deno.env);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`run-pipeline: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const lineage = await Effect.runPromise(Effect.result(resolveLineageConfig({
    env: Deno.env,
    cwd: Deno.cwd(),
    ...optional("flag", options.lineageFlag),
  })));
  if (lineage._tag === "Failure") {
    for (const p of lineage.failure.problems) {
      console.error(`run-pipeline: ${p.where}: ${p.message}`);
    }
    return 2;
  }
  const config = await Effect.runPromise(Effect.result(loadConfig()));
  if (config._tag === "Failure") {
    for (const p of config.failure.problems) console.error(formatProblem(p));
    return 2;
  }
  let planned: ReadonlyArray<Planned>;
  try {
    const discovered = await discoverRecords(
      options.inputs,
      options.source ? { source: options.source } : {},
    );
    const requests = discovered.map((d) => d.request);
    // Queued for other processes, which may run elsewhere: file paths must not depend on this
    // process's working directory.
    planned = plan(
      config.success,
      options,
      options.enqueueOnly ? requests.map(absolute) : requests,
    );
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`run-pipeline: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (planned.length === 0) {
    console.error(`run-pipeline: no records found in ${options.inputs.join(", ")}`);
    return 2;
  }
  const sinks = commandSinks(lineage.success, options);
  const store = await openStoreOrExplain("run-pipeline", options.storeDir);
  if (typeof store === "number") {
    await sinks.close();
    return store;
  }
  try {
    const result = await Effect.runPromise(Effect.result(
      execute(store, config.success, options, planned, lineage.success, sinks.sinks),
    ));
    if (result._tag === "Failure") {
      console.error(
        `run-pipeline: the store failed during ${result.failure.operation}: ${result.failure.message}` +
          " (the affected runs were closed where possible; re-run to continue)",
      );
      return 1;
    }
    const summary = result.success;
    if (options.enqueueOnly) printQueued(summary, options);
    else printSummary(summary, options, lineage.success);
    const counts = {
      ...countsOf(summary),
      ...(options.enqueueOnly ? { queued: summary.queued } : {}),
    };
    if (options.json) {
      console.log(
        JSON.stringify({
          jobs: counts,
          events: summary.events,
          seconds: Number(summary.seconds.toFixed(3)),
        }),
      );
    }
    return counts.failed > 0 ? 1 : 0;
  } finally {
    await sinks.close();
    await store.close();
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
