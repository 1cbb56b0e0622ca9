/**
 * Helpers for the live discovery tests: the built-in sources' `discover` run with given settings,
 * and the requests msw saw, reduced to what the tests compare.
 */
import { Effect } from "effect";
import { builtinSources } from "../../../adapters/sources/builtin_sources.ts";
import {
  type LiveSourceOptions,
  LiveSourceSettings,
} from "../../../adapters/sources/live_settings.ts";
import type { StageError } from "../../../stages/errors.ts";
import type { DiscoveredRecord, SourceQuery } from "../../../stages/source_contract.ts";
import type { Recorder } from "../../_fixtures/http.ts";

/** The built-in `discover` of a source, with the settings provided. */
export const discoverEffect = (
  source: string,
  query: SourceQuery,
  settings: LiveSourceOptions = {},
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError> => {
  const discover = builtinSources.find((s) => s.name === source)?.discover;
  if (discover === undefined) throw new Error(`no live discovery for ${source}`);
  return Effect.provideService(discover(query), LiveSourceSettings, settings);
};

/** Runs a built-in `discover` to its records. */
export const discover = (
  source: string,
  query: SourceQuery,
  settings: LiveSourceOptions = {},
): Promise<ReadonlyArray<DiscoveredRecord>> =>
  Effect.runPromise(discoverEffect(source, query, settings));

/** Runs a built-in `discover` that must fail, to its error. */
export const discoverFailure = (
  source: string,
  query: SourceQuery,
  settings: LiveSourceOptions = {},
): Promise<StageError> => Effect.runPromise(Effect.flip(discoverEffect(source, query, settings)));

/** Each request msw received: method, URL and the headers a polite client sends. */
export const sentRequests = async (recorder: Recorder) =>
  (await recorder.requests()).map((r) => ({
    method: r.method,
    url: r.url,
    accept: r.headers["accept"],
    userAgent: r.headers["user-agent"],
  }));

/** The URLs msw received, in order. */
export const sentUrls = async (recorder: Recorder): Promise<ReadonlyArray<string>> =>
  (await recorder.requests()).map((r) => r.url);
