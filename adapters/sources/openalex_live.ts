/**
 * OpenAlex works live discovery. `query` becomes `search=`, `filter` is passed as `filter=` in
 * OpenAlex's own syntax, and both page with cursors: the first request sends `cursor=*`, the next
 * ones the `meta.next_cursor` of the page before, with `per-page`. OpenAlex keeps a cursor on its
 * last page too, so the walk also stops once the pages held `meta.count` works: the page that
 * cursor leads to would be empty. `ids` become a filter on `openalex:` (up to 100 keys per
 * filter). A contact address from the settings (`OPENALEX_MAILTO`) is sent as `mailto=`, which
 * puts the requests in OpenAlex's polite pool.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import type { Resilience } from "../../policies/resilience.ts";
import type { StageError } from "../../stages/errors.ts";
import type { DiscoveredRecord, SourceQuery } from "../../stages/source_contract.ts";
import { fetchCheckedPage } from "./live_page.ts";
import { type LiveRun, pageSizeFor, type PageStep, walkPages } from "./live_paging.ts";
import type { LiveLister } from "./live_discovery.ts";
import type { LiveQuerySpec } from "./live_query.ts";
import type { LiveSourceOptions } from "./live_settings.ts";

/**
 * The works list endpoint.
 *
 * @category constructors
 */
export const openAlexWorksUrl = "https://api.openalex.org/works";

/**
 * The largest `per-page` the API accepts.
 *
 * @category constructors
 */
export const openAlexMaxPageSize = 200;

/**
 * How many keys one `openalex:` filter lists (OpenAlex's limit on OR-ed values).
 *
 * @category constructors
 */
export const openAlexIdsPerFilter = 100;

/**
 * What OpenAlex discovery accepts: free text, a filter, or work ids (`W…`, or their
 * `https://openalex.org/W…` form).
 *
 * @category constructors
 */
export const openAlexQuerySpec: LiveQuerySpec = {
  api: "OpenAlex",
  takesFilter: true,
  idPattern: /^W\d+$/,
  idForm: "an OpenAlex work id (W and digits)",
  normaliseId: (id) => id.replace(/^https:\/\/openalex\.org\//i, "").toUpperCase(),
};

/**
 * The envelope of a `/works` page.
 *
 * @category schemas
 */
export const openAlexPageSchema: z.ZodType<{
  readonly meta: { readonly count: number; readonly next_cursor?: string | null };
  readonly results: ReadonlyArray<unknown>;
}> = z.object({
  meta: z.object({
    count: z.number().int().nonnegative(),
    next_cursor: z.string().min(1).nullable().optional(),
  }),
  results: z.array(z.unknown()),
});

/**
 * What one OpenAlex list asks for.
 *
 * @category models
 */
export interface OpenAlexListParams {
  /** `search=`. */
  readonly search?: string;
  /** `filter=`. */
  readonly filter?: string;
  /** `per-page=`. */
  readonly perPage: number;
  /** `mailto=`, the polite pool's contact address. */
  readonly mailto?: string;
}

/**
 * The URL of one page: `cursor` is `*` for the first, then the `next_cursor` of the page before.
 *
 * @example
 * ```ts
 * import { openAlexPageUrl } from "./openalex_live.ts";
 *
 * openAlexPageUrl({ search: "melanoma", perPage: 50 }, "*");
 * // "https://api.openalex.org/works?search=melanoma&per-page=50&cursor=*"
 * ```
 *
 * @category constructors
 */
export const openAlexPageUrl = (params: OpenAlexListParams, cursor: string): string => {
  const query = new URLSearchParams();
  if (params.search !== undefined) query.set("search", params.search);
  if (params.filter !== undefined) query.set("filter", params.filter);
  query.set("per-page", String(params.perPage));
  query.set("cursor", cursor);
  if (params.mailto !== undefined) query.set("mailto", params.mailto);
  // `*` is the documented first cursor; URLSearchParams leaves it as it is.
  return `${openAlexWorksUrl}?${query}`;
};

const step =
  (settings: LiveSourceOptions, params: OpenAlexListParams) =>
  (url: string, seen: number): Effect.Effect<PageStep, StageError> =>
    Effect.map(
      fetchCheckedPage({
        url,
        format: "openalex",
        expected: "an OpenAlex works page",
        schema: openAlexPageSchema,
      }, settings),
      ({ envelope, records }): PageStep => {
        const cursor = envelope.meta.next_cursor;
        const more = cursor != null && seen + records.length < envelope.meta.count;
        return {
          records,
          total: envelope.meta.count,
          ...(more ? { next: openAlexPageUrl(params, cursor) } : {}),
        };
      },
    );

const walk = (
  run: LiveRun,
  limit: number,
  search: string | undefined,
  filter: string | undefined,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience> => {
  const params: OpenAlexListParams = {
    ...(search === undefined ? {} : { search }),
    ...(filter === undefined ? {} : { filter }),
    perPage: pageSizeFor(run.settings, limit, openAlexMaxPageSize),
    ...(run.settings.mailto === undefined ? {} : { mailto: run.settings.mailto }),
  };
  return walkPages(run, limit, openAlexPageUrl(params, "*"), step(run.settings, params));
};

const chunks = <A>(items: ReadonlyArray<A>, size: number): ReadonlyArray<ReadonlyArray<A>> =>
  Array.from(
    { length: Math.ceil(items.length / size) },
    (_, i) => items.slice(i * size, (i + 1) * size),
  );

/**
 * Lists works for `query` and `filter`, or for `ids` through `openalex:` filters.
 *
 * @category constructors
 */
export const listOpenAlex: LiveLister = (
  run: LiveRun,
  query: SourceQuery,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience> => {
  if (query.ids === undefined) return walk(run, query.limit, query.query, query.filter);
  return Effect.map(
    Effect.forEach(
      chunks(query.ids, openAlexIdsPerFilter),
      (ids) => walk(run, ids.length, undefined, `openalex:${ids.join("|")}`),
    ),
    (lists) => lists.flat(),
  );
};
