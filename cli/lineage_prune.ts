/**
 * `deno task lineage prune`: deletes the outbox's lineage events that every sink had, delivered
 * longer ago than the retention (`--older-than-days`, else the project file's
 * `outbox.retention_days`, else 7 days). An event some sink still waits for is never deleted.
 *
 * Exit status: 0; 2 for usage errors or a missing store.
 *
 * @module
 */
import { type FlagSpec, parseArgs } from "./_args.ts";
import { openExistingStore, storeSpec, withUsage } from "./_command.ts";
import { loadProjectConfig, outboxRetentionMsOf } from "../kit/project_config.ts";
import { daysToMs, maxOutboxRetentionDays } from "../lineage/outbox.ts";
import { kitRegistry } from "../kit/load_pipelines.ts";

const USAGE = `usage: deno task lineage prune [options]

  --store DIR|URL         the store: a directory (default: .lineage-kit) or postgres:// URL
  --older-than-days N     keep delivered events younger than N days, 0 to 36500; 0 deletes every
                          delivered event (default: outbox.retention_days of lineage-kit.yaml,
                          else 7)
  --config FILE           the project file (default: ./lineage-kit.yaml when present)
  --json                  print {"pruned": N} instead of a sentence
  --help                  this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  store: { type: "string" },
  "older-than-days": { type: "integer", min: 0, max: maxOutboxRetentionDays },
  config: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean" },
};

const retentionMs = async (
  days: number | undefined,
  config: string | undefined,
): Promise<number | string> => {
  if (days !== undefined) return daysToMs(days);
  const read = await loadProjectConfig({
    ...(config === undefined ? {} : { path: config }),
    registry: (plugins) => kitRegistry(plugins),
  });
  if (read.project === undefined) {
    return read.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n");
  }
  return outboxRetentionMsOf(read.project);
};

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("lineage prune", USAGE, async () => {
    const { flags, positional } = parseArgs(args, flagSpecs);
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (positional.length > 0) {
      console.error(`lineage prune: unexpected argument "${positional[0]}"\n${USAGE}`);
      return 2;
    }
    const olderThanMs = await retentionMs(
      flags["older-than-days"] as number | undefined,
      flags.config as string | undefined,
    );
    if (typeof olderThanMs === "string") {
      console.error(olderThanMs);
      return 2;
    }
    const store = await openExistingStore("lineage prune", storeSpec(flags.store as string), {
      keepLeases: true,
      outboxRetentionMs: olderThanMs,
    });
    if (typeof store === "number") return store;
    try {
      const pruned = await store.prune(olderThanMs);
      console.log(
        flags.json
          ? JSON.stringify({ pruned })
          : `${pruned} delivered lineage events pruned from ${store.client.location}`,
      );
      return 0;
    } finally {
      await store.close();
    }
  });
