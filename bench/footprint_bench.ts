/**
 * `deno task bench --footprint`: what a long run leaves on disk and holds in memory. N synthetic
 * documents (the auto pipeline with trivial stages, as `deno task bench` runs it) go through a
 * fresh embedded store on disk in waves, while the relay delivers their lineage to a local HTTP
 * sink (batch endpoint) with retention 0, as `run-pipeline` with `outbox.retention_days: 0` does
 * (`--retention-days` for another: delivered events are then kept, as the default 7 days keeps
 * them).
 * After each wave it records the documents done, the process's resident memory, the store
 * folder's size, its WAL and the outbox; at the end, the folder's size per document once the
 * store closed (relay drained, outbox pruned, WAL checkpointed), and each table's share.
 *
 * Usage: deno task bench --footprint [--docs N] [--wave N] [--concurrency N] [--retention-days N]
 *        [--json]
 *
 * @module
 */
import { Duration, Effect, Fiber, Layer } from "effect";
import { join } from "node:path";
import { parseArgs, UsageError } from "../cli/_args.ts";
import { loadPipelines } from "../kit/load_pipelines.ts";
import { PipelineRuntime } from "../pipelines/runtime.ts";
import { layer as resilienceLayer } from "../policies/resilience.ts";
import { runJobs } from "../pipelines/runner.ts";
import { embeddedDbDir, openEmbeddedStore } from "../adapters/store/store.ts";
import { storeFootprint } from "../adapters/store/store_footprint.ts";
import { makeHttpSink } from "../lineage/http_transport.ts";
import { flush, runRelay } from "../lineage/relay.ts";
import { syntheticRequest, trivialStages } from "./_trivial_stages.ts";

const usage = `usage: deno task bench --footprint [--docs N] [--wave N] [--concurrency N]
                                  [--retention-days N] [--json]

  --docs N          synthetic documents in all (default: 20000)
  --wave N          documents enqueued and run at a time; a sample is taken after each
                    (default: 1000)
  --concurrency N   jobs in flight at once (default: 64)
  --retention-days N
                    how long the outbox keeps delivered events (default: 0, deleted once every
                    sink has them; the kit's own default is 7)
  --json            end with one line of JSON
  --help            this text`;

interface Options {
  readonly docs: number;
  readonly wave: number;
  readonly concurrency: number;
  readonly retentionMs: number;
  readonly json: boolean;
}

const optionsOf = (args: ReadonlyArray<string>): Options | number => {
  try {
    const { flags, positional } = parseArgs(args.filter((a) => a !== "--footprint"), {
      docs: { type: "integer", min: 1 },
      wave: { type: "integer", min: 1 },
      concurrency: { type: "integer", min: 1 },
      "retention-days": { type: "integer", min: 0, max: 36_500 },
      json: { type: "boolean" },
      help: { type: "boolean" },
    });
    if (flags.help) {
      console.log(usage);
      return 0;
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
    return {
      docs: (flags.docs as number | undefined) ?? 20_000,
      wave: (flags.wave as number | undefined) ?? 1_000,
      concurrency: (flags.concurrency as number | undefined) ?? 64,
      retentionMs: ((flags["retention-days"] as number | undefined) ?? 0) * 86_400_000,
      json: flags.json === true,
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n${usage}`);
    return 2;
  }
};

/**
 * Bytes of every file under `dir`. A file may go between listing and sizing it (a checkpoint
 * removing a WAL segment): it counts for nothing.
 */
const folderBytes = async (dir: string): Promise<number> => {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) total += await folderBytes(path);
    else if (entry.isFile) {
      total += await Deno.stat(path).then((s) => s.size, (e) => {
        if (e instanceof Deno.errors.NotFound) return 0;
        throw e;
      });
    }
  }
  return total;
};

const mb = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));
const kbPerDoc = (bytes: number, docs: number) => Number((bytes / 1024 / docs).toFixed(1));

interface Sample {
  readonly docs: number;
  readonly seconds: number;
  readonly rss_mb: number;
  readonly folder_mb: number;
  readonly wal_mb: number | null;
  readonly outbox_pending: number;
  readonly outbox_delivered: number;
}

// A sink that takes every batch and counts the events. A request whose body cannot be read was
// given up by the relay (its timeout ran out on a loaded machine), which sends it again.
const serveSink = (received: { events: number }) =>
  Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return new Response(null, { status: 400 });
    }
    received.events += Array.isArray(body) ? body.length : 1;
    return new Response(null, { status: 201 });
  });

const tableSizes = async (client: { query: <T>(sql: string) => Promise<T[]> }) =>
  await client.query<{ name: string; bytes: string | number }>(
    `select c.relname as name, pg_total_relation_size(c.oid)::bigint as bytes
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and n.nspname = 'public' and c.relname like 'lk\\_%'
     order by 2 desc limit 8`,
  );

/** Runs the footprint bench; returns the exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  const options = optionsOf(args);
  if (typeof options === "number") return options;
  const config = await Effect.runPromise(loadPipelines({ stages: trivialStages }));
  const pipeline = config.pipeline("auto")!;
  const scratch = await Deno.makeTempDir({ prefix: "lk-footprint-" });
  const received = { events: 0 };
  const server = serveSink(received);
  const sink = makeHttpSink({
    type: "http",
    url: `http://127.0.0.1:${server.addr.port}`,
    batch: true,
    name: "footprint-sink",
  });
  try {
    const store = await openEmbeddedStore(scratch, { outboxRetentionMs: options.retentionMs });
    const layer = Layer.mergeAll(
      store.layer,
      resilienceLayer,
      Layer.succeed(PipelineRuntime, {
        namespace: "lineage-kit-bench",
        store: { namespace: "file", prefix: "/bench" },
      }),
    );
    const samples: Sample[] = [];
    let tables: Array<{ name: string; bytes: string | number }> = [];
    const started = performance.now();
    try {
      const relay = Effect.runFork(
        runRelay([sink], {
          interval: Duration.millis(200),
          retention: Duration.millis(options.retentionMs),
        }).pipe(
          Effect.provide(store.layer),
        ),
      );
      for (let done = 0; done < options.docs;) {
        const size = Math.min(options.wave, options.docs - done);
        const requests = Array.from({ length: size }, (_, i) => syntheticRequest(done + i));
        const jobs = await Effect.runPromise(
          Effect.forEach(requests, (request) =>
            store.ledger.enqueue({
              tenantId: "bench",
              request,
              pipeline: pipeline.name,
              pipelineVersion: pipeline.version,
            }).pipe(Effect.map(({ job }) => ({ job, pipeline }))), { concurrency: 256 }),
        );
        const outcomes = await Effect.runPromise(
          runJobs(jobs, { concurrency: options.concurrency }).pipe(Effect.provide(layer)),
        );
        const failed = outcomes.filter((o) => o.status !== "succeeded").length;
        if (failed > 0) throw new Error(`${failed} bench jobs did not succeed`);
        done += size;
        const footprint = await Effect.runPromise(storeFootprint(store.client));
        const sample: Sample = {
          docs: done,
          seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
          rss_mb: mb(Deno.memoryUsage().rss),
          folder_mb: mb(await folderBytes(scratch)),
          wal_mb: footprint.walBytes === null ? null : mb(footprint.walBytes),
          outbox_pending: footprint.outbox.pending,
          outbox_delivered: footprint.outbox.delivered,
        };
        samples.push(sample);
        console.error(
          `bench: ${sample.docs} documents, ${sample.seconds} s: rss ${sample.rss_mb} MB, ` +
            `folder ${sample.folder_mb} MB (WAL ${sample.wal_mb} MB), outbox ` +
            `${sample.outbox_pending} pending / ${sample.outbox_delivered} delivered`,
        );
      }
      await Effect.runPromise(Fiber.interrupt(relay));
      const [report] = await Effect.runPromise(flush([sink]).pipe(Effect.provide(store.layer)));
      if (report.error) throw new Error(`the last flush failed: ${report.error}`);
      await store.prune();
      tables = await tableSizes(store.client);
    } finally {
      await store.close();
    }
    const finalBytes = await folderBytes(embeddedDbDir(scratch));
    const result = {
      docs: options.docs,
      concurrency: options.concurrency,
      events_delivered: received.events,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      store_mb: mb(finalBytes),
      store_kb_per_doc: kbPerDoc(finalBytes, options.docs),
      peak_sampled_rss_mb: Math.max(...samples.map((s) => s.rss_mb)),
      tables_kb_per_doc: Object.fromEntries(
        tables.map((t) => [t.name, kbPerDoc(Number(t.bytes), options.docs)]),
      ),
      samples,
    };
    console.log(
      `${options.docs} synthetic documents on a fresh embedded store, relay live with retention ` +
        `${options.retentionMs / 86_400_000} days: ${received.events} events delivered in ` +
        `${result.seconds} s`,
    );
    console.log(
      `store after close: ${result.store_mb} MB, ${result.store_kb_per_doc} KB per document`,
    );
    for (const t of tables) {
      console.log(`  ${t.name.padEnd(28)} ${kbPerDoc(Number(t.bytes), options.docs)} KB/doc`);
    }
    console.log(`resident memory after each wave (MB): ${samples.map((s) => s.rss_mb).join(", ")}`);
    if (options.json) console.log(JSON.stringify(result));
    return 0;
  } finally {
    await server.shutdown();
    await Deno.remove(scratch, { recursive: true });
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
