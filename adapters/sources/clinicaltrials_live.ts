/**
 * ClinicalTrials.gov API v2 live discovery. `query` searches every field (`query.term`) and pages
 * with `pageSize` and the `nextPageToken` of each page (`pageToken=` on the next request); the first
 * request asks for `countTotal` so progress can show the number of matches. `ids` fetches each
 * study from `/api/v2/studies/{nctId}`. Pages hold full study records: no `fields` projection, so
 * each record parses as a recorded one does.
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
import { fetchByIds } from "./live_fetch.ts";
import type { LiveLister } from "./live_discovery.ts";
import type { LiveQuerySpec } from "./live_query.ts";
import type { LiveSourceOptions } from "./live_settings.ts";

/**
 * The list endpoint.
 *
 * @category constructors
 */
export const clinicalTrialsStudiesUrl = "https://clinicaltrials.gov/api/v2/studies";

/**
 * The largest `pageSize` the API accepts.
 *
 * @category constructors
 */
export const clinicalTrialsMaxPageSize = 1000;

/**
 * What ClinicalTrials.gov discovery accepts: free text or NCT numbers, no filter.
 *
 * @category constructors
 */
export const clinicalTrialsQuerySpec: LiveQuerySpec = {
  api: "ClinicalTrials.gov",
  takesFilter: false,
  idPattern: /^NCT\d{8}$/,
  idForm: "an NCT number (NCT and 8 digits)",
  normaliseId: (id) => id.toUpperCase(),
};

/**
 * The envelope of a `/api/v2/studies` page.
 *
 * @category schemas
 */
export const clinicalTrialsPageSchema: z.ZodType<{
  readonly studies: ReadonlyArray<unknown>;
  readonly nextPageToken?: string;
  readonly totalCount?: number;
}> = z.object({
  studies: z.array(z.unknown()),
  nextPageToken: z.string().min(1).optional(),
  totalCount: z.number().int().nonnegative().optional(),
});

/**
 * The URL of one page: the first (with `countTotal`), or the one a `pageToken` names.
 *
 * @example
 * ```ts
 * import { clinicalTrialsPageUrl } from "./clinicaltrials_live.ts";
 *
 * clinicalTrialsPageUrl("melanoma", 50);
 * // "https://clinicaltrials.gov/api/v2/studies?query.term=melanoma&pageSize=50&countTotal=true"
 * ```
 *
 * @category constructors
 */
export const clinicalTrialsPageUrl = (
  term: string,
  pageSize: number,
  pageToken?: string,
): string => {
  const params = new URLSearchParams({ "query.term": term, pageSize: String(pageSize) });
  if (pageToken === undefined) params.set("countTotal", "true");
  else params.set("pageToken", pageToken);
  return `${clinicalTrialsStudiesUrl}?${params}`;
};

const step =
  (settings: LiveSourceOptions, term: string, pageSize: number) =>
  (url: string): Effect.Effect<PageStep, StageError> =>
    Effect.map(
      fetchCheckedPage({
        url,
        format: "clinicaltrials",
        expected: "a ClinicalTrials.gov studies page",
        schema: clinicalTrialsPageSchema,
      }, settings),
      ({ envelope, records }): PageStep => ({
        records,
        ...(envelope.nextPageToken === undefined
          ? {}
          : { next: clinicalTrialsPageUrl(term, pageSize, envelope.nextPageToken) }),
        ...(envelope.totalCount === undefined ? {} : { total: envelope.totalCount }),
      }),
    );

/**
 * Lists studies for `query` (paging by token) or fetches `ids` one by one.
 *
 * @category constructors
 */
export const listClinicalTrials: LiveLister = (
  run: LiveRun,
  query: SourceQuery,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience> => {
  if (query.ids !== undefined) return fetchByIds(run, query.ids);
  const term = query.query ?? "";
  const pageSize = pageSizeFor(run.settings, query.limit, clinicalTrialsMaxPageSize);
  const first = clinicalTrialsPageUrl(term, pageSize);
  return walkPages(run, query.limit, first, step(run.settings, term, pageSize));
};
