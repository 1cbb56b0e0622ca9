/**
 * The Ingest stage for live APIs, the HTTP twin of `file_ingest.ts`: GETs the URL a request
 * points at and returns the one record it names. ClinicalTrials.gov and OpenAlex answer a single
 * record; openFDA answers a search whose first result is the label.
 *
 * It is a polite client: it sends a `User-Agent`, and adds `mailto` to OpenAlex requests when a
 * contact address is configured (OpenAlex's polite pool). HTTP failures become stage errors through
 * `adapters/http`; openFDA's "404 NOT_FOUND" means zero hits and becomes `InvalidInput`.
 *
 * @module
 */
import { Context, Effect } from "effect";
import { defineStage, type StageDefinition, type StageInputs } from "../../stages/contracts.ts";
import { rawPayloadSchema } from "../../stages/ir_schemas.ts";
import { InvalidInput, Permanent, type StageError } from "../../stages/errors.ts";
import {
  type IngestRequest,
  type RawPayload,
  recordFormatOf,
  type SourceName,
} from "../../stages/ir.ts";
import { dependencyOf, fetchJson } from "../http/fetch_json.ts";
import {
  describeOutcome,
  type HttpOutcome,
  parseRemoteError,
  redactUrl,
} from "../http/http_errors.ts";
import { describeTopLevel, detectShape } from "./_record_shape.ts";

/**
 * How the HTTP ingest stage talks to the sources.
 *
 * @category models
 */
export interface HttpIngestOptions {
  /**
   * The `User-Agent` header sent with every request.
   * @default defaultUserAgent
   */
  readonly userAgent?: string;
  /** A contact address added as `mailto` to OpenAlex requests (the polite pool). */
  readonly mailto?: string;
  /**
   * The fetch to call; the global `fetch` at call time when absent.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
  /**
   * Milliseconds to wait for each response.
   * @default 30000
   */
  readonly timeoutMs?: number;
}

/**
 * The `User-Agent` sent when none is configured.
 *
 * @category constructors
 */
export const defaultUserAgent = "lineage-kit/0.1.0 (+https://jsr.io/@medkg/lineage-kit)";

const openAlexHost = "api.openalex.org";

/**
 * Reads the stage's options from the environment: `OPENALEX_MAILTO` becomes `mailto`.
 *
 * @category constructors
 */
export const httpIngestOptionsFromEnv = (
  env: Readonly<Record<string, string | undefined>>,
): HttpIngestOptions => {
  const mailto = env.OPENALEX_MAILTO?.trim() ?? "";
  return mailto === "" ? {} : { mailto };
};

const liveUrls: Readonly<Partial<Record<SourceName, (docKey: string) => string>>> = {
  clinicaltrials: (nctId) =>
    `https://clinicaltrials.gov/api/v2/studies/${encodeURIComponent(nctId)}`,
  openalex: (workId) => `https://${openAlexHost}/works/${encodeURIComponent(workId)}`,
  openfda: (setId) =>
    `https://api.fda.gov/drug/label.json?search=set_id:%22${encodeURIComponent(setId)}%22&limit=1`,
};

/**
 * The live API URL of one document: a ClinicalTrials.gov study, an OpenAlex work or an openFDA
 * label searched by `set_id`.
 *
 * @example
 * ```ts
 * import { urlFor } from "./http_ingest.ts";
 *
 * console.log(urlFor("openalex", "W1982728624")); // "https://api.openalex.org/works/W1982728624"
 * ```
 *
 * @throws {RangeError} for a source without a live single-record endpoint.
 * @category constructors
 */
export const urlFor = (source: SourceName, docKey: string): string => {
  const build = liveUrls[recordFormatOf(source)];
  if (build === undefined) {
    const known = Object.keys(liveUrls).join(", ");
    throw new RangeError(`no live URL for source "${source}" (known: ${known})`);
  }
  return build(docKey);
};

/**
 * The dependency an ingest request calls (`host[:port]`), the key its circuit breaker and rate
 * limiter share; `file` for file locations, which call nothing remote.
 *
 * @category combinators
 */
export const httpIngestDependency = (inputs: StageInputs): string => {
  const { location } = inputs.request;
  return location.kind === "url" ? dependencyOf(location.url) : "file";
};

const withMailto = (url: string, mailto: string | undefined): string => {
  if (mailto === undefined || dependencyOf(url) !== openAlexHost || /[?&]mailto=/.test(url)) {
    return url;
  }
  const [base, fragment] = url.split("#", 2);
  const separator = base.includes("?") ? "&" : "?";
  const withParam = `${base}${separator}mailto=${encodeURIComponent(mailto)}`;
  return fragment === undefined ? withParam : `${withParam}#${fragment}`;
};

// openFDA answers a search without hits with 404 NOT_FOUND, and malformed query syntax (a quote in
// the set_id) with 500 token_mgr_error: neither goes away on retry.
const classifyOpenFda = (setId: string) => (outcome: HttpOutcome): StageError | undefined => {
  if (outcome.kind !== "status") return undefined;
  const remote = parseRemoteError(outcome.text);
  const path = redactUrl(outcome.url);
  if (outcome.status === 404 && remote?.code === "NOT_FOUND") {
    const message = `no label with set_id ${setId} (${describeOutcome(outcome)})`;
    return new InvalidInput({ message, path });
  }
  if (outcome.status === 500 && /token_mgr_error|Lexical error/.test(remote?.details ?? "")) {
    return new InvalidInput({
      message: `invalid openFDA query (${describeOutcome(outcome)})`,
      path,
    });
  }
  return undefined;
};

const selectRecord = (
  request: IngestRequest,
  rawUrl: string,
  body: unknown,
): Effect.Effect<unknown, InvalidInput> => {
  const url = redactUrl(rawUrl);
  const shape = detectShape(body, recordFormatOf(request.source));
  if (request.source === "openfda" && shape?.kind === "list") {
    const results = (body as { readonly results: ReadonlyArray<unknown> }).results;
    return results.length > 0 ? Effect.succeed(results[0]) : Effect.fail(
      new InvalidInput({
        message: `no label with set_id ${request.docKey} (GET ${url})`,
        path: url,
      }),
    );
  }
  // Sources without a known record shape pass their body through for their parser to judge.
  if (shape?.kind === "single" || !(recordFormatOf(request.source) in liveUrls)) {
    return Effect.succeed(body);
  }
  const found = shape === undefined ? describeTopLevel(body) : `a ${request.source} list response`;
  const message = `GET ${url}: not a record of source "${request.source}" (found ${found})`;
  return Effect.fail(new InvalidInput({ message, path: url }));
};

/**
 * The client settings live ingest uses when its stage was built without explicit options: a
 * command provides them from the environment and configuration (`OPENALEX_MAILTO`, user agent).
 *
 * @category services
 */
export const HttpIngestSettings: Context.Reference<HttpIngestOptions> = Context.Reference<
  HttpIngestOptions
>("@medkg/lineage-kit/HttpIngestSettings", { defaultValue: () => ({}) });

/**
 * Fetches the one record a `url` request names, with the given client settings.
 *
 * @category constructors
 */
export const fetchRecord = (
  request: IngestRequest,
  options: HttpIngestOptions = {},
): Effect.Effect<RawPayload, StageError> => {
  const { location } = request;
  if (location.kind !== "url") {
    const message = `${request.docKey}: http ingest cannot read a "${location.kind}" location`;
    return Effect.fail(new Permanent({ message }));
  }
  const url = withMailto(location.url, options.mailto);
  const headers = {
    accept: "application/json",
    "user-agent": options.userAgent ?? defaultUserAgent,
  };
  const classify = request.source === "openfda" ? classifyOpenFda(request.docKey) : undefined;
  return fetchJson(url, { method: "GET", headers }, {
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(classify === undefined ? {} : { classify }),
  }).pipe(
    Effect.flatMap((response) => selectRecord(request, location.url, response.body)),
    Effect.map((record): RawPayload => ({
      source: request.source,
      docKey: request.docKey,
      location,
      record,
    })),
  );
};

/**
 * Builds an Ingest stage for `url` locations with the given client settings (by default those
 * of {@link HttpIngestSettings}).
 *
 * @example
 * ```ts
 * import { makeHttpIngestStage, urlFor } from "./http_ingest.ts";
 *
 * const stage = makeHttpIngestStage({ mailto: "data-team@example.org" });
 * console.log(stage.implementation, urlFor("clinicaltrials", "NCT00763412")); // "http-ingest" …
 * ```
 *
 * @category constructors
 */
export const makeHttpIngestStage = (
  options?: HttpIngestOptions,
): StageDefinition<RawPayload, Record<string, never>, Record<never, never>> =>
  defineStage({
    type: "Ingest",
    implementation: "http-ingest",
    description: "fetches one record from a live API",
    output: rawPayloadSchema,
    dependency: (_ctx, inputs) => httpIngestDependency(inputs),
    run: (_ctx, { request }) =>
      Effect.flatMap(
        options === undefined ? Effect.service(HttpIngestSettings) : Effect.succeed(options),
        (settings) => fetchRecord(request, settings),
      ),
  });

/**
 * The HTTP Ingest stage with the settings of {@link HttpIngestSettings}.
 *
 * @category constructors
 */
export const httpIngestStage: StageDefinition<
  RawPayload,
  Record<string, never>,
  Record<never, never>
> = makeHttpIngestStage();
