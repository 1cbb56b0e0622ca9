/**
 * The client settings of live discovery (`discover` and `fetch` of the built-in sources): who the
 * client says it is, the OpenAlex polite-pool address and the openFDA key, the policy every request
 * runs under, the page size, and a callback that hears about each page. A command provides them
 * (`runPipeline` from the environment and its policy file); without them a discovery runs with
 * the defaults below.
 *
 * @module
 */
import { Context } from "effect";
import type { Policy } from "../../policies/policy.ts";
import type { SourceName } from "../../stages/ir.ts";
import type { HttpIngestOptions } from "./http_ingest.ts";

/**
 * Which openFDA endpoint a query searches: drug labels, Drugs@FDA applications or FAERS reports.
 *
 * @category models
 */
export type OpenFdaEndpoint = "label" | "drugsfda" | "event";

/**
 * One page a live discovery fetched, as progress displays show it.
 *
 * @category models
 */
export interface PageProgress {
  /** The source being listed. */
  readonly source: SourceName;
  /** The page's URL, credentials masked. */
  readonly url: string;
  /** Pages fetched so far, this one included. */
  readonly pages: number;
  /** Records kept so far. */
  readonly records: number;
  /** How many records the API says match, when it says. */
  readonly total?: number;
}

/**
 * How live discovery talks to the APIs.
 *
 * @category models
 */
export interface LiveSourceOptions extends HttpIngestOptions {
  /** The openFDA `api_key` (raises openFDA's daily limit); none when absent. */
  readonly apiKey?: string;
  /**
   * The policy every request runs under: its rate limit (per host), retries, `Retry-After`,
   * attempt timeout and breaker.
   * @default the kit's `polite-api` policy from `policies/resilience.yaml`
   */
  readonly policy?: Policy;
  /**
   * Records asked for per page, capped by each API's largest page.
   * @default the query's limit
   */
  readonly pageSize?: number;
  /**
   * The openFDA endpoint `query` searches.
   * @default "label"
   */
  readonly openFdaEndpoint?: OpenFdaEndpoint;
  /** Called after each page with what was fetched so far. */
  readonly onPage?: (progress: PageProgress) => void;
}

/**
 * The settings live discovery uses; empty (all defaults) unless a command provides them.
 *
 * @category services
 */
export const LiveSourceSettings: Context.Reference<LiveSourceOptions> = Context.Reference<
  LiveSourceOptions
>("@medkg/lineage-kit/LiveSourceSettings", { defaultValue: () => ({}) });

const nonBlank = (value: string | undefined): string | undefined => {
  const trimmed = value?.trim() ?? "";
  return trimmed === "" ? undefined : trimmed;
};

/**
 * Reads the settings from the environment: `OPENALEX_MAILTO` becomes `mailto` and
 * `OPENFDA_API_KEY` becomes `apiKey`.
 *
 * @example
 * ```ts
 * import { liveSourceOptionsFromEnv } from "./live_settings.ts";
 *
 * liveSourceOptionsFromEnv({ OPENALEX_MAILTO: "data-team@example.org" });
 * // { mailto: "data-team@example.org" }
 * ```
 *
 * @category constructors
 */
export const liveSourceOptionsFromEnv = (
  env: Readonly<Record<string, string | undefined>>,
): LiveSourceOptions => {
  const mailto = nonBlank(env.OPENALEX_MAILTO);
  const apiKey = nonBlank(env.OPENFDA_API_KEY);
  return {
    ...(mailto === undefined ? {} : { mailto }),
    ...(apiKey === undefined ? {} : { apiKey }),
  };
};
