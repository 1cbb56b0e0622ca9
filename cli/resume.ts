/**
 * `deno task resume JOB_ID [--force] [--store DIR|URL] [--tenant ID] [--lineage …] [--events …]`:
 * continues a job paused at a gate. It refuses, saying why, when the gate's condition does not
 * hold, unless `--force`. Lineage goes where the job's run was told to send it, unless
 * `--lineage` / `--events` say otherwise.
 *
 * @module
 */
import { Effect } from "effect";
import { JobLedger } from "../pipelines/ledger.ts";
import { runJob } from "../pipelines/runner.ts";
import { evaluateCondition, ledgerFieldsOf } from "../pipelines/topology.ts";
import { describeCondition } from "../pipelines/gate.ts";
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

const USAGE = `usage: deno task resume JOB_ID [--force] [--store DIR|URL] [--tenant ID]

  --force       open the gate even if its condition does not hold
  --tenant ID   the tenant the job belongs to (default: default); another tenant's job is refused
${destinationUsage}`;

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("resume", USAGE, async () => {
    if (wantsHelp(args)) {
      console.log(USAGE);
      return 0;
    }
    const { flags, positional } = parseArgs(args, {
      force: { type: "boolean" },
      store: { type: "string" },
      ...tenantFlag,
      ...destinationFlags,
    });
    if (positional.length !== 1) throw new UsageError("expected exactly one JOB_ID");
    const jobId = positional[0];
    const given = destinationsFromFlags(flags);
    const spec = storeSpec(flags.store as string | undefined);
    const opened = await openForCommand("resume", spec);
    if (typeof opened === "number") return opened;
    const { store, config } = opened;
    const since = await workStart(store);
    try {
      return await Effect.runPromise(
        Effect.gen(function* () {
          const ledger = yield* JobLedger;
          const job = jobOfTenant("resume", jobId, yield* ledger.get(jobId), tenantOf(flags));
          if (!job) return 2;
          if (job.status !== "paused") {
            console.error(`resume: job ${jobId} is ${job.status}, not paused at a gate`);
            return 1;
          }
          const pipeline = config.pipeline(job.pipeline);
          const gate = pipeline && job.currentStage
            ? pipeline.stage(job.currentStage).gate
            : undefined;
          if (!pipeline || !gate) {
            console.error(
              `resume: job ${jobId} is paused at "${job.currentStage}", which is not a gate of ${job.pipeline}`,
            );
            return 1;
          }
          const fields = ledgerFieldsOf(job);
          if (!evaluateCondition(gate.condition, fields) && !flags.force) {
            console.error(
              `resume: gate ${job.currentStage}: ${
                describeCondition(gate.condition)
              } does not hold ` +
                `(${
                  Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")
                }); ` +
                "use --force to open it anyway",
            );
            return 1;
          }
          const outcome = yield* runJob(job, pipeline, {
            resume: true,
            forceGate: flags.force === true,
          });
          console.log(
            `${job.docId} (${jobId}): ${outcome.status}${
              outcome.error
                ? `: ${outcome.error.stage}: ${outcome.error.type}: ${outcome.error.message}`
                : ""
            }`,
          );
          return outcome.status === "failed" ? 1 : 0;
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
