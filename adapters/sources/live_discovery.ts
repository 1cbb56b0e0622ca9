/**
 * Makes a source's `discover` from its paging code: the query is checked first (no request is
 * made for a query the source cannot answer), then the code runs with the current settings, under
 * the policy, in the process's resilience state or a fresh one.
 *
 * @module
 */
import { Effect } from "effect";
import type { Resilience } from "../../policies/resilience.ts";
import type { StageError } from "../../stages/errors.ts";
import type { SourceName } from "../../stages/ir.ts";
import type { DiscoveredRecord, SourceQuery } from "../../stages/source_contract.ts";
import { inResilience, livePolicy } from "./live_policy.ts";
import type { LiveRun } from "./live_paging.ts";
import { checkSourceQuery, type LiveQuerySpec } from "./live_query.ts";
import { LiveSourceSettings } from "./live_settings.ts";

/**
 * The paging code of one API: lists the records a checked query asks for.
 *
 * @category models
 */
export type LiveLister = (
  run: LiveRun,
  query: SourceQuery,
) => Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError, Resilience>;

/**
 * A `discover` for `source` from its query spec and paging code.
 *
 * @category constructors
 */
export const liveDiscover = (
  source: SourceName,
  spec: LiveQuerySpec,
  list: LiveLister,
): (query: SourceQuery) => Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError> =>
(query) =>
  Effect.gen(function* () {
    const checked = yield* checkSourceQuery(spec, query);
    const settings = yield* Effect.service(LiveSourceSettings);
    const policy = yield* livePolicy;
    return yield* inResilience(list({ source, policy, settings }, checked));
  });
