/**
 * `deno task bench --workers N --store postgres://…`: several worker processes sharing one
 * PostgreSQL server store, as `deno task worker` processes do. N synthetic documents (the auto
 * pipeline with trivial stages, as `deno task bench` runs it) are enqueued in a fresh schema; then
 * N worker processes, each started and ready (store open, pipelines loaded) before the clock
 * starts, run them until none is left. The time is from their start signal to the last one's
 * exit. Every job must have succeeded in one run with the same events as every other (a job run
 * twice would have more); outcomes of races another worker won, and store failures a worker went
 * on after, are reported.
 *
 * Usage: deno task bench --workers N --store postgres://… [--docs N] [--concurrency N]
 *        [--repeat N] [--json]
 *
 * @module
 */
import { Effect } from "effect";
import { fileURLToPath } from "node:url";
import { parseArgs, UsageError } from "../cli/_args.ts";
import { isServerStore } from "../adapters/store/store.ts";
import { loadPipelines } from "../kit/load_pipelines.ts";
import { median } from "./_bench_report.ts";
import { openBenchStore } from "./_kit_store.ts";
import { runTaskEnv, runTaskV8Flag } from "./_task_flags.ts";
import { syntheticRequest, trivialStages } from "./_trivial_stages.ts";

const usage =
  `usage: deno task bench --workers N --store postgres://… [--docs N] [--concurrency N] [--repeat N] [--json]

  --workers N       worker processes sharing the store
  --store URL       the PostgreSQL server (a fresh schema per round, dropped after)
  --docs N          synthetic documents per round (default: 3000)
  --concurrency N   jobs each worker runs at once (default: 16)
  --repeat N        rounds; medians are reported (default: 3)
  --json            end with one line of JSON
  --help            this text`;

interface WorkerResult {
  /** The outcomes of the jobs it ran, by status. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly storeFailures: ReadonlyArray<string>;
}

/** What one round measured and saw. */
interface Round {
  readonly seconds: number;
  /** Outcomes of all workers by status: all `succeeded` but for races another worker won. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Store failures the workers met and went on after. */
  readonly storeFailures: ReadonlyArray<string>;
}

const workerScript = fileURLToPath(new URL("./_bench_worker.ts", import.meta.url));

// The lines a child writes, one at a time.
const linesOf = (stream: ReadableStream<Uint8Array>) => {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return async (): Promise<string | undefined> => {
    for (;;) {
      const end = buffered.indexOf("\n");
      if (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return buffered.length > 0 ? buffered : undefined;
      buffered += value;
    }
  };
};

/** One round: enqueue, start the workers, time them to the last exit. */
const round = async (
  url: string,
  docs: number,
  workers: number,
  concurrency: number,
): Promise<Round> => {
  const bench = await openBenchStore(url);
  try {
    const config = await Effect.runPromise(loadPipelines({ stages: trivialStages }));
    const pipeline = config.pipeline("auto")!;
    const requests = Array.from({ length: docs }, (_, i) => syntheticRequest(i));
    await Effect.runPromise(Effect.forEach(requests, (request) =>
      bench.store.ledger.enqueue({
        tenantId: "bench",
        request,
        pipeline: pipeline.name,
        pipelineVersion: pipeline.version,
      }), { concurrency: 256 }));
    const children = Array.from({ length: workers }, () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", runTaskV8Flag, workerScript, bench.store.spec, String(concurrency)],
        env: runTaskEnv,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      return { child, nextLine: linesOf(child.stdout) };
    });
    for (const { nextLine } of children) {
      if (await nextLine() !== "ready") throw new Error("a bench worker did not start");
    }
    const start = performance.now();
    for (const { child } of children) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    }
    const results = await Promise.all(children.map(async ({ child, nextLine }) => {
      const line = await nextLine();
      const status = await child.status;
      if (!status.success || line === undefined) throw new Error("a bench worker failed");
      return JSON.parse(line) as WorkerResult;
    }));
    const seconds = (performance.now() - start) / 1000;
    const statuses: Record<string, number> = {};
    for (const r of results) {
      for (const [status, n] of Object.entries(r.statuses)) {
        statuses[status] = (statuses[status] ?? 0) + n;
      }
    }
    // Every job succeeded, in one run, with the same events as every other: none ran twice.
    const [store] = await bench.store.client.query<
      { succeeded: number; rerun: number; fewest: number; most: number }
    >(
      `select (select count(*) filter (where status = 'succeeded') from lk_jobs)::int as succeeded,
         (select count(*) from lk_jobs where run_number <> 1)::int as rerun,
         min(n)::int as fewest, max(n)::int as most
       from (select count(*) as n from lk_outbox group by job_id) e`,
    );
    if (
      store.succeeded !== docs || store.rerun > 0 || store.fewest !== store.most ||
      statuses.succeeded !== docs
    ) {
      throw new Error(
        `${store.succeeded} of ${docs} jobs succeeded in the store, ${store.rerun} ran more ` +
          `than once, ${store.fewest}-${store.most} events per job; worker outcomes ` +
          `${JSON.stringify(statuses)}`,
      );
    }
    return { seconds, statuses, storeFailures: results.flatMap((r) => r.storeFailures) };
  } finally {
    await bench.close();
  }
};

/** Runs the workers bench; returns the exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  let options: {
    workers: number;
    store: string;
    docs: number;
    concurrency: number;
    repeat: number;
    json: boolean;
  };
  try {
    if (args.includes("--help")) {
      console.log(usage);
      return 0;
    }
    const { flags, positional } = parseArgs(args, {
      workers: { type: "integer", min: 1 },
      store: { type: "string" },
      docs: { type: "integer", min: 1 },
      concurrency: { type: "integer", min: 1 },
      repeat: { type: "integer", min: 1 },
      json: { type: "boolean" },
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const store = flags.store as string | undefined;
    if (store === undefined || !isServerStore(store)) {
      throw new UsageError(
        `--store: workers share a PostgreSQL server; expected a postgres:// URL, got ${
          store === undefined ? "none" : `"${store}"`
        }`,
      );
    }
    options = {
      workers: flags.workers as number,
      store,
      docs: (flags.docs as number | undefined) ?? 3000,
      concurrency: (flags.concurrency as number | undefined) ?? 16,
      repeat: (flags.repeat as number | undefined) ?? 3,
      json: flags.json === true,
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n${usage}`);
    return 2;
  }
  const { workers, store, docs, concurrency, repeat, json } = options;
  const seconds: number[] = [];
  const storeFailures: string[] = [];
  for (let i = 0; i < repeat; i++) {
    const r = await round(store, docs, workers, concurrency);
    seconds.push(r.seconds);
    storeFailures.push(...r.storeFailures);
    const others = Object.entries(r.statuses).filter(([s]) => s !== "succeeded");
    console.error(
      `bench: round ${i + 1}/${repeat}: ${workers} workers, ${r.seconds.toFixed(1)} s` +
        (others.length > 0
          ? `; lost races: ${others.map(([s, n]) => `${n} ${s}`).join(", ")}`
          : "") +
        (r.storeFailures.length > 0 ? `; store failures: ${r.storeFailures.join("; ")}` : ""),
    );
  }
  const rates = seconds.map((s) => docs / s);
  const result = {
    docs,
    workers,
    concurrency_per_worker: concurrency,
    kit_docs_per_s: Number((docs / median(seconds)).toFixed(1)),
    kit_docs_per_s_range: [Math.min(...rates), Math.max(...rates)].map((r) => Number(r.toFixed(1))),
    store_failures: storeFailures.length,
  };
  console.log(
    `${docs} synthetic documents, ${workers} worker processes x ${concurrency} jobs on one ` +
      `PostgreSQL server store, median of ${repeat}: ${result.kit_docs_per_s} docs/s ` +
      `(${result.kit_docs_per_s_range.join("-")})`,
  );
  if (json) console.log(JSON.stringify(result));
  return 0;
};

if (import.meta.main) Deno.exit(await main(Deno.args));
