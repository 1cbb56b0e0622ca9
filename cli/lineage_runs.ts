/**
 * `deno task lineage runs`: the pipeline runs a store's lineage records, newest first, with their
 * status, start, duration, and how many stages and stage attempts each had.
 *
 * Exit status: 0; 2 for usage errors or a missing store.
 *
 * @module
 */
import { formatDuration } from "../lineage/graph_render.ts";
import { type PipelineRunSummary, summarizeRuns } from "../lineage/lineage_view.ts";
import { type FlagSpec, parseArgs } from "./_args.ts";
import { withUsage } from "./_command.ts";
import { loadLineageEvents, tenantFlag, tenantOf, tenantUsage } from "./_lineage_events.ts";
import { table } from "./_output.ts";

const USAGE = `usage: deno task lineage runs [options]

  --store DIR|URL   the store: a directory (default: .lineage-kit) or postgres:// URL
${tenantUsage}
  --limit N         show the N newest runs (default: 20)
  --json            print {"total": N, "runs": [...]} instead of a table
  --help            this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  store: { type: "string" },
  ...tenantFlag,
  limit: { type: "integer", min: 1 },
  json: { type: "boolean" },
  help: { type: "boolean" },
};

const row = (r: PipelineRunSummary): ReadonlyArray<string> => [
  r.runId,
  r.pipeline,
  r.docId ?? "",
  r.status,
  r.started ?? "",
  formatDuration(r.durationMs),
  String(r.stageCount),
  String(r.attempts),
];

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("lineage runs", USAGE, async () => {
    const { flags, positional } = parseArgs(args, flagSpecs);
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (positional.length > 0) {
      console.error(`lineage runs: unexpected argument "${positional[0]}"\n${USAGE}`);
      return 2;
    }
    const loaded = await loadLineageEvents(
      "lineage runs",
      flags.store as string | undefined,
      tenantOf(flags),
    );
    if (typeof loaded === "number") return loaded;
    const all = summarizeRuns(loaded.events);
    const runs = all.slice(0, (flags.limit as number | undefined) ?? 20);
    if (flags.json) {
      console.log(JSON.stringify({ total: all.length, runs }));
      return 0;
    }
    if (all.length === 0) {
      console.log(`no pipeline runs in ${loaded.location}`);
      return 0;
    }
    console.log(table(
      ["run", "pipeline", "document", "status", "started", "duration", "stages", "attempts"],
      runs.map(row),
    ));
    if (runs.length < all.length) {
      console.log(`\n${runs.length} of ${all.length} runs (--limit N shows more)`);
    }
    return 0;
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
