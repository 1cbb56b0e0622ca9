/**
 * The command-line spelling of a live query: `--source` with `--query TEXT`, `--ids A,B`,
 * `--filter F` (OpenAlex) and `--limit N`, read from parsed flags. Combinations that cannot mean
 * anything are refused with a message naming the flags, before anything is fetched.
 *
 * @module
 */
import { builtinSources } from "./builtin_sources.ts";
import { maxLiveLimit } from "./live_query.ts";
import type { LiveQuery } from "./live_requests.ts";

/**
 * The flags a live query is read from, as the command's parser typed them.
 *
 * @category models
 */
export interface LiveFlags {
  /** `--query TEXT`. */
  readonly query?: unknown;
  /** `--ids A,B`. */
  readonly ids?: unknown;
  /** `--filter F`. */
  readonly filter?: unknown;
  /** `--limit N`. */
  readonly limit?: unknown;
  /** `--input PATH` (record files: not with a live query). */
  readonly input?: unknown;
}

const liveFlagNames = ["query", "ids", "filter", "limit"] as const;

// The built-in sources that list live; a run's own sources are checked by `runPipeline`.
const liveSources: ReadonlyArray<string> = builtinSources
  .filter((s) => s.discover !== undefined)
  .map((s) => s.name);

const filterSources: ReadonlyArray<string> = ["openalex", "openalex-pdf"];

const text = (value: unknown): string | undefined => typeof value === "string" ? value : undefined;

/**
 * The live query the flags ask for: `undefined` when they ask for none, the query, or the usage
 * problem as a message.
 *
 * @example
 * ```ts
 * import { liveQueryFromFlags } from "./live_flags.ts";
 *
 * liveQueryFromFlags({ query: "melanoma", limit: 50 }, "clinicaltrials");
 * // { source: "clinicaltrials", query: "melanoma", limit: 50 }
 * liveQueryFromFlags({ limit: 50 }, "clinicaltrials");
 * // "--limit applies to --query, --ids or --filter"
 * ```
 *
 * @category constructors
 */
export const liveQueryFromFlags = (
  flags: LiveFlags,
  source: string | undefined,
): LiveQuery | string | undefined => {
  const given = liveFlagNames.filter((f) => flags[f] !== undefined);
  if (given.length === 0) return undefined;
  const first = `--${given[0]}`;
  const live = liveSources.join(", ");
  if (source === undefined) return `${first} needs --source (live sources: ${live})`;
  if (!liveSources.includes(source)) {
    return `${first}: source "${source}" cannot list records live (live sources: ${live})`;
  }
  if (flags.input !== undefined) {
    return `--input reads record files and ${first} lists records live: give one of them`;
  }
  const [query, ids, filter] = [text(flags.query), text(flags.ids), text(flags.filter)];
  const limit = typeof flags.limit === "number" ? flags.limit : undefined;
  if (query === undefined && ids === undefined && filter === undefined) {
    return "--limit applies to --query, --ids or --filter";
  }
  if (ids !== undefined && (query !== undefined || filter !== undefined)) {
    return "--ids names the records: it cannot be combined with --query or --filter";
  }
  if (filter !== undefined && !filterSources.includes(source)) {
    return `--filter is OpenAlex's filter= syntax: --source ${source} takes --query or --ids`;
  }
  if (limit !== undefined && limit > maxLiveLimit) {
    return `--limit: at most ${maxLiveLimit}, got ${limit}`;
  }
  for (const [flag, value] of [["--query", query], ["--filter", filter]] as const) {
    if (value !== undefined && value.trim() === "") return `${flag} is empty`;
  }
  const keys = ids?.split(",").map((id) => id.trim()).filter((id) => id !== "");
  if (keys !== undefined && keys.length === 0) {
    return `--ids: expected comma-separated keys, got "${ids}"`;
  }
  return {
    source,
    ...(query === undefined ? {} : { query: query.trim() }),
    ...(keys === undefined ? {} : { ids: keys }),
    ...(filter === undefined ? {} : { filter: filter.trim() }),
    ...(limit === undefined ? {} : { limit }),
  };
};
