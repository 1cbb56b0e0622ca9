/**
 * `deno task run-pipeline`: discovers documents, routes each to its pipeline, runs the jobs with
 * bounded concurrency on the store, delivers lineage, and prints a summary. The run itself is
 * the kit's `runPipeline`; this file turns flags into its options and its summary into text.
 *
 * Exit status: 0 when every job ended (succeeded, paused at a gate, skipped as done), 1 when some
 * job failed (or the store failed during the run), 2 for usage or configuration errors, 3 when
 * jobs are running in another process (the batch is not finished), 130 when Ctrl-C (or SIGTERM)
 * stopped it: once, after the jobs in flight finished, when some were not started; twice, at once,
 * the jobs in flight interrupted.
 *
 * @module
 */
import { StoreError } from "../lineage/outbox.ts";
import { sourceNames } from "../stages/ir.ts";
import { type FlagSpec, parseArgs, UsageError } from "./_args.ts";
import { makeProgress, table } from "./_output.ts";
import { mineruUrlFrom } from "./_runtime.ts";
import { onStopSignals } from "./_signals.ts";
import { defaultLineageDir, storeSpec } from "./_command.ts";
import { describeStore } from "../adapters/store/store.ts";
import { eventsSinkFor } from "../kit/events_sink.ts";
import {
  bundledRecordsDir,
  RunInterrupted,
  type RunPhase,
  runPipeline,
  type RunPipelineOptions,
  type RunSummary,
} from "../kit/run_pipeline.ts";
import type { SinkReport } from "../lineage/relay.ts";
import { SetupError } from "../kit/setup_error.ts";
import type { StageShortcuts } from "../kit/stage_overrides.ts";
import { stageFlagsFrom, stageFlagSpecs, stageFlagsUsage } from "./_stage_flags.ts";
import { maxLiveLimit } from "../adapters/sources/live_query.ts";
import type { LiveQuery } from "../adapters/sources/live_requests.ts";
import { liveQueryFromFlags } from "../adapters/sources/live_flags.ts";
import type { PageProgress } from "../adapters/sources/live_settings.ts";
import * as CommandMetrics from "./_metrics.ts";
import { defaultJobConcurrency } from "../pipelines/runner.ts";

const USAGE = `usage: deno task run-pipeline [options]

  --pipeline NAME     run every document through this pipeline (default: route by source)
  --source NAME       treat inputs as records of this source (${sourceNames.join(", ")})
  --input PATH        a record file or a folder of them; repeatable (default: the bundled records)
  --query TEXT        list records live from --source's API instead: clinicaltrials query.term,
                      openalex search=, openfda a search= expression
  --ids A,B           list these records live by key (NCT numbers, OpenAlex W ids, openFDA set_ids,
                      application numbers or faers-<report id>)
  --filter F          an OpenAlex filter= expression (--source openalex or openalex-pdf)
  --limit N           at most N live records (default: 20, or the number of --ids; at most ${maxLiveLimit});
                      each is stored with its job, so no later run fetches it again
                      (OPENALEX_MAILTO is sent as OpenAlex's mailto=, OPENFDA_API_KEY as api_key=)
  --store DIR|URL     the embedded store directory, or a postgres:// server (default: .lineage-kit)
  --lineage DIR|URL   OpenLineage destination: a directory (JSONL), an http(s):// Marquez URL or
                      kafka://host:port/topic (default: OPENLINEAGE_* settings, then <store>/lineage;
                      ./.lineage-kit/lineage for a postgres:// store)
  --events DIR|kafka://host:port[/topic]
                      where CloudEvents go (default: the lineage directory;
                      Kafka topic default orchestration.events.v1)
  --tenant ID         tenant of the jobs (default: default)
  --meta KEY=VALUE    a string every stage of the jobs sees in its context's metadata; repeatable
  --concurrency N     jobs in flight at once (default: ${defaultJobConcurrency})
  --force             re-process documents that already succeeded, and failed ones from scratch
  --enqueue-only      record the jobs as queued and exit: \`deno task worker\` processes run them
                      (they read record files at the same absolute paths)
  --mineru-url URL    MinerU service: parse downloaded PDFs and finish paused PDF jobs in-process
                      (default: $MINERU_URL; without it PDF jobs pause at their gate)
  --allow-private-network
                      let PDF downloads reach loopback and private addresses
${stageFlagsUsage}
  --json              print a JSON summary as the last line of stdout (jobs, events, seconds,
                      and the seconds of each phase: setup, open_store, enqueue, jobs, lineage,
                      close)
${CommandMetrics.usage}
  --help              this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  pipeline: { type: "string" },
  source: { type: "string" },
  input: { type: "string", repeatable: true },
  query: { type: "string" },
  ids: { type: "string" },
  filter: { type: "string" },
  limit: { type: "integer", min: 1 },
  store: { type: "string" },
  lineage: { type: "string" },
  events: { type: "string" },
  tenant: { type: "string" },
  meta: { type: "string", repeatable: true },
  concurrency: { type: "integer", min: 1 },
  force: { type: "boolean" },
  "enqueue-only": { type: "boolean" },
  "mineru-url": { type: "string" },
  "allow-private-network": { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean" },
  ...stageFlagSpecs,
  ...CommandMetrics.flags,
};

/** Validated options of a run. */
export interface RunOptions {
  readonly pipeline?: string;
  readonly source?: string;
  readonly inputs: ReadonlyArray<string>;
  /** `--query`, `--ids`, `--filter`, `--limit`: records listed live instead of `inputs`. */
  readonly query?: LiveQuery;
  readonly storeDir: string;
  readonly lineageDir: string;
  /** `--lineage`: a directory, an http(s):// Marquez URL or kafka://host:port/topic. */
  readonly lineageFlag?: string;
  /** `--events`: a directory or a kafka:// URL; undefined = the lineage directory. */
  readonly events?: string;
  readonly tenant: string;
  /** `--meta key=value` pairs. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly concurrency: number;
  readonly force: boolean;
  /** Record the jobs as queued and run none (workers run them). */
  readonly enqueueOnly: boolean;
  readonly json: boolean;
  readonly namespace: string;
  readonly mineruUrl?: string;
  /** `--config FILE`. */
  readonly config?: string;
  /** `--embedder`, `--vllm-url`, `--index` … */
  readonly shortcuts: StageShortcuts;
  readonly allowPrivateNetwork: boolean;
  /** `--metrics-port` / `--metrics-host`: where the run serves its metrics. */
  readonly metrics: CommandMetrics.MetricsOptions;
}

export { bundledRecordsDir };

/** `--meta key=value` flags as a mapping; a flag without `=` or with an empty key is refused. */
const metadataFrom = (values: ReadonlyArray<string>): Record<string, string> => {
  const metadata: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new UsageError(`--meta: expected KEY=VALUE, got "${value}"`);
    metadata[value.slice(0, eq)] = value.slice(eq + 1);
  }
  return metadata;
};

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
  if (source !== undefined && !sourceNames.includes(source)) {
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
  const live = liveQueryFromFlags(flags, source);
  if (typeof live === "string") throw new UsageError(live);
  const query = live;
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
    source,
    inputs: query === undefined
      ? existingInputs((flags.input as ReadonlyArray<string> | undefined) ?? [bundledRecordsDir])
      : [],
    ...optional("query", query),
    storeDir,
    lineageDir: defaultLineageDir(storeDir),
    ...optional("lineageFlag", flags.lineage as string | undefined),
    tenant: (flags.tenant as string | undefined) ?? "default",
    metadata: metadataFrom((flags.meta as ReadonlyArray<string> | undefined) ?? []),
    concurrency: (flags.concurrency as number | undefined) ?? defaultJobConcurrency,
    force: flags.force === true,
    enqueueOnly: flags["enqueue-only"] === true,
    json: flags.json === true,
    namespace,
    allowPrivateNetwork: flags["allow-private-network"] === true,
    ...stageFlagsFrom(flags),
    metrics: CommandMetrics.optionsFrom(flags),
    ...optional("events", flags.events as string | undefined),
    ...optional(
      "mineruUrl",
      mineruUrlFrom(flags["mineru-url"] as string | undefined, env.get("MINERU_URL")),
    ),
  };
};

// ` --store X` for commands the summary suggests, when the run used another store than the
// default (a server URL without its password).
const storeArg = (options: RunOptions): string =>
  options.storeDir === storeSpec(undefined) ? "" : ` --store ${describeStore(options.storeDir)}`;

const printQueued = (s: RunSummary, options: RunOptions) => {
  console.log(
    `${s.jobs.queued ?? 0} jobs queued in ${s.seconds.toFixed(2)}s; \`deno task worker${
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

// The CloudEvents sinks are named `jsonl:cloudevents:<file>` and `kafka:cloudevents:<topic>`.
const isCloudEventsSink = (r: SinkReport): boolean => r.sink.includes("cloudevents:");

// One line per sink: everything delivered, or how much still waits (all sinks share the outbox,
// so `pending` counts what waits for the sink, this run's events and any left before).
const sinkLine = (r: SinkReport, flushHint: string): string => {
  const what = isCloudEventsSink(r) ? "CloudEvents" : "OpenLineage";
  const where = r.sink.replace(/^jsonl:(openlineage|cloudevents):|^http:(?=https?:\/\/)/, "");
  const dead = r.deadLettered > 0 ? `, ${r.deadLettered} dead-lettered` : "";
  return r.pending === 0
    ? `  ${what} → ${where}: all delivered${dead}`
    : `  ${what} → ${where}: ${r.pending} pending${dead}${r.error ? ` (${r.error})` : ""}; ` +
      flushHint;
};

const printSummary = (s: RunSummary, options: RunOptions) => {
  const { lineage } = s;
  const rows = s.outcomes.map((o) => [
    o.docId,
    o.status,
    o.status === "skipped" || o.status === "held" ? "" : `${o.durationMs}ms`,
    o.error ? `${o.error.stage}: ${o.error.type}: ${o.error.message}` : "",
  ]);
  for (const r of s.unrouted) {
    rows.push([`${r.source}:${r.docKey}`, "failed", "", `no pipeline lists source "${r.source}"`]);
  }
  console.log(table(["document", "status", "time", "error"], rows));
  const c = s.jobs;
  console.log(
    `\n${c.succeeded} succeeded, ${c.failed} failed, ${c.paused} paused, ${c.skipped} skipped` +
      (c.held > 0 ? `, ${c.held} held by another process` : "") +
      (c.cancelled > 0 ? `, ${c.cancelled} cancelled` : "") +
      (c.queued ? `, ${c.queued} not started` : "") +
      ` in ${s.seconds.toFixed(2)}s`,
  );
  console.log(
    `${s.events.openlineage} OpenLineage events (namespace ${lineage.namespace}) and ` +
      `${s.events.cloudevents} CloudEvents written by this run` +
      (s.sinks.some((r) => !isCloudEventsSink(r)) ? "" : " (OpenLineage delivery disabled)"),
  );
  const flushHint = `\`deno task lineage flush${storeArg(options)}${
    options.lineageFlag ? ` --lineage ${options.lineageFlag}` : ""
  }${options.events ? ` --events ${options.events}` : ""}\` delivers the rest`;
  for (const r of s.sinks) console.log(sinkLine(r, flushHint));
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
  if (c.queued) {
    console.log(
      `${c.queued} jobs were not started (the run was stopped); \`deno task run-pipeline\` ` +
        "with the same inputs takes them up",
    );
  }
  if (c.held > 0) {
    console.log(
      `${c.held} jobs are running in another process (or were taken over): not finished; ` +
        "re-run once its lease has expired, or see `deno task status` (exit status 3)",
    );
  }
  if (c.cancelled > 0 && !options.force) {
    console.log("cancelled jobs were left cancelled (use --force to re-run them)");
  }
  if (c.skipped > 0 && !options.force) {
    console.log("already succeeded documents were skipped (use --force to re-process)");
  }
};

/** The kit's run options for the command's options. */
const kitOptions = (options: RunOptions): RunPipelineOptions => ({
  ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
  ...(options.source === undefined ? {} : { source: options.source }),
  ...(options.query === undefined ? { records: options.inputs } : { query: options.query }),
  store: options.storeDir,
  ...(options.lineageFlag === undefined ? {} : { lineage: options.lineageFlag }),
  ...(options.events === undefined ? {} : { events: options.events }),
  tenant: options.tenant,
  metadata: options.metadata,
  concurrency: options.concurrency,
  force: options.force,
  enqueueOnly: options.enqueueOnly,
  ...(options.mineruUrl === undefined ? {} : { mineruUrl: options.mineruUrl }),
  allowPrivateNetwork: options.allowPrivateNetwork,
  ...(options.config === undefined ? {} : { config: options.config }),
  shortcuts: options.shortcuts,
});

const encoder = new TextEncoder();

/** One stderr line redrawn per page while a live query pages; silent when stderr is no TTY. */
const pagingProgress = () => {
  const tty = Deno.stderr.isTerminal();
  let drawn = false;
  const write = (text: string) => Deno.stderr.writeSync(encoder.encode(text));
  return {
    page: (p: PageProgress) => {
      if (!tty) return;
      drawn = true;
      const of = p.total === undefined ? "" : ` of ${p.total} matching`;
      write(`\r\x1b[2K${p.source}: ${p.pages} pages, ${p.records} records${of}`);
    },
    end: () => {
      if (drawn) write("\r\x1b[2K");
      drawn = false;
    },
  };
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
  let progress: ReturnType<typeof makeProgress> | undefined;
  const paging = pagingProgress();
  let summary: RunSummary;
  let metered: CommandMetrics.Endpoint | undefined;
  const phases: Partial<Record<RunPhase, number>> = {};
  // The first Ctrl-C lets the jobs in flight finish and delivers their lineage, leaving the others
  // queued; a second interrupts them (their runs end with ABORT); a third leaves at once.
  const stop = new AbortController();
  const interrupt = new AbortController();
  const stopListening = onStopSignals(() => {
    if (interrupt.signal.aborted) Deno.exit(130);
    if (stop.signal.aborted) return interrupt.abort();
    stop.abort();
    console.error("\nrun-pipeline: stopping after the jobs in flight (again to interrupt them)");
  });
  try {
    metered = await CommandMetrics.start("run-pipeline", options.metrics);
    summary = await runPipeline({
      ...kitOptions(options),
      onQueryPage: paging.page,
      ...(metered === undefined ? {} : { metrics: metered.metrics }),
      onStart: (jobs) => {
        paging.end();
        progress = makeProgress(jobs, "jobs");
      },
      onJobDone: (o) => progress?.tick(o.status),
      onPhase: (phase, seconds) => phases[phase] = Number(seconds.toFixed(3)),
      stop: stop.signal,
      interrupt: interrupt.signal,
    });
  } catch (e) {
    paging.end();
    progress?.end();
    if (e instanceof SetupError) {
      const lines = e.message.split("\n");
      for (const line of lines) {
        console.error(
          e.kind === "config" && /^\S+:\d+:\d+: /.test(line) ? line : `run-pipeline: ${line}`,
        );
      }
      return 2;
    }
    if (e instanceof RunInterrupted) {
      console.error(
        "run-pipeline: interrupted; the runs in flight ended with ABORT " +
          `(\`deno task lineage flush${storeArg(options)}\` delivers their lineage; re-run to ` +
          "continue)",
      );
      return 130;
    }
    if (e instanceof StoreError) {
      console.error(
        `run-pipeline: the store failed during ${e.operation}: ${e.message}` +
          " (the affected runs were closed where possible; re-run to continue)",
      );
      return 1;
    }
    throw e;
  } finally {
    stopListening();
    await metered?.close();
  }
  paging.end();
  progress?.end();
  if (options.enqueueOnly) printQueued(summary, options);
  else printSummary(summary, options);
  if (options.json) {
    console.log(
      JSON.stringify({
        jobs: summary.jobs,
        events: summary.events,
        seconds: Number(summary.seconds.toFixed(3)),
        phases,
        // Since the process started: loading the modules too.
        since_start: Number((performance.now() / 1000).toFixed(3)),
      }),
    );
  }
  // 130: stopped before every job ran; 1: some job failed; 3: jobs another process still
  // runs, so the batch is not finished.
  if (stop.signal.aborted && !options.enqueueOnly && (summary.jobs.queued ?? 0) > 0) return 130;
  return summary.jobs.failed > 0 ? 1 : summary.jobs.held > 0 ? 3 : 0;
};

if (import.meta.main) Deno.exit(await main(Deno.args));
