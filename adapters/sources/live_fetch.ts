/**
 * Single records fetched live by key, under the discovery policy: the `fetch` of the built-in
 * sources, and `--ids` for ClinicalTrials.gov (`/api/v2/studies/{nctId}`) and openFDA (a search
 * by `set_id`, application number or FAERS report id). The record is read as the HTTP Ingest stage
 * reads it (`fetchRecord`: input limits, record guard, openFDA's "no matches" as `InvalidInput`).
 *
 * @module
 */
import { Effect } from "effect";
import type { Resilience } from "../../policies/resilience.ts";
import type { StageError } from "../../stages/errors.ts";
import { type IngestRequest, recordFormatOf } from "../../stages/ir.ts";
import type { DiscoveredRecord } from "../../stages/source_contract.ts";
import { fetchRecord, urlFor } from "./http_ingest.ts";
import { inResilience, livePolicy, politely } from "./live_policy.ts";
import type { LiveRun } from "./live_paging.ts";
import { type LiveSourceOptions, LiveSourceSettings } from "./live_settings.ts";

/**
 * The URL a record is fetched from: the request's own when it names one, else its source's
 * single-record URL; openFDA URLs get the settings' `api_key`.
 *
 * @category combinators
 */
export const liveUrlOf = (request: IngestRequest, settings: LiveSourceOptions): string => {
  const base = request.location.kind === "url"
    ? request.location.url
    : urlFor(request.source, request.docKey);
  if (recordFormatOf(request.source) !== "openfda" || settings.apiKey === undefined) return base;
  const url = new URL(base);
  if (!url.searchParams.has("api_key")) url.searchParams.set("api_key", settings.apiKey);
  return url.toString();
};

const fetchOne = (
  run: LiveRun,
  request: IngestRequest,
): Effect.Effect<DiscoveredRecord, StageError, Resilience> => {
  const url = liveUrlOf(request, run.settings);
  const located: IngestRequest = { ...request, location: { kind: "url", url } };
  return politely(
    run.policy,
    run.source,
    url,
    Effect.map(fetchRecord(located, run.settings), (payload) => ({
      docKey: request.docKey,
      record: payload.record,
    })),
  );
};

/**
 * Fetches each key's record in turn, one request each under the policy.
 *
 * @category constructors
 */
export const fetchByIds = (
  run: LiveRun,
  ids: ReadonlyArray<string>,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience> =>
  Effect.forEach(ids, (docKey) =>
    fetchOne(run, {
      source: run.source,
      docKey,
      location: { kind: "url", url: urlFor(run.source, docKey) },
    }));

/**
 * A source's `fetch`: the one record a request names, fetched live under the policy with the
 * current {@link LiveSourceSettings}.
 *
 * @category constructors
 */
export const fetchLive = (request: IngestRequest): Effect.Effect<unknown, StageError> =>
  Effect.gen(function* () {
    const settings = yield* Effect.service(LiveSourceSettings);
    const policy = yield* livePolicy;
    const found = yield* inResilience(
      fetchOne({ source: request.source, policy, settings }, request),
    );
    return found.record;
  });
