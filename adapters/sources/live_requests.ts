/**
 * A live query turned into ingest requests: the source's `discover` lists the records, and each
 * becomes a request whose location holds the record itself (`{ kind: "inline", record }`). The
 * ledger stores the request with its job, so the record is written to the store before the job
 * starts, and the Ingest stage of that job, or of any later run or worker that takes it, reads it
 * from there without calling the API again.
 *
 * @module
 */
import { Effect } from "effect";
import { InvalidInput, type StageError } from "../../stages/errors.ts";
import type { IngestRequest } from "../../stages/ir.ts";
import type { SourceCatalog, SourceQuery } from "../../stages/source_contract.ts";
import { defaultLiveLimit } from "./live_query.ts";

/**
 * A live query as a command gives it: the source and what to ask it.
 *
 * @category models
 */
export interface LiveQuery {
  /** The source to list (`--source`); it must have a `discover`. */
  readonly source: string;
  /** Free text (`--query`). */
  readonly query?: string;
  /** Document keys (`--ids`). */
  readonly ids?: ReadonlyArray<string>;
  /** A filter in the API's syntax (`--filter`, OpenAlex). */
  readonly filter?: string;
  /** At most this many records. @default the number of `ids`, else 20 */
  readonly limit?: number;
}

/**
 * The names of the catalog's sources that can list records live.
 *
 * @category combinators
 */
export const liveSourceNames = (catalog: SourceCatalog): ReadonlyArray<string> =>
  catalog.names.filter((name) => catalog.get(name)?.discover !== undefined);

/**
 * Why the catalog cannot answer the query at all (an unknown source, or one without live
 * discovery); `undefined` when it can. What the source itself refuses, `discover` says.
 *
 * @category combinators
 */
export const liveQueryProblem = (catalog: SourceCatalog, query: LiveQuery): string | undefined => {
  const live = liveSourceNames(catalog).join(", ");
  const source = catalog.get(query.source);
  if (source === undefined) {
    return `--source: unknown source "${query.source}" (known: ${catalog.names.join(", ")})`;
  }
  if (source.discover === undefined) {
    return `--source: "${query.source}" cannot list records live (live sources: ${live})`;
  }
  return undefined;
};

/**
 * The source query a live query asks: its limit filled in.
 *
 * @category combinators
 */
export const sourceQueryOf = (query: LiveQuery): SourceQuery => ({
  limit: query.limit ?? query.ids?.length ?? defaultLiveLimit,
  ...(query.query === undefined ? {} : { query: query.query }),
  ...(query.ids === undefined ? {} : { ids: query.ids }),
  ...(query.filter === undefined ? {} : { filter: query.filter }),
});

/**
 * Lists the query's records live and returns one inline ingest request per record, in the order
 * the API gave them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { makeSourceCatalog } from "../../stages/source_contract.ts";
 * import { builtinSources } from "./builtin_sources.ts";
 * import { discoverRequests } from "./live_requests.ts";
 *
 * const requests = discoverRequests(makeSourceCatalog(builtinSources), {
 *   source: "clinicaltrials",
 *   query: "melanoma",
 *   limit: 50,
 * });
 * // Lists up to 50 ClinicalTrials.gov studies matching "melanoma" (a live request when run):
 * const run = (): Promise<ReadonlyArray<string>> =>
 *   Effect.runPromise(Effect.map(requests, (found) => found.map((r) => r.docKey)));
 * ```
 *
 * @category constructors
 */
export const discoverRequests = (
  catalog: SourceCatalog,
  query: LiveQuery,
): Effect.Effect<ReadonlyArray<IngestRequest>, StageError> => {
  const problem = liveQueryProblem(catalog, query);
  const discover = catalog.get(query.source)?.discover;
  if (problem !== undefined || discover === undefined) {
    return Effect.fail(new InvalidInput({ message: problem ?? "", path: "source" }));
  }
  return Effect.map(
    discover(sourceQueryOf(query)),
    (found) =>
      found.map((d): IngestRequest => ({
        source: query.source,
        docKey: d.docKey,
        location: { kind: "inline", record: d.record },
      })),
  );
};
