/**
 * `deno task lineage show RUN_ID`: one pipeline run's stage attempts in the order they started,
 * with attempt numbers, durations, statuses and error messages. A unique prefix or suffix of the
 * run id (at least 8 characters) is enough.
 *
 * Exit status: 0; 1 when no run (or more than one) matches; 2 for usage errors or no store.
 *
 * @module
 */
import { formatDuration } from "../lineage/graph_render.ts";
import {
  matchRunId,
  type RunTimeline,
  runTimeline,
  summarizeRuns,
} from "../lineage/lineage_view.ts";
import { type FlagSpec, parseArgs, UsageError } from "./_args.ts";
import { withUsage } from "./_command.ts";
import { loadLineageEvents, tenantFlag, tenantOf, tenantUsage } from "./_lineage_events.ts";
import { table } from "./_output.ts";

const USAGE = `usage: deno task lineage show RUN_ID [options]

  RUN_ID            a pipeline run id, or a unique prefix or suffix of one (8 characters or more)
  --store DIR|URL   the store: a directory (default: .lineage-kit) or postgres:// URL
${tenantUsage}
  --json            print {"run": {...}, "stages": [...]} instead of text
  --help            this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  store: { type: "string" },
  ...tenantFlag,
  json: { type: "boolean" },
  help: { type: "boolean" },
};

const print = ({ run, stages }: RunTimeline): void => {
  console.log(table(["run", run.runId], [
    ["pipeline", run.pipeline],
    ["document", run.docId ?? "?"],
    ["job", run.jobId ?? "?"],
    ["status", run.status],
    ["started", run.started ?? "?"],
    ["ended", run.ended ?? "–"],
    ["duration", formatDuration(run.durationMs)],
    ["stages", `${run.stageCount} (${run.attempts} attempt${run.attempts === 1 ? "" : "s"})`],
    ...(run.error ? [["error", run.error]] : []),
  ]));
  console.log();
  console.log(table(
    ["stage", "attempt", "status", "started", "duration", "error"],
    stages.map((s) => [
      s.stage,
      s.maxAttempts === null ? String(s.attempt) : `${s.attempt}/${s.maxAttempts}`,
      s.status,
      s.started ?? "?",
      formatDuration(s.durationMs),
      s.error ?? "",
    ]),
  ));
};

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("lineage show", USAGE, async () => {
    const { flags, positional } = parseArgs(args, flagSpecs);
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (positional.length !== 1) {
      throw new UsageError(positional.length === 0 ? "a RUN_ID is required" : "one RUN_ID only");
    }
    const loaded = await loadLineageEvents(
      "lineage show",
      flags.store as string | undefined,
      tenantOf(flags),
      { others: true },
    );
    if (typeof loaded === "number") return loaded;
    const match = matchRunId(summarizeRuns(loaded.events), positional[0]);
    if (match._tag === "NotFound") {
      // A run of another tenant is refused as if it did not exist, with the usage exit status.
      if (matchRunId(summarizeRuns(loaded.others), positional[0])._tag !== "NotFound") {
        console.error(
          `lineage show: no pipeline run "${positional[0]}" in tenant "${tenantOf(flags)}"`,
        );
        return 2;
      }
      console.error(
        `lineage show: no pipeline run "${positional[0]}" in ${loaded.location}` +
          " (`deno task lineage runs` lists them; a prefix or suffix needs 8 characters or more)",
      );
      return 1;
    }
    if (match._tag === "Ambiguous") {
      const shown = match.candidates.slice(0, 5).join(", ");
      const more = match.candidates.length > 5 ? `, … (${match.candidates.length - 5} more)` : "";
      console.error(
        `lineage show: "${
          positional[0]
        }" matches ${match.candidates.length} runs: ${shown}${more}` +
          " (give more characters, or the end of the id)",
      );
      return 1;
    }
    const timeline = runTimeline(loaded.events, match.runId)!;
    if (flags.json) console.log(JSON.stringify(timeline));
    else print(timeline);
    return 0;
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
