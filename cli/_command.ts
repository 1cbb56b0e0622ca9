/**
 * What the store-backed commands share: the common flags, opening the store, loading the
 * configuration, and turning usage errors into exit status 2.
 *
 * @module
 */
import { Effect } from "effect";
import type { Config } from "../pipelines/loader.ts";
import { type Kit, loadKit } from "../kit/load_kit.ts";
import { SetupError } from "../kit/setup_error.ts";
import type { StageShortcuts } from "../kit/stage_overrides.ts";
import {
  isServerStore,
  openStore,
  type OpenStoreOptions,
  type Store,
  storeExists,
} from "../adapters/store/store.ts";
import { UsageError } from "./_args.ts";
import { redactUrl } from "../adapters/store/postgres_client.ts";
import { flushWithDeadline } from "../lineage/relay.ts";
import { resolveLineageConfig } from "../lineage/config.ts";
import { commandSinks } from "../kit/lineage_sinks.ts";
import { storeSpecOf } from "../kit/run_pipeline.ts";

/** The `--store` value as a path or URL. */
export const storeSpec = (flag: string | undefined): string => storeSpecOf(flag);

/** The lineage namespace from the environment. */
export const namespaceFromEnv = (env: { get(key: string): string | undefined }): string =>
  env.get("OPENLINEAGE_NAMESPACE") ?? "lineage-kit";

/** Where a store is, for messages: a server URL without its password. */
export const describeStore = (spec: string): string => isServerStore(spec) ? redactUrl(spec) : spec;

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
  const store = await openExistingStore(name, spec);
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

/**
 * Delivers what the command wrote to the outbox to the configured sinks (as run-pipeline does,
 * from `OPENLINEAGE_*` / openlineage.yml, else JSONL), with a bounded wait; says what is left.
 */
export const flushLineage = async (store: Store, lineageDir: string): Promise<void> => {
  const config = await Effect.runPromise(
    Effect.result(resolveLineageConfig({ env: Deno.env, cwd: Deno.cwd() })),
  );
  if (config._tag === "Failure") {
    for (const p of config.failure.problems) console.error(`lineage: ${p.where}: ${p.message}`);
    console.error("lineage events stay in the outbox; `deno task lineage flush` delivers them");
    return;
  }
  const { sinks, close } = commandSinks(config.success, { lineageDir });
  try {
    const reports = await Effect.runPromise(
      flushWithDeadline(sinks, { maxWaitMs: 30_000 }).pipe(Effect.provide(store.layer)),
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
    await close();
  }
};
