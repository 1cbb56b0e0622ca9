/**
 * One worker process of `deno task bench --workers`: opens the server store it is given, loads
 * the auto pipeline with trivial stages (as the pipeline bench runs it), says `ready`, waits for a
 * line on stdin, then runs queued jobs until none is left (`runWorker` with `once`) and prints
 * what it ran as one line of JSON.
 *
 * Usage (by workers_bench.ts): deno run -A bench/_bench_worker.ts URL CONCURRENCY
 *
 * @module
 */
import { Effect, Layer } from "effect";
import { loadPipelines } from "../kit/load_pipelines.ts";
import { openStore } from "../adapters/store/store.ts";
import { PipelineRuntime } from "../pipelines/runtime.ts";
import { layer as resilienceLayer } from "../policies/resilience.ts";
import { runWorker } from "../pipelines/worker.ts";
import { trivialStages } from "./_trivial_stages.ts";

const [url, concurrencyArg] = Deno.args;
const store = await openStore(url);
try {
  const config = await Effect.runPromise(loadPipelines({ stages: trivialStages }));
  console.log("ready");
  const stdin = Deno.stdin.readable.getReader();
  await stdin.read();
  stdin.releaseLock();
  const report = await Effect.runPromise(
    runWorker(config, { concurrency: Number(concurrencyArg), once: true }).pipe(
      Effect.provide(Layer.mergeAll(
        store.layer,
        resilienceLayer,
        Layer.succeed(PipelineRuntime, {
          namespace: "lineage-kit-bench",
          store: { namespace: "file", prefix: "/bench" },
        }),
      )),
    ),
  );
  const statuses: Record<string, number> = {};
  for (const o of report.outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  console.log(JSON.stringify({ statuses, storeFailures: report.storeFailures }));
} finally {
  await store.close();
}
