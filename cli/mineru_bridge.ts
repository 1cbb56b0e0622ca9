/**
 * `deno task mineru-bridge [--mineru-url URL] [--once] [--store DIR|URL]`: sends the PDFs of jobs
 * paused at their gate to MinerU, stores the parsed documents and sets `pdf_ir_ready` (the sensor
 * then resumes them). GPU failures fail the job at once. The URL may come from `MINERU_URL`.
 *
 * @module
 */
import { Duration, Effect, Layer } from "effect";
import { type BridgeReport, bridgeTick } from "../pipelines/mineru_bridge.ts";
import { pollIntervalMs } from "../pipelines/sensor.ts";
import { parseArgs, UsageError } from "./_args.ts";
import {
  defaultLineageDir,
  flushLineage,
  namespaceFromEnv,
  openForCommand,
  storeSpec,
  withUsage,
} from "./_command.ts";
import { mineruUrlFrom, parserLayer, runtimeLayer } from "./_runtime.ts";

const USAGE =
  "usage: deno task mineru-bridge [--mineru-url URL] [--via http] [--once] [--store DIR|URL] [--json]";

const describe = (r: BridgeReport): string =>
  [
    ...r.parsed.map((id) => `parsed ${id}`),
    ...r.failed.map((f) => `failed ${f.jobId}: ${f.reason}: ${f.error}`),
    `${r.parsed.length} parsed, ${r.failed.length} failed`,
  ].join("\n");

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("mineru-bridge", USAGE, async () => {
    const { flags } = parseArgs(args, {
      "mineru-url": { type: "string" },
      via: { type: "string" },
      once: { type: "boolean" },
      store: { type: "string" },
      json: { type: "boolean" },
    });
    const via = (flags.via as string | undefined) ?? "http";
    if (via !== "http") {
      throw new UsageError(`--via: "${via}" is not supported by this command (supported: http)`);
    }
    const mineruUrl = mineruUrlFrom(
      flags["mineru-url"] as string | undefined,
      Deno.env.get("MINERU_URL"),
    );
    if (!mineruUrl) {
      throw new UsageError("a MinerU URL is required (--mineru-url URL or MINERU_URL)");
    }
    const spec = storeSpec(flags.store as string | undefined);
    const opened = await openForCommand("mineru-bridge", spec);
    if (typeof opened === "number") return opened;
    const { store, config } = opened;
    let failed = 0;
    const pass = bridgeTick(config).pipe(
      Effect.tap((report) =>
        Effect.sync(() => {
          failed += report.failed.length;
          console.log(flags.json ? JSON.stringify(report) : describe(report));
        })
      ),
    );
    const program = flags.once
      ? pass
      : Effect.forever(Effect.andThen(pass, Effect.sleep(Duration.millis(pollIntervalMs(config)))));
    try {
      await Effect.runPromise(program.pipe(
        Effect.provide(Layer.mergeAll(
          runtimeLayer(store, { storeDir: spec, namespace: namespaceFromEnv(Deno.env) }),
          parserLayer(mineruUrl),
        )),
      ));
      return failed > 0 ? 1 : 0;
    } finally {
      await flushLineage(store, defaultLineageDir(spec));
      await store.close();
    }
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
