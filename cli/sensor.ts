/**
 * `deno task sensor [--once] [--store DIR|URL] [--lineage DIR|URL] [--events DIR|URL] [--json]`:
 * resumes paused jobs whose gate condition holds (exactly once, even with several sensors) and
 * fails jobs past their gate timeout. Without `--once` it keeps watching: LISTEN/NOTIFY on
 * PostgreSQL, polling as the floor. Lineage goes where each job's run was told to send it,
 * unless `--lineage` / `--events` say otherwise.
 *
 * @module
 */
import { Effect } from "effect";
import { runSensor, type SensorReport } from "../pipelines/sensor.ts";
import { parseArgs } from "./_args.ts";
import {
  defaultLineageDir,
  destinationFlags,
  destinationsFromFlags,
  destinationUsage,
  flushLineage,
  namespaceFromEnv,
  openForCommand,
  storeSpec,
  wantsHelp,
  withUsage,
  workStart,
} from "./_command.ts";
import { runtimeLayer } from "./_runtime.ts";
import * as CommandMetrics from "./_metrics.ts";

const USAGE = `usage: deno task sensor [--once] [--store DIR|URL] [--json]

${destinationUsage}
${CommandMetrics.usage}`;

const describe = (r: SensorReport): string =>
  [
    ...r.resumed.map((o) => `resumed ${o.docId} (${o.jobId}): ${o.status}`),
    ...r.timedOut.map((id) => `timed out ${id}: GateTimedOut`),
    `${r.resumed.length} resumed, ${r.timedOut.length} timed out, ${r.waiting.length} still waiting`,
  ].join("\n");

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("sensor", USAGE, async () => {
    if (wantsHelp(args)) {
      console.log(USAGE);
      return 0;
    }
    const { flags } = parseArgs(args, {
      once: { type: "boolean" },
      store: { type: "string" },
      json: { type: "boolean" },
      ...destinationFlags,
      ...CommandMetrics.flags,
    });
    const given = destinationsFromFlags(flags);
    const spec = storeSpec(flags.store as string | undefined);
    const opened = await openForCommand("sensor", spec);
    if (typeof opened === "number") return opened;
    const { store, config } = opened;
    const since = await workStart(store);
    let failed = 0;
    let metered: CommandMetrics.Endpoint | undefined;
    try {
      metered = await CommandMetrics.start("sensor", CommandMetrics.optionsFrom(flags));
      await Effect.runPromise(
        runSensor(config, {
          ...(flags.once ? { passes: 1 } : {}),
          onPass: (report) => {
            failed += report.resumed.filter((o) => o.status === "failed").length +
              report.timedOut.length;
            console.log(flags.json ? JSON.stringify(report) : describe(report));
          },
        }).pipe(
          Effect.provide(CommandMetrics.layer(metered)),
          Effect.provide(
            runtimeLayer(store, { storeDir: spec, namespace: namespaceFromEnv(Deno.env) }),
          ),
        ),
      );
      return failed > 0 ? 1 : 0;
    } finally {
      await metered?.close();
      await flushLineage(store, { lineageDir: defaultLineageDir(spec), given, since });
      await store.close();
    }
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
