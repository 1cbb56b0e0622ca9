/**
 * `deno task bench`: throughput of the kit's runner against a bare async chain.
 *
 * Both sides push N synthetic documents through the auto pipeline's seven steps with trivial
 * stage bodies, so what is measured is the orchestration itself: the kit with the full ledger,
 * checkpoints and paired lineage in the (in-memory) PGlite outbox, and the floor: seven awaited
 * function calls per document. Both use the same job concurrency. Prints a table and writes JSON to
 * `bench/results/`.
 *
 * Usage: deno task bench [--docs N] [--concurrency N] [--repeat N]
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
import { openEmbeddedStore } from "../adapters/store/store.ts";
import type { IngestRequest } from "../stages/ir.ts";
import { table } from "../cli/_output.ts";
import { benchOptionsFrom } from "./_bench_args.ts";
import { trivialStages, trivialStep } from "./_trivial_stages.ts";

const options = benchOptionsFrom(Deno.args);
if (typeof options === "number") Deno.exit(options);
const { docs, repeat, concurrency } = options;

const requests: IngestRequest[] = Array.from({ length: docs }, (_, i) => ({
  source: "clinicaltrials",
  docKey: `SYN${String(i).padStart(6, "0")}`,
  location: { kind: "file", file: "synthetic", pointer: "" },
}));

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

const kitRun = async (): Promise<{ seconds: number; events: number }> => {
  const config = await Effect.runPromise(loadPipelines({ stages: trivialStages }));
  const pipeline = config.pipeline("auto")!;
  const store = await openEmbeddedStore();
  try {
    const program = Effect.gen(function* () {
      const ledger = yield* JobLedger;
      const jobs = [];
      for (const request of requests) {
        const { job } = yield* ledger.enqueue({
          tenantId: "bench",
          request,
          pipeline: pipeline.name,
          pipelineVersion: pipeline.version,
        });
        jobs.push({ job, pipeline });
      }
      const start = performance.now();
      const outcomes = yield* runJobs(jobs, { concurrency });
      const seconds = (performance.now() - start) / 1000;
      const failed = outcomes.filter((o) => o.status !== "succeeded");
      if (failed.length > 0) throw new Error(`${failed.length} bench jobs did not succeed`);
      return seconds;
    });
    const seconds = await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(
      store.layer,
      resilienceLayer,
      Layer.succeed(PipelineRuntime, {
        namespace: "lineage-kit-bench",
        store: { namespace: "file", prefix: "/bench" },
      }),
    ))));
    const totals = await Effect.runPromise(store.outbox.totals());
    return { seconds, events: totals.openlineage + totals.cloudevents };
  } finally {
    await store.close();
  }
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm up both paths once (JIT, PGlite start-up), then measure each `repeat` times (a fresh store
// per kit run) and report the median: run-to-run spread on a small machine is large.
await bareChain();
const bareRuns: number[] = [];
for (let i = 0; i < repeat; i++) bareRuns.push(await bareChain());
const kitRuns: Array<{ seconds: number; events: number }> = [];
for (let i = 0; i < repeat; i++) kitRuns.push(await kitRun());
const bareSeconds = median(bareRuns);
const kit = { seconds: median(kitRuns.map((r) => r.seconds)), events: kitRuns[0].events };
const spread = (xs: number[]) =>
  `${(docs / Math.max(...xs)).toFixed(1)}–${(docs / Math.min(...xs)).toFixed(1)}`;

const rows = [
  { name: "bare async chain", seconds: bareSeconds, docsPerSecond: docs / bareSeconds },
  {
    name: "lineage-kit (ledger + lineage)",
    seconds: kit.seconds,
    docsPerSecond: docs / kit.seconds,
  },
];
console.log(
  `auto pipeline, ${docs} synthetic documents, concurrency ${concurrency}, median of ${repeat}\n`,
);
console.log(table(
  ["runner", "seconds", "docs/s", "docs/s range"],
  [
    [rows[0].name, rows[0].seconds.toFixed(4), rows[0].docsPerSecond.toFixed(1), spread(bareRuns)],
    [
      rows[1].name,
      rows[1].seconds.toFixed(3),
      rows[1].docsPerSecond.toFixed(1),
      spread(kitRuns.map((r) => r.seconds)),
    ],
  ],
));
const ratio = rows[0].docsPerSecond / rows[1].docsPerSecond;
console.log(
  `\nlineage-kit runs at 1/${
    ratio.toFixed(1)
  } of the bare chain's rate; it wrote ${kit.events} lineage events (${
    (kit.events / docs).toFixed(0)
  } per document).`,
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
      docs,
      concurrency,
      repeat,
      deno: Deno.version.deno,
      rows,
      bareRuns,
      kitRuns: kitRuns.map((r) => r.seconds),
      bareToKitRatio: ratio,
      events: kit.events,
    },
    null,
    2,
  ),
);
console.log(`results: ${out}`);
