/**
 * `deno task bench:relay`: how fast the relay delivers the outbox to a local HTTP sink, with the
 * batch endpoint (many events per request) and one event per request.
 *
 * Each mode starts from a fresh in-memory store holding the same events (`--runs` runs of
 * `--events / --runs` events each, as a pipeline leaves them, 1.5 KB on average as the kit's
 * are), flushes them all to a sink served on 127.0.0.1 in this process, and checks that every
 * event arrived once and each run's events in outbox order. Prints a table; `--json` ends with a
 * one-line summary.
 *
 * Usage: deno task bench:relay [--events N] [--runs N] [--json]
 *
 * @module
 */
import { Effect } from "effect";
import { parseArgs, UsageError } from "../cli/_args.ts";
import { openEmbeddedStore } from "../adapters/store/store.ts";
import { makeHttpSink } from "../lineage/http_transport.ts";
import { flush } from "../lineage/relay.ts";
import type { OutboxEvent } from "../lineage/outbox.ts";

const usage = `usage: deno task bench:relay [--events N] [--runs N] [--json]

  --events N   events in the outbox (default: 20000)
  --runs N     runs they belong to; each run's order is checked at the sink (default: 500)
  --json       end with one line of JSON
  --help       this text`;

const optionsOf = (args: ReadonlyArray<string>) => {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    const { flags, positional } = parseArgs(args, {
      events: { type: "integer", min: 1 },
      runs: { type: "integer", min: 1 },
      json: { type: "boolean" },
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
    return {
      events: (flags.events as number | undefined) ?? 20_000,
      runs: (flags.runs as number | undefined) ?? 500,
      json: flags.json === true,
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench:relay: ${e.message}\n${usage}`);
    Deno.exit(2);
  }
};

const options = optionsOf(Deno.args);

/** What the sink saw: each run's event numbers in arrival order, and the requests. */
interface Received {
  readonly byRun: Map<string, number[]>;
  requests: number;
}

const receive = (received: Received, event: { run: { runId: string }; n: number }) => {
  const seen = received.byRun.get(event.run.runId);
  if (seen) seen.push(event.n);
  else received.byRun.set(event.run.runId, [event.n]);
};

// A sink that takes everything: one event per POST, or a JSON array on `/batch`.
const serveSink = (received: Received) =>
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    received.requests++;
    const body = await request.json();
    if (Array.isArray(body)) { for (const event of body) receive(received, event); }
    else receive(received, body);
    return new Response(null, { status: 201 });
  });

const PRODUCER = "https://jsr.io/@medkg/lineage-kit/0.1.0";
const SPEC = "https://openlineage.io/spec";

// A dataset as a stage's START names it, with the facets the kit gives it.
const dataset = (name: string) => ({
  namespace: "file",
  name: `/bench.public.lk_checkpoints.${name}`,
  facets: {
    dataSource: {
      _producer: PRODUCER,
      _schemaURL: `${SPEC}/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet`,
      name: "file",
    },
    datasetType: {
      _producer: PRODUCER,
      _schemaURL:
        `${SPEC}/facets/1-0-1/DatasetTypeDatasetFacet.json#/$defs/DatasetTypeDatasetFacet`,
      datasetType: "TABLE",
      subType: "CHECKPOINT",
    },
    documentation: {
      _producer: PRODUCER,
      _schemaURL:
        `${SPEC}/facets/1-1-0/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet`,
      description: "What a stage handed to the next ones: its rows of lk_checkpoints, one per job.",
    },
  },
});

// Events the size of the kit's own (an OpenLineage START of a stage is about 3 KB, the average
// event 1.5 KB): the bytes read from the outbox and sent are most of what a flush costs.
const eventsOf = (run: number, count: number): OutboxEvent[] =>
  Array.from({ length: count }, (_, n) => ({
    channel: "openlineage",
    runId: `run-${run}`,
    payload: {
      eventType: n === 0 ? "START" : "RUNNING",
      eventTime: new Date(0).toISOString(),
      producer: PRODUCER,
      schemaURL: `${SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent`,
      run: {
        runId: `run-${run}`,
        facets: {
          processing_engine: {
            _producer: PRODUCER,
            _schemaURL:
              `${SPEC}/facets/1-1-1/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet`,
            version: "0.1.0",
            name: "lineage-kit",
          },
        },
      },
      job: { namespace: "bench", name: `job-${run}` },
      inputs: n % 2 === 0 ? [dataset("in")] : [],
      outputs: n % 2 === 0 ? [dataset("out")] : [],
      n,
    },
  }));

const measure = async (batch: boolean) => {
  const store = await openEmbeddedStore();
  const received: Received = { byRun: new Map(), requests: 0 };
  const server = serveSink(received);
  try {
    const perRun = Math.max(1, Math.floor(options.events / options.runs));
    for (let run = 0; run < options.runs; run++) {
      await Effect.runPromise(store.ledger.appendEvents(`job-${run}`, eventsOf(run, perRun)));
    }
    const sink = makeHttpSink({
      type: "http",
      url: `http://127.0.0.1:${server.addr.port}`,
      batch,
      name: batch ? "bench-batch" : "bench-single",
    });
    const start = performance.now();
    const [report] = await Effect.runPromise(flush([sink]).pipe(Effect.provide(store.layer)));
    const seconds = (performance.now() - start) / 1000;
    const total = perRun * options.runs;
    const ordered = [...received.byRun.values()].every((ns) =>
      ns.length === perRun && ns.every((n, i) => n === i)
    );
    if (report.delivered !== total || !ordered) {
      throw new Error(
        `bench:relay: ${report.delivered} of ${total} delivered, order kept: ${ordered}` +
          (report.error ? ` (${report.error})` : ""),
      );
    }
    return { events: total, seconds, requests: received.requests, eventsPerS: total / seconds };
  } finally {
    await server.shutdown();
    await store.close();
  }
};

const batched = await measure(true);
const single = await measure(false);
const row = (name: string, r: typeof batched) =>
  `${name.padEnd(24)} ${String(r.events).padStart(7)} ${String(r.requests).padStart(9)} ` +
  `${r.seconds.toFixed(2).padStart(8)} ${r.eventsPerS.toFixed(0).padStart(9)}`;
console.log(`outbox → local HTTP sink, ${options.runs} runs, per-run order checked\n`);
console.log(
  `${"mode".padEnd(24)} ${"events".padStart(7)} ${"requests".padStart(9)} ` +
    `${"seconds".padStart(8)} ${"events/s".padStart(9)}`,
);
console.log(row("batch endpoint", batched));
console.log(row("one event per request", single));
if (options.json) {
  console.log(JSON.stringify({
    events: batched.events,
    runs: options.runs,
    batch_events_per_s: Number(batched.eventsPerS.toFixed(1)),
    single_events_per_s: Number(single.eventsPerS.toFixed(1)),
    batch_requests: batched.requests,
    single_requests: single.requests,
  }));
}
