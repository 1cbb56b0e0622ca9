/**
 * `deno task bench`: throughput of the kit's runner against a bare async chain and LangGraph.js.
 *
 * Every side pushes N synthetic documents through the auto pipeline's seven steps with trivial
 * stage bodies, so what is measured is the orchestration itself: the kit with the full ledger,
 * checkpoints and paired lineage in the outbox (a fresh embedded store on disk, PGlite in memory
 * with `--store memory`, or a PostgreSQL server with `--store postgres://…`); the floor: seven awaited function calls per document; and the in-process peer,
 * LangGraph.js running the same DAG (bench/peers/) with no persistence, with its MemorySaver, and
 * with its Postgres checkpointer when a server is at hand. All use the same job concurrency.
 * Prints a table, writes JSON to `bench/results/`, and with `--json` ends with a one-line summary.
 *
 * Usage: deno task bench [--docs N] [--concurrency N] [--repeat N] [--json] [--store memory|URL] …
 *
 * @module
 */
import { Effect, Layer } from "effect";
import { resolve } from "node:path";
import { loadPipelines } from "../kit/load_pipelines.ts";
import { PipelineRuntime } from "../pipelines/runtime.ts";
import { layer as resilienceLayer } from "../policies/resilience.ts";
import { JobLedger } from "../pipelines/ledger.ts";
import { runJobs } from "../pipelines/runner.ts";
import { benchOptionsFrom } from "./_bench_args.ts";
import { syntheticRequest, trivialStages, trivialStep } from "./_trivial_stages.ts";
import { openBenchStore } from "./_kit_store.ts";
import {
  ensurePeersInstalled,
  langGraphDurability,
  langGraphSides,
  type PeerResult,
  runLangGraphPeer,
} from "./_peers.ts";
import { median, rateFields, rateOf, rateTable, ratio, type Series } from "./_bench_report.ts";

const options = benchOptionsFrom(Deno.args);
if (typeof options === "number") Deno.exit(options);
const { docs, repeat, concurrency } = options;

const requests = Array.from({ length: docs }, (_, i) => syntheticRequest(i));

/** The floor: the same seven steps as plain async functions, same concurrency. */
const bareChain = async (): Promise<number> => {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++];
      let value: unknown = request;
      for (let s = 0; s < 7; s++) value = await trivialStep(s, value);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - start) / 1000;
};

interface KitRun {
  readonly seconds: number;
  readonly enqueueSeconds: number;
  readonly events: number;
  /** Statements (and transactions) the store ran to enqueue the documents. */
  readonly enqueueStatements: number;
  /** Statements (and transactions) the store ran while the jobs ran. */
  readonly runStatements: number;
  readonly transactions: number;
}

const kitRun = async (): Promise<KitRun> => {
  const config = await Effect.runPromise(loadPipelines({ stages: trivialStages }));
  const pipeline = config.pipeline("auto")!;
  const { store, counter, close } = await openBenchStore(options.store);
  try {
    const program = Effect.gen(function* () {
      const ledger = yield* JobLedger;
      const enqueueStart = performance.now();
      // As run-pipeline enqueues: many at a time, so the store makes them jobs in batches.
      const jobs = yield* Effect.forEach(requests, (request) =>
        ledger.enqueue({
          tenantId: "bench",
          request,
          pipeline: pipeline.name,
          pipelineVersion: pipeline.version,
        }).pipe(Effect.map(({ job }) => ({ job, pipeline }))), { concurrency: 256 });
      const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
      const enqueueStatements = counter.counts.statements;
      const start = performance.now();
      const outcomes = yield* runJobs(jobs, { concurrency });
      const seconds = (performance.now() - start) / 1000;
      const failed = outcomes.filter((o) => o.status !== "succeeded");
      if (failed.length > 0) throw new Error(`${failed.length} bench jobs did not succeed`);
      return {
        seconds,
        enqueueSeconds,
        enqueueStatements,
        runStatements: counter.counts.statements - enqueueStatements,
        transactions: counter.counts.transactions,
      };
    });
    const run = await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(
      store.layer,
      resilienceLayer,
      Layer.succeed(PipelineRuntime, {
        namespace: "lineage-kit-bench",
        store: { namespace: "file", prefix: "/bench" },
      }),
    ))));
    const totals = await Effect.runPromise(store.outbox.totals());
    return { ...run, events: totals.openlineage + totals.cloudevents };
  } finally {
    await close();
  }
};

// The Postgres checkpointer peer writes to DATABASE_URL, or else to the kit's --store server.
const peerDatabaseUrl = Deno.env.get("DATABASE_URL") ?? options.store;
const durability = langGraphDurability;
// The peers run the DAG of the pipeline the kit runs, as the kit's loader compiled it.
const autoPipeline = (await Effect.runPromise(loadPipelines({ stages: trivialStages })))
  .pipeline("auto")!;
const topology = autoPipeline.order.map((name) => {
  const { type, dependsOn } = autoPipeline.stage(name);
  return { name, type, dependsOn };
});
const peerSides = langGraphSides(peerDatabaseUrl);
let peers = options.skipPeers ? [] : peerSides;
if (peers.length > 0) {
  try {
    await ensurePeersInstalled();
  } catch (e) {
    // A machine without the npm registry still measures the kit; the summary says what is missing.
    console.error(`bench: the LangGraph.js peers are not measured: ${(e as Error).message}`);
    peers = [];
  }
}

// Warm up the bare chain once (JIT), then measure every side `repeat` times, one round after
// another (a fresh store per kit run, a fresh process per peer run), so that drift on a shared
// machine touches every side alike; the median of each is reported.
await bareChain();
const bareRuns: number[] = [];
for (let i = 0; i < repeat; i++) bareRuns.push(await bareChain());
const kitRuns: KitRun[] = [];
const peerRuns = new Map<string, PeerResult[]>(peers.map((p) => [p.key, []]));
for (let round = 1; round <= repeat; round++) {
  const kit = await kitRun();
  kitRuns.push(kit);
  const done = [`kit ${kit.seconds.toFixed(1)} s`];
  for (const peer of peers) {
    const result = await runLangGraphPeer({
      topology,
      runtime: options.peerRuntime,
      checkpointer: peer.checkpointer,
      docs,
      concurrency,
      databaseUrl: peer.checkpointer === "postgres" ? peerDatabaseUrl : undefined,
      durability,
    });
    peerRuns.get(peer.key)!.push(result);
    done.push(`${peer.key} ${result.seconds.toFixed(1)} s`);
  }
  console.error(`bench: round ${round}/${repeat}: ${done.join(", ")}`);
}

const kitName = `lineage-kit (ledger + lineage, ${options.store ? "PostgreSQL" : "PGlite"})`;
const series: Series[] = [
  { name: "bare async chain", key: "bare", seconds: bareRuns },
  { name: kitName, key: "kit", seconds: kitRuns.map((r) => r.seconds) },
  ...peers.map((p) => ({
    name: p.name,
    key: p.key,
    seconds: peerRuns.get(p.key)!.map((r) => r.seconds),
  })),
];
const rateFor = (key: string) => {
  const s = series.find((x) => x.key === key);
  return s ? rateOf(s, docs).docsPerSecond : undefined;
};
const kitRate = rateFor("kit")!;
const perDoc = (xs: ReadonlyArray<number>) =>
  Number((xs.reduce((a, b) => a + b, 0) / xs.length / docs).toFixed(2));
const postgresPeer = peerRuns.get("langgraph_postgres");
const peerRuntime = [...peerRuns.values()][0]?.[0]?.runtime ?? null;

console.log(
  `auto pipeline, ${docs} synthetic documents, concurrency ${concurrency}, median of ${repeat}` +
    (peerRuntime ? `; peers under ${peerRuntime}` : "") +
    "\n",
);
console.log(rateTable(series, docs, kitRate));

const summary = {
  docs,
  concurrency,
  repeat,
  kit_store: options.store === undefined
    ? "pglite-disk"
    : options.store === "memory"
    ? "pglite-memory"
    : "postgres",
  kit_docs_per_s: Number(kitRate.toFixed(1)),
  langgraph_docs_per_s: rateFor("langgraph") === undefined
    ? null
    : Number(rateFor("langgraph")!.toFixed(1)),
  ratio: ratio(kitRate, rateFor("langgraph")),
  ratio_memorysaver: ratio(kitRate, rateFor("langgraph_memorysaver")),
  ratio_postgres: ratio(kitRate, rateFor("langgraph_postgres")),
  // Enqueue and run together: every statement a document costs the store.
  statements_per_doc: perDoc(kitRuns.map((r) => r.enqueueStatements + r.runStatements)),
  enqueue_statements_per_doc: perDoc(kitRuns.map((r) => r.enqueueStatements)),
  transactions_per_doc: perDoc(kitRuns.map((r) => r.transactions)),
  events_per_doc: perDoc(kitRuns.map((r) => r.events)),
  ...rateFields(series, docs),
  // Enqueueing is outside the kit's timed span (jobs are queued before the run starts).
  kit_enqueue_seconds: Number(median(kitRuns.map((r) => r.enqueueSeconds)).toFixed(3)),
  langgraph_postgres_statements_per_doc: postgresPeer
    ? median(postgresPeer.map((r) => r.statements_per_doc ?? Number.NaN))
    : null,
  langgraph_durability: peers.some((p) => p.checkpointer !== "none") ? durability : null,
  peer_runtime: peerRuntime,
  deno: Deno.version.deno,
};
console.log(
  `\nlineage-kit: ${summary.statements_per_doc} store statements (${summary.transactions_per_doc} ` +
    `transactions) and ${summary.events_per_doc} lineage events per document.`,
);

const outDir = resolve("bench/results");
await Deno.mkdir(outDir, { recursive: true });
const out = resolve(
  outDir,
  `pipeline_bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
);
await Deno.writeTextFile(
  out,
  JSON.stringify(
    {
      summary,
      bareRuns,
      kitRuns,
      peerRuns: Object.fromEntries(peerRuns),
    },
    null,
    2,
  ),
);
console.log(`results: ${out}`);
if (options.json) console.log(JSON.stringify(summary));
