/**
 * openFDA live discovery (drug labels by default; Drugs@FDA or FAERS with the settings'
 * `openFdaEndpoint`). `query` is an openFDA `search=` expression, pages hold `limit` results, and
 * the next page is the `link: <…>; rel="next"` URL openFDA sends while more results follow
 * (`search_after` paging), else `skip=` past the results so far while `meta.results.total` says
 * more exist. The key from the settings (`OPENFDA_API_KEY`) is sent as `api_key` on every
 * request, the `link` ones included. openFDA answers a search without hits (and a `skip` past the
 * end) with 404 `NOT_FOUND`: that is an empty list, not a failure. `ids` fetch each label,
 * application or report by key.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import type { Resilience } from "../../policies/resilience.ts";
import { InvalidInput, type StageError } from "../../stages/errors.ts";
import type { DiscoveredRecord, SourceQuery } from "../../stages/source_contract.ts";
import {
  describeOutcome,
  type HttpOutcome,
  parseRemoteError,
  redactUrl,
} from "../http/http_errors.ts";
import { fetchCheckedPage } from "./live_page.ts";
import { type LiveRun, pageSizeFor, type PageStep, walkPages } from "./live_paging.ts";
import { fetchByIds } from "./live_fetch.ts";
import type { LiveLister } from "./live_discovery.ts";
import type { LiveQuerySpec } from "./live_query.ts";
import type { LiveSourceOptions, OpenFdaEndpoint } from "./live_settings.ts";

/**
 * openFDA's host.
 *
 * @category constructors
 */
export const openFdaOrigin = "https://api.fda.gov";

/**
 * The largest `limit` the API accepts.
 *
 * @category constructors
 */
export const openFdaMaxPageSize = 1000;

/**
 * What openFDA discovery accepts: a `search=` expression or keys (a label's `set_id`, an
 * application number such as `NDA021588`, or `faers-<safetyreportid>`).
 *
 * @category constructors
 */
export const openFdaQuerySpec: LiveQuerySpec = {
  api: "openFDA",
  takesFilter: false,
  idPattern:
    /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?:NDA|ANDA|BLA)\d+|faers-\d+)$/i,
  idForm: "a label set_id (UUID), an application number (NDA…, ANDA…, BLA…) or faers-<report id>",
  // openFDA spells set_ids and the faers- prefix in lower case, application numbers in upper.
  normaliseId: (id) => (/^(?:NDA|ANDA|BLA)\d+$/i.test(id) ? id.toUpperCase() : id.toLowerCase()),
};

/**
 * The envelope of an openFDA search page.
 *
 * @category schemas
 */
export const openFdaPageSchema: z.ZodType<{
  readonly meta: { readonly results: { readonly total: number } };
  readonly results: ReadonlyArray<unknown>;
}> = z.object({
  meta: z.object({
    results: z.object({
      skip: z.number().int().nonnegative(),
      limit: z.number().int().nonnegative(),
      total: z.number().int().nonnegative(),
    }),
  }),
  results: z.array(z.unknown()),
});

/**
 * What one openFDA search asks for.
 *
 * @category models
 */
export interface OpenFdaSearchParams {
  /** The endpoint searched. */
  readonly endpoint: OpenFdaEndpoint;
  /** The `search=` expression. */
  readonly search: string;
  /** `limit=`: results per page. */
  readonly limit: number;
  /** `api_key=`. */
  readonly apiKey?: string;
}

/**
 * The URL of the page starting at `skip` (`skip=` is left out for the first).
 *
 * @example
 * ```ts
 * import { openFdaPageUrl } from "./openfda_live.ts";
 *
 * openFdaPageUrl({ endpoint: "label", search: 'openfda.generic_name:"gefitinib"', limit: 5 }, 0);
 * // "https://api.fda.gov/drug/label.json?search=openfda.generic_name%3A%22gefitinib%22&limit=5"
 * ```
 *
 * @category constructors
 */
export const openFdaPageUrl = (params: OpenFdaSearchParams, skip: number): string => {
  const query = new URLSearchParams({ search: params.search, limit: String(params.limit) });
  if (skip > 0) query.set("skip", String(skip));
  if (params.apiKey !== undefined) query.set("api_key", params.apiKey);
  return `${openFdaOrigin}/drug/${params.endpoint}.json?${query}`;
};

/**
 * The `rel="next"` target of a `link` header, when it has one.
 *
 * @category combinators
 */
export const nextLinkOf = (header: string | null): string | undefined => {
  for (const part of header?.split(",") ?? []) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/s.exec(part);
    if (match !== null && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(match[2])) {
      return match[1];
    }
  }
  return undefined;
};

// The link is followed only to the same endpoint, with the key added: openFDA's link carries the
// query and `search_after`, never the caller's key.
const followLink = (
  url: string,
  link: string,
  apiKey: string | undefined,
): Effect.Effect<string, InvalidInput> => {
  const here = new URL(url);
  const next = URL.canParse(link, url) ? new URL(link, url) : undefined;
  if (next === undefined || next.origin !== here.origin || next.pathname !== here.pathname) {
    return Effect.fail(
      new InvalidInput({
        message: `GET ${redactUrl(url)}: link header: rel="next" is ${
          redactUrl(link)
        }, not a page of ${here.origin}${here.pathname}`,
        path: redactUrl(url),
      }),
    );
  }
  if (apiKey !== undefined && !next.searchParams.has("api_key")) {
    next.searchParams.set("api_key", apiKey);
  }
  return Effect.succeed(next.toString());
};

const isNoMatches = (outcome: HttpOutcome): boolean =>
  outcome.kind === "status" && outcome.status === 404 &&
  parseRemoteError(outcome.text)?.code === "NOT_FOUND";

// Malformed search syntax is answered 500 token_mgr_error: the query's fault, never retried.
const classify = (outcome: HttpOutcome): StageError | undefined =>
  outcome.kind === "status" && outcome.status === 500 &&
    /token_mgr_error|Lexical error/.test(parseRemoteError(outcome.text)?.details ?? "")
    ? new InvalidInput({
      message: `invalid openFDA search (${describeOutcome(outcome)})`,
      path: redactUrl(outcome.url),
    })
    : undefined;

const step =
  (settings: LiveSourceOptions, params: OpenFdaSearchParams) =>
  (url: string, seen: number): Effect.Effect<PageStep, StageError> =>
    Effect.suspend(() => {
      let noMatches = false;
      const page = fetchCheckedPage({
        url,
        format: "openfda",
        expected: "an openFDA search page",
        schema: openFdaPageSchema,
        classify: (outcome) => {
          noMatches = isNoMatches(outcome);
          return classify(outcome);
        },
      }, settings);
      return page.pipe(
        Effect.flatMap(({ envelope, records, headers }): Effect.Effect<PageStep, StageError> => {
          const total = envelope.meta.results.total;
          if (records.length === 0 || seen + records.length >= total) {
            return Effect.succeed({ records, total });
          }
          const link = nextLinkOf(headers.get("link"));
          const next = link === undefined
            ? Effect.succeed(openFdaPageUrl(params, seen + records.length))
            : followLink(url, link, params.apiKey);
          return Effect.map(next, (nextUrl) => ({ records, total, next: nextUrl }));
        }),
        // openFDA's "No matches found!" is the end of the list (zero hits, or a skip past the end).
        Effect.catchTag(
          "InvalidInput",
          (error): Effect.Effect<PageStep, StageError> =>
            noMatches ? Effect.succeed({ records: [] }) : Effect.fail(error),
        ),
      );
    });

/**
 * Lists labels (or the configured endpoint's records) for `query`, or fetches `ids` one by one.
 *
 * @category constructors
 */
export const listOpenFda: LiveLister = (
  run: LiveRun,
  query: SourceQuery,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience> => {
  if (query.ids !== undefined) return fetchByIds(run, query.ids);
  const params: OpenFdaSearchParams = {
    endpoint: run.settings.openFdaEndpoint ?? "label",
    search: query.query ?? "",
    limit: pageSizeFor(run.settings, query.limit, openFdaMaxPageSize),
    ...(run.settings.apiKey === undefined ? {} : { apiKey: run.settings.apiKey }),
  };
  return walkPages(run, query.limit, openFdaPageUrl(params, 0), step(run.settings, params));
};
