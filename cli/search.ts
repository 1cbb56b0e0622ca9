/**
 * `deno task search "TEXT" [--k N] [--store DIR|URL] [--json]`: the best chunks by hybrid rank
 * (full-text and dense, fused with reciprocal rank fusion, k = 60).
 *
 * @module
 */
import { Effect } from "effect";
import { hybridSearch } from "../adapters/store/hybrid_search.ts";
import { embedText } from "../stages/hashing_embedder.ts";
import { openExistingStore, storeSpec, wantsHelp } from "./_command.ts";
import { parseArgs, UsageError } from "./_args.ts";

const USAGE = `usage: deno task search "TEXT" [--k N] [--store DIR|URL] [--json]`;

/** Runs the command; returns its exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs(args, {
      k: { type: "integer", min: 1 },
      store: { type: "string" },
      json: { type: "boolean" },
    });
    if (parsed.positional.length !== 1 || parsed.positional[0].trim() === "") {
      throw new UsageError("expected exactly one search text");
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`search: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const { flags, positional } = parsed;
  const storeDir = storeSpec(flags.store as string | undefined);
  const store = await openExistingStore("search", storeDir, { keepLeases: true });
  if (typeof store === "number") return store;
  try {
    const text = positional[0];
    const hits = await Effect.runPromise(
      hybridSearch(store.client, text, embedText(text), {
        k: (flags.k as number | undefined) ?? 10,
      }),
    );
    if (flags.json) {
      console.log(JSON.stringify(hits));
      return 0;
    }
    if (hits.length === 0) console.log("no matches");
    hits.forEach((h, i) => {
      const ranks = [
        h.textRank ? `text #${h.textRank}` : "",
        h.denseRank ? `dense #${h.denseRank}` : "",
      ]
        .filter(Boolean).join(", ");
      const snippet = h.text.replace(/\s+/g, " ").slice(0, 160);
      console.log(
        `${i + 1}. ${h.score.toFixed(4)}  ${h.docId}  ${h.chunkId}  (${ranks})\n   ${snippet}${
          h.text.length > 160 ? "…" : ""
        }`,
      );
    });
    return 0;
  } finally {
    await store.close();
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
