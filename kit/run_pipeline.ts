/**
 * `runPipeline`: the whole run in one call, as `deno task run-pipeline` does it. It loads the
 * pipelines (with the caller's own stages and sources), finds the records, opens the store,
 * enqueues one job per document, runs them with bounded concurrency while a relay delivers
 * lineage beside them, flushes the sinks and returns the summary.
 *
 * @module
 */
import { Duration, Effect, Fiber, type Layer } from "effect";
import { outboxRetentionMsOf } from "./project_config.ts";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { AnyStageDefinition } from "../stages/contracts.ts";
import type { IngestRequest } from "../stages/ir.ts";
import type { SourceDefinition } from "../stages/source_contract.ts";
import type { CompiledPipeline, Config } from "../pipelines/loader.ts";
import { type Job, JobLedger } from "../pipelines/ledger.ts";
import { defaultJobConcurrency, type JobOutcome, runJobs } from "../pipelines/runner.ts";
import type { PdfParser } from "../pipelines/pdf_parser.ts";
import { type ResilienceSummary, summary as resilienceSummary } from "../policies/resilience.ts";
import { flushWithDeadline, runRelay, type SinkReport } from "../lineage/relay.ts";
import { type LineageConfig, resolveLineageConfig } from "../lineage/config.ts";
import { StoreError as StoreErrorClass } from "../lineage/outbox.ts";
import type { StoreError } from "../lineage/outbox.ts";
import type { LineageSink } from "../lineage/sink.ts";
import { discoverRecords } from "../adapters/sources/discover.ts";
import { describeStore, isServerStore, openStore, type Store } from "../adapters/store/store.ts";
import { layer as mineruLayer } from "../adapters/mineru/mineru_pdf_parser.ts";
import { kitLayer } from "./kit_layer.ts";
import { commandSinks, destinationsOf } from "./lineage_sinks.ts";
import { jobEventCounts, outboxHead } from "../adapters/store/sql_job_events.ts";
import { checkServices, type Kit, loadKit } from "./load_kit.ts";
import type { StageShortcuts } from "./stage_overrides.ts";
import { httpIngestOptionsFromEnv } from "../adapters/sources/http_ingest.ts";
import { finishPausedJobs } from "./finish_paused.ts";
import { SetupError } from "./setup_error.ts";
import {
  discoverRequests,
  type LiveQuery,
  liveQueryProblem,
} from "../adapters/sources/live_requests.ts";
import {
  liveSourceOptionsFromEnv,
  LiveSourceSettings,
  type PageProgress,
} from "../adapters/sources/live_settings.ts";
import { livePolicyName } from "../adapters/sources/live_policy.ts";
import type { MetricsShape } from "../pipelines/metrics.ts";
import { layerRunMetrics } from "../pipelines/metric_collectors.ts";

/** A record given in memory: its source, its key, and the record as the source's parser reads it. */
export interface RecordInput {
  /** The source the record comes from (a built-in one or one in `sources`). */
  readonly source: string;
  /** The document key within the source. @default the record's index in the list */
  readonly docKey?: string;
  /** The record. */
  readonly record: unknown;
  /** String values carried to every stage of its job (`StageContext.metadata`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What {@link runPipeline} runs, and where. */
export interface RunPipelineOptions {
  /**
   * A pipeline YAML file (checked against the kit's policies, or `policies`), or the name of one
   * of the kit's pipelines. @default each record's pipeline by its source (`applicable_sources`)
   */
  readonly pipeline?: string;
  /** A resilience policy file for `pipeline`. @default the kit's `policies/resilience.yaml` */
  readonly policies?: string;
  /**
   * Record files or folders, or records in memory.
   * @default the records bundled with the kit (when `requests` is not given either)
   */
  readonly records?: string | ReadonlyArray<string> | ReadonlyArray<RecordInput>;
  /** Ingest requests to run, as the ledger stores them (live URLs, files, inline records). */
  readonly requests?: ReadonlyArray<IngestRequest>;
  /**
   * Records to list live from a source's API (`--query`, `--ids`, `--filter`, `--limit`). Each
   * record is stored with its job (an inline request) before the job starts, so no run fetches it
   * again. The `polite-api` policy of the run's policies paces the requests; `OPENALEX_MAILTO`
   * and `OPENFDA_API_KEY` of `env` are sent.
   */
  readonly query?: LiveQuery;
  /** Called after each page a live `query` fetched. */
  readonly onQueryPage?: (progress: PageProgress) => void;
  /** Read every record file as this source instead of recognising it. */
  readonly source?: string;
  /** Stage definitions the pipelines may use besides the kit's (`defineStage`). */
  readonly stages?: ReadonlyArray<AnyStageDefinition>;
  /** Sources besides the kit's (`defineSource`). */
  readonly sources?: ReadonlyArray<SourceDefinition>;
  /** The project file (`lineage-kit.yaml`). @default `./lineage-kit.yaml` when present */
  readonly config?: string;
  /** Implementations chosen by flags (`--embedder`, `--vllm-url`, `--index` …). */
  readonly shortcuts?: StageShortcuts;
  /**
   * Check, before any job starts, the outside services the chosen implementations call (a vLLM
   * server and its model, an OpenSearch cluster). @default true
   */
  readonly checkServices?: boolean;
  /**
   * The store: an embedded directory, a `postgres://` URL, or an open {@link Store} (left open).
   * @default ".lineage-kit"
   */
  readonly store?: string | Store;
  /**
   * Where OpenLineage events go: a directory (JSONL), an http(s) Marquez URL or
   * `kafka://host:port/topic`. @default the `OPENLINEAGE_*` settings, else `<store>/lineage`
   */
  readonly lineage?: string;
  /** Where CloudEvents go: a directory or `kafka://host:port[/topic]`. @default the lineage dir */
  readonly events?: string;
  /** The tenant of the jobs. @default "default" */
  readonly tenant?: string;
  /** Jobs in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Re-process documents that succeeded, and failed ones from scratch. @default false */
  readonly force?: boolean;
  /** String values added to every job's metadata (`StageContext.metadata`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** A MinerU service: parse downloaded PDFs and finish paused PDF jobs in the same call. */
  readonly mineruUrl?: string;
  /** Let PDF downloads reach loopback and private addresses. @default false */
  readonly allowPrivateNetwork?: boolean;
  /** Record the jobs as queued and run none (workers run them). @default false */
  readonly enqueueOnly?: boolean;
  /** Environment the lineage configuration reads (`OPENLINEAGE_*`). @default `Deno.env` */
  readonly env?: { get(key: string): string | undefined };
  /** Called once the jobs are known, with how many will run. */
  readonly onStart?: (jobs: number) => void;
  /** Called as each job's run ends. */
  readonly onJobDone?: (outcome: JobOutcome) => void;
  /** Called as each phase of the call ends, with its wall time in seconds, in phase order. */
  readonly onPhase?: (phase: RunPhase, seconds: number) => void;
  /**
   * Once aborted, no further job starts: those running finish and their lineage is delivered;
   * the others are left as they are for the next run (`jobs.queued` counts them).
   */
  readonly stop?: AbortSignal;
  /**
   * Once aborted, the jobs running are interrupted (their runs end with ABORT), the store is
   * closed and the call rejects with {@link RunInterrupted}; their lineage waits in the outbox.
   */
  readonly interrupt?: AbortSignal;
  /** Records the run's metrics (`makeMetrics`, served by a `/metrics` endpoint). @default none */
  readonly metrics?: MetricsShape;
}

/**
 * The phases of a {@link runPipeline} call, in order: reading the configuration, pipelines and
 * records (and checking the services they need); opening or creating the store; making the jobs;
 * running them (the relay delivering beside them); delivering the lineage still pending once they
 * ended; pruning the outbox and closing the store and the sinks. An `enqueueOnly` call has no
 * `jobs` and `lineage`.
 */
export type RunPhase = typeof runPhases[number];

/** Every {@link RunPhase}, in the order a call goes through them. */
export const runPhases = ["setup", "open_store", "enqueue", "jobs", "lineage", "close"] as const;

/** Times the phases of one call for `onPhase`: each ends where the next starts. */
const phaseClock = (onPhase: RunPipelineOptions["onPhase"]) => {
  let since = performance.now();
  return (phase: RunPhase) => {
    const now = performance.now();
    onPhase?.(phase, (now - since) / 1000);
    since = now;
  };
};

/**
 * A run stopped by {@link RunPipelineOptions.interrupt}: the jobs in flight were interrupted and
 * the store closed.
 */
export class RunInterrupted extends Error {
  override readonly name = "RunInterrupted";
}

/** Jobs by how their run ended (records no pipeline takes count as failed). */
export interface JobCounts {
  /** Jobs whose run finished every stage. */
  readonly succeeded: number;
  /** Jobs that failed, and records no pipeline takes. */
  readonly failed: number;
  /** Jobs waiting at a gate. */
  readonly paused: number;
  /** Jobs with nothing to run: they had succeeded already. */
  readonly skipped: number;
  /** Jobs another process runs (its lease holds) or took over: the batch is not finished. */
  readonly held: number;
  /** Jobs cancelled (before or during the run); `force` re-runs them. */
  readonly cancelled: number;
  /** Jobs this call did not run: recorded for workers (`enqueueOnly`), or not started (`stop`). */
  readonly queued?: number;
}

/** What a run did: the JSON the CLI prints (`jobs`, `events`, `seconds`) and the details. */
export interface RunSummary {
  /** Jobs by outcome. */
  readonly jobs: JobCounts;
  /** Events this run's jobs wrote to the outbox, by channel (not other processes' events). */
  readonly events: { readonly openlineage: number; readonly cloudevents: number };
  /** Wall time of the run (after loading), in seconds. */
  readonly seconds: number;
  /** Each job's outcome, in run order. */
  readonly outcomes: ReadonlyArray<JobOutcome>;
  /** Records no pipeline lists the source of. */
  readonly unrouted: ReadonlyArray<IngestRequest>;
  /** Documents `enqueueOnly` found with a job that is not queued (done, failed, running). */
  readonly known: number;
  /** What each sink took, and what still waits for it. */
  readonly sinks: ReadonlyArray<SinkReport>;
  /** What the circuit breakers and rate limiters did. */
  readonly resilience: ResilienceSummary;
  /** The lineage namespace and where events went. */
  readonly lineage: LineageConfig;
}

/** The records shipped with the kit, processed when no records are given. */
export const bundledRecordsDir: string = fileURLToPath(new URL("../data/records", import.meta.url));

/** A request and the pipeline that takes it (none when no pipeline lists its source). */
export interface Planned {
  /** The ingest request. */
  readonly request: IngestRequest;
  /** The pipeline its job runs through. */
  readonly pipeline?: CompiledPipeline;
}

// Documents in flight to the store's enqueue at once: its group commit makes them jobs in
// batches of up to this many.
const ENQUEUE_CONCURRENCY = 256;

const isRecordInputs = (
  records: RunPipelineOptions["records"],
): records is ReadonlyArray<RecordInput> =>
  Array.isArray(records) && records.length > 0 && typeof records[0] === "object";

const withMetadata = (
  request: IngestRequest,
  metadata: Readonly<Record<string, string>> | undefined,
): IngestRequest =>
  metadata === undefined || Object.keys(metadata).length === 0
    ? request
    : { ...request, metadata: { ...request.metadata, ...metadata } };

const paths = (records: string | ReadonlyArray<string>): ReadonlyArray<string> =>
  typeof records === "string" ? [records] : records;

/** Every path must exist: a typo is a setup error, not a failed document. */
const existing = async (list: ReadonlyArray<string>): Promise<ReadonlyArray<string>> => {
  for (const path of list) {
    try {
      await Deno.stat(path);
    } catch {
      throw new SetupError(`--input: no such file or folder: ${path}`);
    }
  }
  return list;
};

/** The ingest requests the options name, with the run's metadata. */
export const requestsFor = async (
  options: Pick<RunPipelineOptions, "records" | "requests" | "source" | "metadata" | "query">,
  kit: Pick<Kit, "sources" | "inputLimits">,
  live: ReadonlyArray<IngestRequest> = [],
): Promise<ReadonlyArray<IngestRequest>> => {
  const { sources } = kit;
  if (options.source !== undefined && sources.get(options.source) === undefined) {
    throw new SetupError(
      `--source: unknown source "${options.source}" (known: ${sources.names.join(", ")})`,
    );
  }
  const given: Array<IngestRequest> = [...(options.requests ?? []), ...live];
  if (isRecordInputs(options.records)) {
    options.records.forEach((r, i) => {
      given.push({
        source: r.source,
        docKey: r.docKey ?? String(i),
        location: { kind: "inline", record: r.record },
        ...(r.metadata === undefined ? {} : { metadata: r.metadata }),
      });
    });
  } else if (
    options.records !== undefined || (given.length === 0 && options.query === undefined)
  ) {
    const list = await existing(
      options.records === undefined ? [bundledRecordsDir] : paths(options.records),
    );
    const found = await discoverRecords(list, {
      ...(options.source === undefined ? {} : { source: options.source }),
      sources,
      limits: kit.inputLimits,
    });
    given.push(...found.map((d) => d.request));
  }
  return given.map((r) => withMetadata(r, options.metadata));
};

/**
 * The records a live `query` lists, as inline requests; a query the source cannot answer, or an
 * API that fails (after the policy's retries), is a {@link SetupError} naming the URL.
 */
export const liveRequestsFor = async (
  options: Pick<RunPipelineOptions, "query" | "env" | "onQueryPage">,
  kit: Pick<Kit, "config" | "sources">,
): Promise<ReadonlyArray<IngestRequest>> => {
  if (options.query === undefined) return [];
  const { sources, config } = kit;
  const problem = liveQueryProblem(sources, options.query);
  if (problem !== undefined) throw new SetupError(problem);
  const env = options.env ?? Deno.env;
  const policy = config.policies.get(livePolicyName);
  const settings = {
    ...liveSourceOptionsFromEnv({
      OPENALEX_MAILTO: env.get("OPENALEX_MAILTO"),
      OPENFDA_API_KEY: env.get("OPENFDA_API_KEY"),
    }),
    ...(policy === undefined ? {} : { policy }),
    ...(options.onQueryPage === undefined ? {} : { onPage: options.onQueryPage }),
  };
  const found = await Effect.runPromise(Effect.result(
    Effect.provideService(discoverRequests(sources, options.query), LiveSourceSettings, settings),
  ));
  if (found._tag === "Success") return found.success;
  const error = found.failure;
  // A query the source refuses is how the run was asked; anything else is the API's answer.
  const asked = error._tag === "InvalidInput" && error.path === "query";
  throw new SetupError(
    `--source ${options.query.source}: ${asked ? "" : "live discovery failed: "}${error.message}`,
    asked ? "usage" : "service",
  );
};

const isFilePath = (pipeline: string): boolean =>
  /\.ya?ml$/i.test(pipeline) || pipeline.includes("/") || pipeline.includes("\\");

/**
 * The kit a run uses (its project file, plugins, flags and pipelines: the kit's own, or the one
 * file `pipeline` names), and the pipeline every record is forced through, if any.
 */
export const kitFor = async (
  options: Pick<
    RunPipelineOptions,
    "pipeline" | "policies" | "stages" | "sources" | "config" | "shortcuts" | "env"
  >,
): Promise<{ readonly kit: Kit; readonly only?: CompiledPipeline }> => {
  const file = options.pipeline !== undefined && isFilePath(options.pipeline)
    ? options.pipeline
    : undefined;
  const kit = await loadKit({
    ...(options.stages === undefined ? {} : { stages: options.stages }),
    ...(options.sources === undefined ? {} : { sources: options.sources }),
    ...(options.config === undefined ? {} : { config: options.config }),
    ...(options.shortcuts === undefined ? {} : { shortcuts: options.shortcuts }),
    ...(options.env === undefined ? {} : { env: envObject(options.env) }),
    ...(file === undefined
      ? {}
      : { files: options.policies === undefined ? [file] : [file, options.policies] }),
  });
  const { config } = kit;
  if (file !== undefined) return { kit, only: config.pipelines[0] };
  if (options.pipeline === undefined) return { kit };
  const only = config.pipeline(options.pipeline);
  if (only === undefined) {
    throw new SetupError(
      `--pipeline: unknown pipeline "${options.pipeline}" (known: ${
        config.pipelines.map((p) => p.name).join(", ")
      })`,
    );
  }
  return { kit, only };
};

// An `env` given as a getter (`Deno.env`) as a plain record, for the kit's loader.
const envObject = (
  env: { get(key: string): string | undefined } & { toObject?: () => Record<string, string> },
): Readonly<Record<string, string | undefined>> =>
  env.toObject?.() ??
    Object.fromEntries(
      ["VLLM_URL", "VLLM_MODEL", "OPENSEARCH_URL"].map((k) => [k, env.get(k)]),
    );

/** Each request with the pipeline it runs through (none when no pipeline takes its source). */
export const planRequests = (
  config: Config,
  only: CompiledPipeline | undefined,
  requests: ReadonlyArray<IngestRequest>,
): ReadonlyArray<Planned> =>
  requests.map((request) => ({
    request,
    pipeline: only ?? config.routeSource(request.source),
  }));

/** Queued jobs name their record files by absolute path: workers may run elsewhere. */
export const absoluteRequest = (request: IngestRequest): IngestRequest =>
  request.location.kind === "file" && !isAbsolute(request.location.file)
    ? { ...request, location: { ...request.location, file: resolve(request.location.file) } }
    : request;

/** Everything {@link executeRun} needs, resolved. */
export interface RunPlan {
  /** The validated configuration. */
  readonly config: Config;
  /** The kit it was loaded with (sources, input limits). */
  readonly kit: Pick<Kit, "sources" | "inputLimits">;
  /** Each request with its pipeline. */
  readonly planned: ReadonlyArray<Planned>;
  /** The store spec (for dataset names and the PDF area). */
  readonly storeSpec: string;
  /** The lineage configuration. */
  readonly lineage: LineageConfig;
  /** The options of the run. */
  readonly options: RunPipelineOptions;
}

const countsOf = (outcomes: ReadonlyArray<JobOutcome>, unrouted: number): JobCounts => {
  const jobs = { succeeded: 0, failed: unrouted, paused: 0, skipped: 0, held: 0, cancelled: 0 };
  for (const o of outcomes) jobs[o.status]++;
  return jobs;
};

/**
 * Runs a resolved plan on an open store, delivering lineage to `sinks` beside the jobs.
 *
 * @category constructors
 */
export const executeRun = (
  store: Store,
  plan: RunPlan,
  sinks: ReadonlyArray<LineageSink>,
  ended: (phase: RunPhase) => void = phaseClock(plan.options.onPhase),
): Effect.Effect<RunSummary, StoreError> => {
  const { config, planned, options, lineage } = plan;
  const unrouted = planned.filter((p) => !p.pipeline).map((p) => p.request);
  const metered = layerRunMetrics(options.metrics, { sinks });
  return Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const before = yield* storeRead("outbox head", () => outboxHead(store.client));
    const started = performance.now();
    // Recorded with each job, so the processes that continue it after a pause deliver there.
    const destinations = destinationsOf({
      ...(options.lineage === undefined ? {} : { lineage: options.lineage }),
      ...(options.events === undefined ? {} : { events: options.events }),
    });
    // Enqueued many at a time, so the store makes them jobs in batches; in the input's order.
    const jobs: Array<{ job: Job; pipeline: CompiledPipeline }> = yield* Effect.forEach(
      planned.flatMap((p) => p.pipeline ? [{ request: p.request, pipeline: p.pipeline }] : []),
      (p) =>
        ledger.enqueue({
          tenantId: options.tenant ?? "default",
          request: p.request,
          pipeline: p.pipeline.name,
          pipelineVersion: p.pipeline.version,
          destinations,
          // A forced re-run reads the input it was given now, not the one stored before.
          replaceRequest: options.force === true,
        }).pipe(
          Effect.map(({ job }) => ({ job, pipeline: config.pipeline(job.pipeline) ?? p.pipeline })),
        ),
      { concurrency: ENQUEUE_CONCURRENCY },
    );
    ended("enqueue");
    const base = { unrouted, lineage, known: 0 };
    if (options.enqueueOnly) {
      const queued = jobs.filter((j) => j.job.status === "queued").length;
      return {
        ...base,
        jobs: { ...countsOf([], unrouted.length), queued },
        known: jobs.length - queued,
        events: { openlineage: 0, cloudevents: 0 },
        outcomes: [],
        sinks: [],
        resilience: yield* resilienceSummary(),
        seconds: (performance.now() - started) / 1000,
      } satisfies RunSummary;
    }
    options.onStart?.(jobs.length);
    const stopRelay = new AbortController();
    // The relay runs beside the jobs: a slow or dead sink never holds a stage back.
    const relay = yield* Effect.forkChild(
      runRelay(sinks, {
        interval: "2 seconds",
        signal: stopRelay.signal,
        retention: Duration.millis(store.outboxRetentionMs),
      }),
    );
    const outcomes = yield* runJobs(jobs, {
      concurrency: options.concurrency ?? defaultJobConcurrency,
      ...(options.stop === undefined ? {} : { stop: options.stop }),
      force: options.force === true,
      // A job left running by a process that died is taken over once its lease has expired.
      reclaimRunning: true,
      ...(options.onJobDone === undefined ? {} : { onDone: options.onJobDone }),
    });
    // Paused PDF jobs are finished here too, unless the run was stopped: that starts nothing new.
    const finished = options.mineruUrl && !options.stop?.aborted &&
        outcomes.some((o) => o.status === "paused")
      ? yield* finishPausedJobs(config, outcomes).pipe(
        Effect.provide(mineruLayer({ baseUrl: options.mineruUrl }) as Layer.Layer<PdfParser>),
      )
      : outcomes;
    ended("jobs");
    stopRelay.abort();
    yield* Fiber.join(relay);
    const reports = yield* flushWithDeadline(sinks, { maxWaitMs: 30_000 });
    // This run's events: those of the jobs it ran, not those another process wrote meanwhile
    // (jobs held by another process are that process's).
    const ran = finished.filter((o) => o.status !== "held").map((o) => o.jobId);
    const events = yield* storeRead(
      "event counts",
      () => jobEventCounts(store.client, ran, before),
    );
    ended("lineage");
    // Jobs `stop` kept from starting, left as they were.
    const notStarted = jobs.length - outcomes.length;
    return {
      ...base,
      jobs: {
        ...countsOf(finished, unrouted.length),
        ...(notStarted > 0 ? { queued: notStarted } : {}),
      },
      outcomes: finished,
      events,
      sinks: reports,
      resilience: yield* resilienceSummary(),
      seconds: (performance.now() - started) / 1000,
    } satisfies RunSummary;
  }).pipe(
    Effect.provide(metered),
    Effect.provide(kitLayer(store, {
      storeDir: plan.storeSpec,
      namespace: lineage.namespace,
      allowPrivateNetwork: options.allowPrivateNetwork === true,
      sources: plan.kit.sources,
      http: { ...httpIngestOptionsFromEnv(Deno.env.toObject()), limits: plan.kit.inputLimits },
      ...(lineage.parent ? { parentRun: lineage.parent } : {}),
    })),
  );
};

// A read outside the ledger port (outbox counts), failing as the store's error.
const storeRead = <A>(operation: string, read: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({
    try: read,
    catch: (e) =>
      new StoreErrorClass({ operation, message: e instanceof Error ? e.message : String(e) }),
  });

/** Where a store's JSONL lineage goes by default: inside it, or `./.lineage-kit/lineage`. */
export const defaultLineageDir = (storeSpec: string): string =>
  resolve(isServerStore(storeSpec) ? ".lineage-kit" : storeSpec, "lineage");

/** Resolves the lineage configuration as the official clients do, `lineage` winning. */
export const lineageFor = async (
  options: Pick<RunPipelineOptions, "lineage" | "env">,
): Promise<LineageConfig> => {
  const resolved = await Effect.runPromise(Effect.result(resolveLineageConfig({
    env: options.env ?? Deno.env,
    cwd: Deno.cwd(),
    ...(options.lineage === undefined ? {} : { flag: options.lineage }),
  })));
  if (resolved._tag === "Failure") {
    throw new SetupError(
      resolved.failure.problems.map((p) => `${p.where}: ${p.message}`).join("\n"),
      "config",
    );
  }
  return resolved.success;
};

/**
 * Runs documents through their pipelines in one call and returns the summary, with the lineage
 * sinks flushed. Rejects with a {@link SetupError} (nothing ran) for bad options, configuration
 * problems (each at its file:line:column), missing inputs or a store it cannot open, and with the
 * store's error when the store fails during the run.
 *
 * @example
 * ```ts
 * import { runPipeline } from "./run_pipeline.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const summary = await runPipeline({ store: `${dir}/store`, lineage: `${dir}/lineage` });
 * console.log(summary.jobs.succeeded, summary.events.openlineage);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @category constructors
 */
export const runPipeline = async (options: RunPipelineOptions = {}): Promise<RunSummary> => {
  const ended = phaseClock(options.onPhase);
  const lineage = await lineageFor(options);
  const { kit, only } = await kitFor(options);
  const { config } = kit;
  const requests = await requestsFor(options, kit, await liveRequestsFor(options, kit));
  if (requests.length === 0) {
    throw new SetupError(
      options.query === undefined ? "no records found" : "--query: the source found no records",
    );
  }
  const planned = planRequests(
    config,
    only,
    options.enqueueOnly ? requests.map(absoluteRequest) : requests,
  );
  if (!options.enqueueOnly && options.checkServices !== false) {
    // A GPU server that is down or a model it does not serve stops the run before any job.
    await checkServices([...new Set(planned.flatMap((p) => p.pipeline ? [p.pipeline] : []))]);
  }
  const given = typeof options.store === "object" ? options.store : undefined;
  const storeSpec = given === undefined
    ? storeSpecOf(typeof options.store === "string" ? options.store : undefined)
    : given.spec;
  const sinks = commandSinks(lineage, {
    lineageDir: defaultLineageDir(storeSpec),
    ...(options.events === undefined ? {} : { events: options.events }),
  });
  ended("setup");
  let store: Store;
  try {
    store = given ??
      await openStore(storeSpec, { outboxRetentionMs: outboxRetentionMsOf(kit.project) });
    ended("open_store");
  } catch (e) {
    await sinks.close();
    throw new SetupError(
      `cannot open the store at ${describeStore(storeSpec)}: ${(e as Error).message ?? e}`,
      "service",
    );
  }
  let summary: RunSummary;
  try {
    summary = await Effect.runPromise(
      executeRun(store, { config, kit, planned, storeSpec, lineage, options }, sinks.sinks, ended),
      options.interrupt === undefined ? {} : { signal: options.interrupt },
    );
  } catch (e) {
    if (options.interrupt?.aborted) {
      throw new RunInterrupted("interrupted: the runs in flight ended with ABORT");
    }
    throw e;
  } finally {
    await sinks.close();
    if (given === undefined) await store.close();
  }
  ended("close");
  return summary;
};

/** A `store` option as a path or URL (embedded directories resolved). */
export const storeSpecOf = (store: string | undefined): string => {
  const given = store ?? ".lineage-kit";
  return isServerStore(given) ? given : resolve(given);
};
