/**
 * `deno task cancel JOB_ID [--reason TEXT] [--tenant ID] [--store DIR|URL]`: cancels a queued,
 * paused or running job. Its open runs end with ABORT (and their CloudEvents), delivered like
 * every command's lineage (where the job's run was told to send it, unless `--lineage` /
 * `--events` say otherwise). Exit 0 when cancelled, 1 when the job had ended already, 2 for usage
 * errors or a job of another tenant.
 *
 * @module
 */
import { Effect } from "effect";
import { JobLedger } from "../pipelines/ledger.ts";
import { cancelJob } from "../pipelines/cancel.ts";
import { parseArgs, UsageError } from "./_args.ts";
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
import { jobOfTenant, tenantFlag, tenantOf } from "./_tenant.ts";

const USAGE = `usage: deno task cancel JOB_ID [--reason TEXT] [--tenant ID] [--store DIR|URL]

  A queued or paused job is cancelled at once; a running one too, and the process running it
  stops at its next stage write. Its open runs end with ABORT. \`run-pipeline --force\` runs a
  cancelled job again.

  --reason TEXT   why, recorded in the job's history and error (default: "cancelled by operator")
  --tenant ID     the tenant the job belongs to (default: default)
${destinationUsage}`;

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("cancel", USAGE, async () => {
    if (wantsHelp(args)) {
      console.log(USAGE);
      return 0;
    }
    const { flags, positional } = parseArgs(args, {
      reason: { type: "string" },
      store: { type: "string" },
      ...tenantFlag,
      ...destinationFlags,
    });
    const given = destinationsFromFlags(flags);
    if (positional.length !== 1) throw new UsageError("expected exactly one JOB_ID");
    const jobId = positional[0];
    const reason = (flags.reason as string | undefined) ?? "cancelled by operator";
    const spec = storeSpec(flags.store as string | undefined);
    const opened = await openForCommand("cancel", spec);
    if (typeof opened === "number") return opened;
    const { store, config } = opened;
    const since = await workStart(store);
    try {
      return await Effect.runPromise(
        Effect.gen(function* () {
          const ledger = yield* JobLedger;
          const job = jobOfTenant("cancel", jobId, yield* ledger.get(jobId), tenantOf(flags));
          if (!job) return 2;
          const pipeline = config.pipeline(job.pipeline);
          if (!pipeline) {
            console.error(
              `cancel: job ${jobId} runs pipeline "${job.pipeline}", which is not loaded`,
            );
            return 2;
          }
          const cancelled = yield* cancelJob(jobId, pipeline, reason);
          if (cancelled === undefined) {
            const now = yield* ledger.get(jobId);
            console.error(`cancel: job ${jobId} is ${now?.status ?? "gone"}; nothing to cancel`);
            return 1;
          }
          console.log(`${job.docId} (${jobId}): cancelled (was ${cancelled.from})`);
          return 0;
        }).pipe(
          Effect.provide(
            runtimeLayer(store, { storeDir: spec, namespace: namespaceFromEnv(Deno.env) }),
          ),
        ),
      );
    } finally {
      await flushLineage(store, { lineageDir: defaultLineageDir(spec), given, since });
      await store.close();
    }
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
