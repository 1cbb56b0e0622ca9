/**
 * `deno task search "TEXT" [--k N] [--min-score X] [--store DIR|URL] [--json]`: the best chunks by
 * hybrid rank (full-text and dense, fused with reciprocal rank fusion, k = 60).
 *
 * The dense ranking finds a nearest chunk for any text, so every hit says how it was found
 * (`text+vector`, `text` or `vector`), and when no chunk contains the text the output says so
 * before listing the nearest by vector only. `--json` prints the hits as an array, each with its
 * `match`.
 *
 * @module
 */
import { Effect } from "effect";
import { type SearchHit, searchIndex } from "../adapters/store/hybrid_search.ts";
import { embedText } from "../stages/hashing_embedder.ts";
import { openExistingStore, storeSpec, wantsHelp } from "./_command.ts";
import { parseArgs, UsageError } from "./_args.ts";

const USAGE = `usage: deno task search "TEXT" [--k N] [--min-score X] [--store DIR|URL] [--json]

  --k N            how many hits (default: 10)
  --min-score X    drop hits whose fused score is below X (one ranking's first place scores
                   1/61 ≈ 0.0164, first in both ≈ 0.0328; default: 0)
  --store DIR|URL  the store to search (default: .lineage-kit)
  --json           print the hits as a JSON array, each with "match": "text+vector" | "text" | "vector"`;

/** The words printed when the text matched no chunk. */
export const noTextMatch = "no chunk matches the text; showing nearest by vector only";

const matchLabel: Readonly<Record<SearchHit["match"], string>> = {
  "text+vector": "text+vector",
  text: "text only",
  vector: "vector only",
};

const printHits = (hits: ReadonlyArray<SearchHit>): void => {
  hits.forEach((h, i) => {
    const ranks = [
      h.textRank ? `text #${h.textRank}` : "",
      h.denseRank ? `dense #${h.denseRank}` : "",
    ].filter(Boolean).join(", ");
    const snippet = h.text.replace(/\s+/g, " ").slice(0, 160);
    console.log(
      `${i + 1}. ${h.score.toFixed(4)}  ${h.docId}  ${h.chunkId}  [${
        matchLabel[h.match]
      }] (${ranks})\n` +
        `   ${snippet}${h.text.length > 160 ? "…" : ""}`,
    );
  });
};

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
      "min-score": { type: "number", min: 0 },
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
    const minScore = flags["min-score"] as number | undefined;
    const { hits, textMatches } = await Effect.runPromise(
      searchIndex(store.client, text, embedText(text), {
        k: (flags.k as number | undefined) ?? 10,
        ...(minScore === undefined ? {} : { minScore }),
      }),
    );
    if (flags.json) {
      console.log(JSON.stringify(hits));
      return 0;
    }
    if (hits.length === 0) {
      console.log(minScore === undefined ? "no matches" : `no hit scores ${minScore} or more`);
      return 0;
    }
    if (textMatches === 0) console.log(noTextMatch);
    printHits(hits);
    return 0;
  } finally {
    await store.close();
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
