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
import type { SearchHit } from "../adapters/store/hybrid_search.ts";
import { openExistingStore, storeSpec, wantsHelp } from "./_command.ts";
import { parseArgs, UsageError } from "./_args.ts";
import { loadKit } from "../kit/load_kit.ts";
import { searchPipelineIndex } from "../kit/search.ts";
import { SetupError } from "../kit/setup_error.ts";
import { stageFlagsFrom, stageFlagSpecs, stageFlagsUsage } from "./_stage_flags.ts";

const USAGE = `usage: deno task search "TEXT" [--k N] [--min-score X] [--store DIR|URL] [--json]
                        [--pipeline NAME] [--tenant ID] [--config FILE] [--embedder …] [--index …]

  The index and the query's embedder are the pipeline's, as configured (pipeline YAML, the
  project file, VLLM_* / OPENSEARCH_URL, and the flags below), so the query vector is comparable
  with the chunks'.

  --k N            how many hits (default: 10)
  --pipeline NAME  whose index to search (default: auto)
  --tenant ID      only this tenant's chunks (default: every tenant's)
  --min-score X    drop hits whose fused score is below X (one ranking's first place scores
                   1/61 ≈ 0.0164, first in both ≈ 0.0328; default: 0)
  --store DIR|URL  the store to search (default: .lineage-kit)
  --json           print the hits as a JSON array, each with "match": "text+vector" | "text" | "vector"
${stageFlagsUsage}`;

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
      pipeline: { type: "string" },
      tenant: { type: "string" },
      ...stageFlagSpecs,
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
  let pipeline;
  try {
    const { config, shortcuts } = stageFlagsFrom(flags);
    const kit = await loadKit({ ...(config === undefined ? {} : { config }), shortcuts });
    const name = (flags.pipeline as string | undefined) ?? "auto";
    pipeline = kit.config.pipeline(name);
    if (pipeline === undefined) {
      throw new UsageError(
        `--pipeline: unknown pipeline "${name}" (known: ${
          kit.config.pipelines.map((p) => p.name).join(", ")
        })`,
      );
    }
  } catch (e) {
    if (e instanceof SetupError) {
      for (const line of e.message.split("\n")) {
        console.error(e.kind === "config" ? line : `search: ${line}`);
      }
      return 2;
    }
    throw e;
  }
  const store = await openExistingStore("search", storeDir, { keepLeases: true });
  if (typeof store === "number") return store;
  try {
    const text = positional[0];
    const minScore = flags["min-score"] as number | undefined;
    const tenantId = flags.tenant as string | undefined;
    const found = await Effect.runPromise(Effect.result(
      searchPipelineIndex(pipeline, store, text, {
        k: (flags.k as number | undefined) ?? 10,
        ...(minScore === undefined ? {} : { minScore }),
        ...(tenantId === undefined ? {} : { tenantId }),
      }),
    ));
    if (found._tag === "Failure") {
      console.error(`search: ${found.failure._tag}: ${found.failure.message}`);
      return 1;
    }
    const { hits, textMatches } = found.success;
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
