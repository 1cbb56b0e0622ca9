/**
 * `deno task worker [--store DIR|URL] [--tenant ID] [--concurrency N] [--once] [--poll SECONDS]
 * [--lineage DIR|URL] [--events DIR|URL] [--allow-private-network] [--json]`: runs one tenant's
 * queued jobs (`run-pipeline --enqueue-only`) and jobs a dead process left running, next to any
 * number of other workers on the same PostgreSQL store.
 * A new job starts as soon as one ends. Without `--once` it keeps waiting for work until
 * interrupted, woken at once when a job is enqueued (the store's notification) and looking again
 * every `--poll` seconds in any case (the first Ctrl-C
 * lets the jobs in flight finish, a second interrupts them). Lineage is delivered while it works,
 * where each job's run was told to send it unless `--lineage` / `--events` say otherwise.
 *
 * @module
 */
import { Duration, Effect, Fiber } from "effect";
import { runWorker } from "../pipelines/worker.ts";
import { defaultJobConcurrency, type JobOutcome } from "../pipelines/runner.ts";
import { flushWithDeadline, runRelay } from "../lineage/relay.ts";
import { resolveLineageConfig } from "../lineage/config.ts";
import { parseArgs } from "./_args.ts";
import {
  defaultLineageDir,
  destinationFlags,
  destinationsFromFlags,
  destinationUsage,
  openForCommand,
  storeSpec,
  wantsHelp,
  withUsage,
  workSinks,
  workStart,
} from "./_command.ts";
import type { CommandSinks } from "../kit/lineage_sinks.ts";
import { tenantFlag, tenantOf } from "./_tenant.ts";
import { runtimeLayer } from "./_runtime.ts";
import { stageFlagsFrom, stageFlagSpecs, stageFlagsUsage } from "./_stage_flags.ts";
import { checkServices } from "../kit/load_kit.ts";
import { SetupError } from "../kit/setup_error.ts";
import { httpIngestOptionsFromEnv } from "../adapters/sources/http_ingest.ts";
import * as CommandMetrics from "./_metrics.ts";
import { onStopSignals } from "./_signals.ts";

const USAGE = `usage: deno task worker [--store DIR|URL] [--tenant ID] [--concurrency N] [--once]
                        [--poll SECONDS] [--allow-private-network] [--json]

  --tenant ID       run this tenant's jobs only (default: default)
  --concurrency N   jobs run at once (default: ${defaultJobConcurrency})
  --once            stop when no job is left to run (default: keep looking until interrupted)
  --poll SECONDS    how often to look for new jobs when there are none; an enqueued job
                    wakes the worker at once (default: 2)
${destinationUsage}
${stageFlagsUsage}
${CommandMetrics.usage}`;

const line = (o: JobOutcome): string =>
  `${o.status} ${o.docId} (${o.jobId})${
    o.error ? `: ${o.error.stage}: ${o.error.type}: ${o.error.message}` : ""
  }${o.gate ? ` at ${o.gate}` : ""}`;

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("worker", USAGE, async () => {
    if (wantsHelp(args)) {
      console.log(USAGE);
      return 0;
    }
    const { flags } = parseArgs(args, {
      store: { type: "string" },
      concurrency: { type: "integer", min: 1 },
      once: { type: "boolean" },
      poll: { type: "integer", min: 1 },
      "allow-private-network": { type: "boolean" },
      json: { type: "boolean" },
      ...tenantFlag,
      ...destinationFlags,
      ...stageFlagSpecs,
      ...CommandMetrics.flags,
    });
    const given = destinationsFromFlags(flags);
    const spec = storeSpec(flags.store as string | undefined);
    const lineage = await Effect.runPromise(
      Effect.result(resolveLineageConfig({ env: Deno.env, cwd: Deno.cwd() })),
    );
    if (lineage._tag === "Failure") {
      for (const p of lineage.failure.problems) console.error(`worker: ${p.where}: ${p.message}`);
      return 2;
    }
    const opened = await openForCommand("worker", spec, stageFlagsFrom(flags));
    if (typeof opened === "number") return opened;
    const { store, config, kit } = opened;
    try {
      // A GPU server that is down or a model it does not serve stops the worker before any job.
      await checkServices(config.pipelines);
    } catch (e) {
      await store.close();
      if (e instanceof SetupError) {
        console.error(`worker: ${e.message}`);
        return 2;
      }
      throw e;
    }
    // Where the lineage of the jobs it finds goes: recorded with them, unless the flags say.
    const work = { lineageDir: defaultLineageDir(spec), given, since: await workStart(store) };
    let sinks: CommandSinks;
    try {
      sinks = await workSinks(store, work);
    } catch (e) {
      await store.close();
      if (e instanceof SetupError) {
        for (const l of e.message.split("\n")) console.error(`worker: ${l}`);
        return 2;
      }
      throw e;
    }
    let finalSinks: CommandSinks | undefined;
    // The first Ctrl-C lets the jobs in flight finish; a second interrupts them (their runs end
    // with ABORT).
    const stop = new AbortController();
    const halt = new AbortController();
    const onSignal = () => {
      // A third: the interrupted runs could not even be closed (the store hangs): leave now;
      // their leases lapse and another worker takes the jobs over.
      if (halt.signal.aborted) Deno.exit(130);
      if (stop.signal.aborted) return halt.abort();
      stop.abort();
      console.error("worker: stopping after the jobs in flight (again to interrupt them)");
    };
    const stopListening = onStopSignals(onSignal);
    let metered: CommandMetrics.Endpoint | undefined;
    try {
      metered = await CommandMetrics.start("worker", CommandMetrics.optionsFrom(flags));
      const run = Effect.runPromise(
        Effect.gen(function* () {
          const stopRelay = new AbortController();
          // The relay runs beside the jobs, as in run-pipeline: a slow sink holds no stage back.
          const relay = yield* Effect.forkChild(
            runRelay(sinks.sinks, {
              interval: "2 seconds",
              signal: stopRelay.signal,
              retention: Duration.millis(store.outboxRetentionMs),
            }),
          );
          const report = yield* runWorker(config, {
            concurrency: (flags.concurrency as number | undefined) ?? defaultJobConcurrency,
            once: flags.once === true,
            pollInterval: `${(flags.poll as number | undefined) ?? 2} seconds`,
            signal: stop.signal,
            tenantId: tenantOf(flags),
            onDone: (o) => {
              if (!flags.json) console.log(line(o));
            },
          });
          stopRelay.abort();
          yield* Fiber.join(relay);
          // Jobs queued after it started may name destinations of their own.
          const final = yield* Effect.tryPromise({
            try: () => workSinks(store, work),
            catch: (e) => (e instanceof Error ? e : new Error(String(e))),
          }).pipe(
            Effect.catch((e) =>
              Effect.sync(() => {
                console.error(`worker: ${e.message}; delivering where the jobs found first go`);
                return sinks;
              })
            ),
          );
          if (final !== sinks) finalSinks = final;
          const delivered = yield* flushWithDeadline(final.sinks, { maxWaitMs: 30_000 });
          return { ...report, delivered };
        }).pipe(
          Effect.provide(CommandMetrics.layer(metered, sinks.sinks)),
          Effect.provide(runtimeLayer(store, {
            storeDir: spec,
            namespace: lineage.success.namespace,
            allowPrivateNetwork: flags["allow-private-network"] === true,
            sources: kit.sources,
            http: { ...httpIngestOptionsFromEnv(Deno.env.toObject()), limits: kit.inputLimits },
            ...(lineage.success.parent ? { parentRun: lineage.success.parent } : {}),
          })),
        ),
        { signal: halt.signal },
      );
      const report = await run.catch((e) => {
        if (!halt.signal.aborted) throw e;
        return undefined;
      });
      if (report === undefined) {
        console.error(
          "worker: interrupted; the runs in flight ended with ABORT (`deno task lineage flush` " +
            "delivers their lineage)",
        );
        return 130;
      }
      const jobs = { succeeded: 0, failed: 0, paused: 0, held: 0, cancelled: 0 };
      for (const o of report.outcomes) if (!o.notRun && o.status !== "skipped") jobs[o.status]++;
      for (const r of report.delivered) {
        if (r.pending > 0) {
          console.error(`lineage sink ${r.sink}: ${r.pending} events still pending`);
        }
      }
      for (const f of report.storeFailures) console.error(`worker: the store failed: ${f}`);
      console.log(
        flags.json
          ? JSON.stringify({ jobs, storeFailures: report.storeFailures.length })
          : `${jobs.succeeded} succeeded, ${jobs.failed} failed, ${jobs.paused} paused` +
            (jobs.held > 0 ? `, ${jobs.held} held by another process` : "") +
            (jobs.cancelled > 0 ? `, ${jobs.cancelled} cancelled` : ""),
      );
      return jobs.failed > 0 || report.storeFailures.length > 0 ? 1 : 0;
    } finally {
      await metered?.close();
      stopListening();
      await finalSinks?.close();
      await sinks.close();
      await store.close();
    }
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
