/**
 * The paging loop every live list shares: fetch a page under the policy, keep its records up to
 * the limit, and ask the source's step for the next page's URL. It stops at the limit, when a page
 * is empty, or when the step says there is no next page, so it never asks for a page whose records
 * would not be kept.
 *
 * @module
 */
import { Effect } from "effect";
import type { Policy } from "../../policies/policy.ts";
import type { Resilience } from "../../policies/resilience.ts";
import type { StageError } from "../../stages/errors.ts";
import type { SourceName } from "../../stages/ir.ts";
import type { DiscoveredRecord } from "../../stages/source_contract.ts";
import { redactUrl } from "../http/http_errors.ts";
import { politely } from "./live_policy.ts";
import type { LiveSourceOptions } from "./live_settings.ts";

/**
 * What one page gave: its records, the next page's URL when there is one, and the number of
 * matches the API reports.
 *
 * @category models
 */
export interface PageStep {
  /** The page's records, in page order. */
  readonly records: ReadonlyArray<DiscoveredRecord>;
  /** The next page's URL; absent on the last page. */
  readonly next?: string;
  /** How many records match in all, when the API says. */
  readonly total?: number;
}

/**
 * Where a discovery runs: the source, its policy and its client settings.
 *
 * @category models
 */
export interface LiveRun {
  /** The source whose records are listed (`openalex-pdf` lists OpenAlex works too). */
  readonly source: SourceName;
  /** The policy each request runs under. */
  readonly policy: Policy;
  /** The client settings. */
  readonly settings: LiveSourceOptions;
}

/**
 * Walks pages from `first` until `limit` records are kept or the API has no next page. `step`
 * fetches one page (exactly one request) given the number of records the earlier pages held; each
 * call runs under the run's policy. A record whose key an earlier page already gave is kept once.
 *
 * @category combinators
 */
export const walkPages = (
  run: LiveRun,
  limit: number,
  first: string,
  step: (url: string, seen: number) => Effect.Effect<PageStep, StageError>,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience> =>
  Effect.gen(function* () {
    const kept: Array<DiscoveredRecord> = [];
    const keys = new Set<string>();
    let seen = 0;
    let pages = 0;
    let url: string | undefined = first;
    while (url !== undefined && kept.length < limit) {
      const page: PageStep = yield* politely(run.policy, run.source, url, step(url, seen));
      pages += 1;
      seen += page.records.length;
      for (const found of page.records) {
        if (kept.length >= limit) break;
        if (keys.has(found.docKey)) continue;
        keys.add(found.docKey);
        kept.push(found);
      }
      run.settings.onPage?.({
        source: run.source,
        url: redactUrl(url),
        pages,
        records: kept.length,
        ...(page.total === undefined ? {} : { total: page.total }),
      });
      url = page.records.length === 0 ? undefined : page.next;
    }
    return kept;
  });

/**
 * The page size to ask for: the configured one, else the limit, capped by the API's largest page.
 *
 * @category combinators
 */
export const pageSizeFor = (settings: LiveSourceOptions, limit: number, max: number): number =>
  Math.max(1, Math.min(settings.pageSize ?? limit, max));
