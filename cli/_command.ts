/**
 * What the store-backed commands share: the common flags, opening the store, loading the
 * configuration, and turning usage errors into exit status 2.
 *
 * @module
 */
import { Effect } from "effect";
import { outboxRetentionMsOf } from "../kit/project_config.ts";
import type { Config } from "../pipelines/loader.ts";
import { type Kit, loadKit } from "../kit/load_kit.ts";
import { SetupError } from "../kit/setup_error.ts";
import type { StageShortcuts } from "../kit/stage_overrides.ts";
import {
  describeStore,
  openStore,
  type OpenStoreOptions,
  type Store,
  storeExists,
} from "../adapters/store/store.ts";
import { type FlagSpec, UsageError } from "./_args.ts";
import { flushWithDeadline } from "../lineage/relay.ts";
import { type CommandSinks, destinationSinks, destinationsOf } from "../kit/lineage_sinks.ts";
import { eventsSinkFor } from "../kit/events_sink.ts";
import type { JobDestinations } from "../pipelines/ledger.ts";
import { recordedDestinations, storeNow } from "../adapters/store/sql_job_destinations.ts";
import { storeSpecOf } from "../kit/run_pipeline.ts";

/** The `--store` value as a path or URL. */
export const storeSpec = (flag: string | undefined): string => storeSpecOf(flag);

/** The lineage namespace from the environment. */
export const namespaceFromEnv = (env: { get(key: string): string | undefined }): string =>
  env.get("OPENLINEAGE_NAMESPACE") ?? "lineage-kit";

/** Opens the store `spec` names, or says why it cannot (an unreachable server …) and exits 2. */
export const openStoreOrExplain = async (
  name: string,
  spec: string,
  options: OpenStoreOptions = {},
): Promise<Store | number> => {
  try {
    return await openStore(spec, options);
  } catch (e) {
    console.error(
      `${name}: cannot open the store at ${describeStore(spec)}: ${(e as Error).message ?? e}`,
    );
    return 2;
  }
};

/** Opens a store that must exist already, or says why not (exit 2). */
export const openExistingStore = async (
  name: string,
  spec: string,
  options: OpenStoreOptions = {},
): Promise<Store | number> => {
  if (!(await storeExists(spec))) {
    console.error(`${name}: no store at ${spec} (run \`deno task run-pipeline\` first)`);
    return 2;
  }
  return await openStoreOrExplain(name, spec, options);
};

/**
 * Opens an existing store and loads the kit (the project file, its plugins, the pipelines), or
 * says why not (exit 2).
 */
export const openForCommand = async (
  name: string,
  spec: string,
  options: { readonly config?: string; readonly shortcuts?: StageShortcuts } = {},
): Promise<{ store: Store; config: Config; kit: Kit } | number> => {
  let kit: Kit;
  try {
    kit = await loadKit(options);
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    for (const line of e.message.split("\n")) {
      console.error(e.kind === "config" ? line : `${name}: ${line}`);
    }
    return 2;
  }
  const store = await openExistingStore(name, spec, {
    outboxRetentionMs: outboxRetentionMsOf(kit.project),
  });
  return typeof store === "number" ? store : { store, config: kit.config, kit };
};

/** Whether the arguments ask for the command's usage (`--help` or `-h`). */
export const wantsHelp = (args: ReadonlyArray<string>): boolean =>
  args.includes("--help") || args.includes("-h");

/** Runs a command body, printing usage errors and returning 2 for them. */
export const withUsage = async (
  name: string,
  usage: string,
  body: () => Promise<number>,
): Promise<number> => {
  try {
    return await body();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${name}: ${e.message}\n${usage}`);
      return 2;
    }
    throw e;
  }
};

export { defaultLineageDir } from "../kit/run_pipeline.ts";

/** `--lineage` and `--events` of the commands that work on jobs another run started. */
export const destinationFlags: Readonly<Record<string, FlagSpec>> = {
  lineage: { type: "string" },
  events: { type: "string" },
};

/** Usage lines of {@link destinationFlags}. */
export const destinationUsage =
  `  --lineage DIR|URL   where lineage goes: a directory (JSONL), an http(s):// Marquez URL or
                      kafka://host:port/topic (default: where each job's run was told to send
                      it, else the OPENLINEAGE_* settings, else <store>/lineage)
  --events DIR|kafka://host:port[/topic]
                      where CloudEvents go (default: where each job's run was told, else beside
                      the OpenLineage files)`;

/** The destinations `--lineage` / `--events` name (what overrides those recorded with jobs). */
export const destinationsFromFlags = (
  flags: Readonly<Record<string, unknown>>,
): JobDestinations => {
  // Checked now so a bad target is a usage error before any work.
  if (typeof flags.events === "string") eventsSinkFor(flags.events, Deno.env.toObject());
  return destinationsOf({
    ...(typeof flags.lineage === "string" ? { lineage: flags.lineage } : {}),
    ...(typeof flags.events === "string" ? { events: flags.events } : {}),
  });
};

/** Where a command that works on jobs delivers lineage, and since when it works. */
export interface WorkDestinations {
  /** The store's lineage directory (the default JSONL destination). */
  readonly lineageDir: string;
  /** `--lineage` / `--events`: they replace what the jobs recorded. */
  readonly given: JobDestinations;
  /** When the command started, by the store's clock: jobs changed since are its jobs too. */
  readonly since: Date;
}

/** The start of a command's work by the store's clock (see {@link WorkDestinations}). */
export const workStart = (store: Store): Promise<Date> => storeNow(store.client);

/**
 * The sinks of the jobs a command works on: the destinations recorded with the jobs not
 * finished and those it finished, each value replaced by `--lineage` / `--events` when given.
 */
export const workSinks = async (store: Store, work: WorkDestinations): Promise<CommandSinks> => {
  const recorded = await recordedDestinations(store.client, work.since);
  return await destinationSinks(
    (recorded.length === 0 ? [{}] : recorded).map((d) => ({ ...d, ...work.given })),
    { lineageDir: work.lineageDir },
  );
};

/**
 * Delivers what the command wrote to the outbox to where its jobs' lineage goes (see
 * {@link workSinks}), with a bounded wait; says what is left.
 */
export const flushLineage = async (store: Store, work: WorkDestinations): Promise<void> => {
  let sinks: CommandSinks;
  try {
    sinks = await workSinks(store, work);
  } catch (e) {
    if (!(e instanceof SetupError)) throw e;
    for (const line of e.message.split("\n")) console.error(`lineage: ${line}`);
    console.error("lineage events stay in the outbox; `deno task lineage flush` delivers them");
    return;
  }
  try {
    const reports = await Effect.runPromise(
      flushWithDeadline(sinks.sinks, { maxWaitMs: 30_000 }).pipe(Effect.provide(store.layer)),
    );
    for (const r of reports) {
      if (r.pending > 0) {
        console.error(
          `lineage sink ${r.sink}: ${r.pending} events still pending${
            r.error ? ` (${r.error})` : ""
          }`,
        );
      }
    }
  } finally {
    await sinks.close();
  }
};
