/**
 * The Ingest stage for live APIs, the HTTP twin of `file_ingest.ts`: GETs the URL a request
 * points at and returns the one record it names. ClinicalTrials.gov and OpenAlex answer a single
 * record; openFDA answers a search whose first result is the label.
 *
 * The body is held to the same {@link InputLimits} as a recorded file before it becomes a stage
 * output: at most `max_bytes` are read, they must be UTF-8 and JSON with at most `max_fields`
 * values, and the selected record must pass the record guard (depth, string length, characters
 * the store cannot hold). Each failure is `InvalidInput` naming the URL and the byte offset or field.
 *
 * openFDA's live URLs follow the document key: a `set_id` (UUID) searches labels, an
 * `application_number` (`NDA021588`, `ANDA…`, `BLA…`) Drugs@FDA, and `faers-<safetyreportid>` FAERS
 * reports; a `count=` response is refused as a statistic, not a document.
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
import { InvalidInput, Permanent, type StageError, type Transient } from "../../stages/errors.ts";
import {
  type IngestRequest,
  type RawPayload,
  recordFormatOf,
  type SourceName,
} from "../../stages/ir.ts";
import { type BytesResponse, dependencyOf, fetchBytes, parseJsonBody } from "../http/fetch_json.ts";
import {
  describeOutcome,
  type HttpOutcome,
  parseRemoteError,
  redactUrl,
} from "../http/http_errors.ts";
import { describeTopLevel, detectShape } from "./_record_shape.ts";
import { bytesToText, checkValueCount } from "./json_input.ts";
import {
  inputLimitKeys,
  type InputLimits,
  type InputLimitsOptions,
  resolveInputLimits,
} from "./input_limits.ts";
import { guardRecord } from "./record_guard.ts";

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
  /**
   * The limits a response body and its record are held to.
   * @default defaultInputLimits
   */
  readonly limits?: InputLimitsOptions;
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

/** Which openFDA record kind a document key names (see the module notes). */
type OpenFdaKeyKind = "label" | "drugsfda" | "event";

const applicationNumber = /^(?:NDA|ANDA|BLA)\d+$/i;
const faersPrefix = "faers-";

const openFdaKeyKind = (docKey: string): OpenFdaKeyKind =>
  applicationNumber.test(docKey) ? "drugsfda" : docKey.startsWith(faersPrefix) ? "event" : "label";

const openFdaSearch: Readonly<Record<OpenFdaKeyKind, readonly [string, string]>> = {
  label: ["label", "set_id"],
  drugsfda: ["drugsfda", "application_number"],
  event: ["event", "safetyreportid"],
};

const openFdaUrl = (docKey: string): string => {
  const kind = openFdaKeyKind(docKey);
  const [endpoint, field] = openFdaSearch[kind];
  const value = kind === "event" ? docKey.slice(faersPrefix.length) : docKey;
  return `https://api.fda.gov/drug/${endpoint}.json?search=${field}:%22${
    encodeURIComponent(value)
  }%22&limit=1`;
};

// What a search without hits means, per kind: "no label with set_id …".
const openFdaNotFound = (docKey: string): string => {
  const kind = openFdaKeyKind(docKey);
  return kind === "drugsfda"
    ? `no Drugs@FDA application ${docKey}`
    : kind === "event"
    ? `no FAERS report ${docKey.slice(faersPrefix.length)}`
    : `no label with set_id ${docKey}`;
};

const liveUrls: Readonly<Partial<Record<SourceName, (docKey: string) => string>>> = {
  clinicaltrials: (nctId) =>
    `https://clinicaltrials.gov/api/v2/studies/${encodeURIComponent(nctId)}`,
  openalex: (workId) => `https://${openAlexHost}/works/${encodeURIComponent(workId)}`,
  openfda: openFdaUrl,
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
const classifyOpenFda = (docKey: string) => (outcome: HttpOutcome): StageError | undefined => {
  if (outcome.kind !== "status") return undefined;
  const remote = parseRemoteError(outcome.text);
  const path = redactUrl(outcome.url);
  if (outcome.status === 404 && remote?.code === "NOT_FOUND") {
    const message = `${openFdaNotFound(docKey)} (${describeOutcome(outcome)})`;
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

// The body under the limits. A body cut short by the connection is Transient (parseJsonBody says
// which); one that is too large, not UTF-8, not JSON or holds too many values is the data's fault.
const decodeBody = (
  url: string,
  response: BytesResponse,
  limits: InputLimits,
): Effect.Effect<unknown, InvalidInput | Transient> => {
  const where = `GET ${redactUrl(url)}`;
  if (response.overLimit) {
    return Effect.fail(
      new InvalidInput({
        message: `${where}: body larger than the limit of ${limits.maxBytes} bytes ` +
          `(${inputLimitKeys.maxBytes})`,
        path: redactUrl(url),
      }),
    );
  }
  const text = bytesToText(where, response.bytes, limits);
  if (!text.ok) return Effect.fail(text.error);
  return parseJsonBody("GET", url, { ...response, text: text.value }).pipe(
    Effect.flatMap(({ body }) => {
      const counted = checkValueCount(where, body, limits);
      return counted.ok ? Effect.succeed(counted.value) : Effect.fail(counted.error);
    }),
  );
};

const selectRecord = (
  request: IngestRequest,
  rawUrl: string,
  body: unknown,
): Effect.Effect<{ readonly record: unknown; readonly pointer: string }, InvalidInput> => {
  const url = redactUrl(rawUrl);
  const shape = detectShape(body, recordFormatOf(request.source));
  if (shape?.refusal !== undefined) {
    return Effect.fail(new InvalidInput({ message: `GET ${url}: ${shape.refusal}`, path: url }));
  }
  if (request.source === "openfda" && shape?.kind === "list") {
    const results = (body as { readonly results: ReadonlyArray<unknown> }).results;
    return results.length > 0
      ? Effect.succeed({ record: results[0], pointer: "/results/0" })
      : Effect.fail(
        new InvalidInput({
          message: `${openFdaNotFound(request.docKey)} (GET ${url})`,
          path: url,
        }),
      );
  }
  // Sources without a known record shape pass their body through for their parser to judge.
  if (shape?.kind === "single" || !(recordFormatOf(request.source) in liveUrls)) {
    return Effect.succeed({ record: body, pointer: "" });
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
  const limits = resolveInputLimits(options.limits);
  const url = withMailto(location.url, options.mailto);
  const headers = {
    accept: "application/json",
    "user-agent": options.userAgent ?? defaultUserAgent,
  };
  const classify = request.source === "openfda" ? classifyOpenFda(request.docKey) : undefined;
  return fetchBytes(url, { method: "GET", headers }, {
    maxBytes: limits.maxBytes,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(classify === undefined ? {} : { classify }),
  }).pipe(
    Effect.flatMap((response) => decodeBody(url, response, limits)),
    Effect.flatMap((body) => {
      const guard = (pointer: string, value: unknown) => {
        const problem = guardRecord(`GET ${redactUrl(url)}`, pointer, value, limits);
        return problem === undefined ? Effect.void : Effect.fail(problem);
      };
      const selected = selectRecord(request, location.url, body);
      // openFDA answers a search: only the result taken is checked. Any other body is the
      // record, checked whole before its shape is read (so a NUL in its id names the field).
      return recordFormatOf(request.source) === "openfda"
        ? Effect.flatMap(
          selected,
          ({ record, pointer }) => Effect.as(guard(pointer, record), record),
        )
        : Effect.flatMap(guard("", body), () => Effect.map(selected, (s) => s.record));
    }),
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
