/**
 * `deno task status [--store DIR] [--json]`: what the store holds: jobs by status, indexed chunks
 * and embeddings, knowledge-graph nodes and edges, lineage events written.
 *
 * @module
 */
import { Effect } from "effect";
import { resolve } from "node:path";
import { isServerStore, openStore, storeExists } from "../adapters/store/store.ts";
import { storeStats } from "../adapters/store/store_stats.ts";
import { parseArgs, UsageError } from "./_args.ts";
import { table } from "./_output.ts";

const USAGE = `usage: deno task status [--store DIR] [--json]`;

/** Runs the command; returns its exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  let flags;
  try {
    ({ flags } = parseArgs(args, { store: { type: "string" }, json: { type: "boolean" } }));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`status: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const given = (flags.store as string | undefined) ?? ".lineage-kit";
  const storeDir = isServerStore(given) ? given : resolve(given);
  if (!(await storeExists(storeDir))) {
    console.error(`status: no store at ${storeDir} (run \`deno task run-pipeline\` first)`);
    return 2;
  }
  const store = await openStore(storeDir);
  try {
    const stats = await Effect.runPromise(storeStats(store.client));
    if (flags.json) {
      console.log(JSON.stringify(stats));
      return 0;
    }
    console.log(`store: ${store.client.location}\n`);
    console.log(
      table(["jobs", "count"], Object.entries(stats.jobs).map(([k, v]) => [k, String(v)])),
    );
    console.log();
    console.log(table(["index / graph", "count"], [
      ["documents", String(stats.documents)],
      ["chunks", String(stats.chunks)],
      ["embeddings", String(stats.embeddings)],
      ["kg nodes", String(stats.kg.nodes)],
      ["kg edges", String(stats.kg.edges)],
      ["openlineage events", String(stats.outbox.openlineage)],
      ["cloudevents", String(stats.outbox.cloudevents)],
    ]));
    return 0;
  } finally {
    await store.close();
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
