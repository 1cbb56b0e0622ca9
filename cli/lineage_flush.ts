/**
 * `deno task lineage flush`: delivers the lineage events still pending in a store's outbox to the
 * configured sinks (the same configuration `run-pipeline` uses: `--lineage`, `OPENLINEAGE_*`,
 * `openlineage.yml` for OpenLineage events, `--events` for CloudEvents, both as `run-pipeline`
 * defaults them) and prints what each sink got and still lacks. Delivery resumes where the
 * last one stopped, even after a crash; nothing a sink acknowledged is sent to it again.
 *
 * Exit status: 0 when nothing is left pending, 1 otherwise, 2 for usage or configuration errors.
 *
 * @module
 */
import { Effect } from "effect";
import { describeLineageConfig, resolveLineageConfig } from "../lineage/config.ts";
import { commandSinks } from "../kit/lineage_sinks.ts";
import { eventsSinkFor } from "../kit/events_sink.ts";
import { flush, flushWithDeadline, type SinkReport } from "../lineage/relay.ts";
import { storeExists } from "../adapters/store/store.ts";
import { type FlagSpec, parseArgs, UsageError } from "./_args.ts";
import { table } from "./_output.ts";
import { defaultLineageDir, openStoreOrExplain, storeSpec } from "./_command.ts";

const USAGE = `usage: deno task lineage flush [options]

  --store DIR|URL      the store: a directory (default: .lineage-kit) or postgres:// URL
  --lineage DIR|URL    where lineage goes: a directory (JSONL files), an http(s):// Marquez
                       URL or kafka://host:port/topic (default: the OPENLINEAGE_* variables,
                       then openlineage.yml, then <store>/lineage)
  --events DIR|kafka://host:port[/topic]
                       where CloudEvents go (default: beside the OpenLineage files when those
                       are JSONL, else <store>/lineage; Kafka topic default
                       orchestration.events.v1)
  --max-wait SECONDS   stop delivering after this long; the rest stays pending
  --json               print a JSON report as the last line of stdout
  --help               this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  store: { type: "string" },
  lineage: { type: "string" },
  events: { type: "string" },
  "max-wait": { type: "integer", min: 1 },
  json: { type: "boolean" },
  help: { type: "boolean" },
};

const printReports = (reports: ReadonlyArray<SinkReport>) => {
  console.log(table(
    ["sink", "delivered", "pending", "dead-lettered", "error"],
    reports.map((r) => [
      r.sink,
      String(r.delivered),
      String(r.pending),
      String(r.deadLettered),
      r.error ?? "",
    ]),
  ));
};

/** Runs the command; returns its exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  let flags;
  try {
    ({ flags } = parseArgs(args, flagSpecs));
    // A bad target is a usage error before the store is opened.
    if (typeof flags.events === "string") eventsSinkFor(flags.events, Deno.env.toObject());
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lineage flush: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const storeDir = storeSpec(flags.store as string | undefined);
  const config = await Effect.runPromise(Effect.result(resolveLineageConfig({
    env: Deno.env,
    cwd: Deno.cwd(),
    flag: flags.lineage as string | undefined,
  })));
  if (config._tag === "Failure") {
    for (const p of config.failure.problems) console.error(`${p.where}: ${p.message}`);
    return 2;
  }
  if (!(await storeExists(storeDir))) {
    console.error(`lineage flush: no store at ${storeDir} (run \`deno task run-pipeline\` first)`);
    return 2;
  }
  const lineageDir = defaultLineageDir(storeDir);
  const events = flags.events as string | undefined;
  const disabled = config.success.transports.length === 0 && events === undefined;
  console.log(describeLineageConfig(config.success));
  if (events !== undefined) console.log(`CloudEvents → ${events}`);
  // Lineage disabled and no --events: nothing to deliver to.
  if (disabled) return 0;
  const { sinks, close } = commandSinks(config.success, {
    lineageDir,
    ...(events === undefined ? {} : { events }),
  });
  const maxWait = flags["max-wait"] as number | undefined;
  const store = await openStoreOrExplain("lineage flush", storeDir);
  if (typeof store === "number") {
    await close();
    return store;
  }
  try {
    const delivery = maxWait === undefined
      ? flush(sinks)
      : flushWithDeadline(sinks, { maxWaitMs: maxWait * 1000 });
    const result = await Effect.runPromise(
      Effect.result(delivery.pipe(Effect.provide(store.layer))),
    );
    if (result._tag === "Failure") {
      console.error(`lineage flush: ${result.failure.operation}: ${result.failure.message}`);
      return 1;
    }
    console.log();
    printReports(result.success);
    if (flags.json) console.log(JSON.stringify({ sinks: result.success }));
    return result.success.every((r) => r.pending === 0) ? 0 : 1;
  } finally {
    await close();
    await store.close();
  }
};
