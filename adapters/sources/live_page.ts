/**
 * One page of a live list endpoint, fetched and checked: the body is read under the input limits
 * (size, UTF-8, JSON, value count) like a recorded file, its envelope must pass the source's zod
 * schema, and every record on it must carry a readable document key and pass the record guard.
 * Anything else is `InvalidInput` naming the URL and the field, so a page that is not a list
 * response of the source never turns into jobs.
 *
 * @module
 */
import { Effect } from "effect";
import type { z } from "zod";
import { InvalidInput, type StageError, type Transient } from "../../stages/errors.ts";
import type { SourceName } from "../../stages/ir.ts";
import type { DiscoveredRecord } from "../../stages/source_contract.ts";
import { type BytesResponse, fetchBytes, parseJsonBody } from "../http/fetch_json.ts";
import { type HttpOutcome, redactUrl } from "../http/http_errors.ts";
import { describeTopLevel, detectShape, pathOf, resolvePointer } from "./_record_shape.ts";
import { inputLimitKeys, type InputLimits, resolveInputLimits } from "./input_limits.ts";
import { bytesToText, checkValueCount } from "./json_input.ts";
import { defaultUserAgent } from "./http_ingest.ts";
import { guardRecord } from "./record_guard.ts";
import type { LiveSourceOptions } from "./live_settings.ts";

/**
 * What to fetch, and what the answer must look like.
 *
 * @category models
 */
export interface PageRequest<Envelope> {
  /** The page's URL (credentials included; messages mask them). */
  readonly url: string;
  /** The record format the page holds (`clinicaltrials`, `openalex`, `openfda`). */
  readonly format: SourceName;
  /** What the page is, for messages: "a ClinicalTrials.gov studies page". */
  readonly expected: string;
  /** The envelope's schema: the paging fields and the record array. */
  readonly schema: z.ZodType<Envelope>;
  /** An adapter's own reading of a failed exchange (see `fetchBytes`). */
  readonly classify?: (outcome: HttpOutcome) => StageError | undefined;
}

/**
 * A checked page: its envelope, its records with their keys, and the response headers.
 *
 * @category models
 */
export interface CheckedPage<Envelope> {
  /** The envelope as the schema read it. */
  readonly envelope: Envelope;
  /** The page's records, in page order. */
  readonly records: ReadonlyArray<DiscoveredRecord>;
  /** The response headers (openFDA's `link`). */
  readonly headers: Headers;
}

const invalid = (url: string, message: string): InvalidInput =>
  new InvalidInput({ message: `GET ${redactUrl(url)}: ${message}`, path: redactUrl(url) });

// The body under the limits; a body cut short by the connection is Transient (parseJsonBody says
// which), anything else that is not JSON within the limits is the remote's fault.
const decode = (
  url: string,
  response: BytesResponse,
  limits: InputLimits,
): Effect.Effect<unknown, InvalidInput | Transient> => {
  const where = `GET ${redactUrl(url)}`;
  if (response.overLimit) {
    return Effect.fail(invalid(
      url,
      `body larger than the limit of ${limits.maxBytes} bytes (${inputLimitKeys.maxBytes})`,
    ));
  }
  const text = bytesToText(where, response.bytes, limits);
  if (!text.ok) return Effect.fail(text.error);
  return Effect.flatMap(
    parseJsonBody("GET", url, { ...response, text: text.value }),
    ({ body }) => {
      const counted = checkValueCount(where, body, limits);
      return counted.ok ? Effect.succeed(counted.value) : Effect.fail(counted.error);
    },
  );
};

const checkEnvelope = <Envelope>(
  request: PageRequest<Envelope>,
  body: unknown,
): Effect.Effect<Envelope, InvalidInput> => {
  const decoded = request.schema.safeParse(body);
  if (decoded.success) return Effect.succeed(decoded.data);
  const issues = decoded.error.issues.slice(0, 3).map((issue) =>
    `${issue.path.length === 0 ? "(root)" : pathOf(issue.path)}: ${issue.message}`
  );
  const more = decoded.error.issues.length > 3
    ? ` (and ${decoded.error.issues.length - 3} more)`
    : "";
  return Effect.fail(invalid(request.url, `not ${request.expected}: ${issues.join("; ")}${more}`));
};

// Keys are read the way recorded files are read (`_record_shape.ts`), so a live record and the
// same record in a file get the same document key.
const recordsOf = (
  request: PageRequest<unknown>,
  body: unknown,
  limits: InputLimits,
): Effect.Effect<ReadonlyArray<DiscoveredRecord>, InvalidInput> => {
  const shape = detectShape(body, request.format);
  if (shape?.refusal !== undefined) return Effect.fail(invalid(request.url, shape.refusal));
  if (shape === undefined || shape.kind !== "list") {
    return Effect.fail(
      invalid(request.url, `not ${request.expected} (found ${describeTopLevel(body)})`),
    );
  }
  const records: Array<DiscoveredRecord> = [];
  for (const ref of shape.records) {
    if (ref.docKey === undefined) {
      return Effect.fail(invalid(request.url, ref.problem ?? "a record without a key"));
    }
    const record = resolvePointer(body, ref.pointer)?.value;
    const problem = guardRecord(`GET ${redactUrl(request.url)}`, ref.pointer, record, limits);
    if (problem !== undefined) return Effect.fail(problem);
    records.push({ docKey: ref.docKey, record });
  }
  return Effect.succeed(records);
};

/**
 * Fetches one page with the settings' client (user agent, fetch, timeout, limits) and checks it.
 * It makes exactly one request: retries and rate limits are the caller's policy.
 *
 * @category constructors
 */
export const fetchCheckedPage = <Envelope>(
  request: PageRequest<Envelope>,
  settings: LiveSourceOptions,
): Effect.Effect<CheckedPage<Envelope>, StageError> => {
  const limits = resolveInputLimits(settings.limits);
  const headers = {
    accept: "application/json",
    "user-agent": settings.userAgent ?? defaultUserAgent,
  };
  return fetchBytes(request.url, { method: "GET", headers }, {
    maxBytes: limits.maxBytes,
    ...(settings.fetch === undefined ? {} : { fetch: settings.fetch }),
    ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
    ...(request.classify === undefined ? {} : { classify: request.classify }),
  }).pipe(
    Effect.flatMap((response) =>
      Effect.flatMap(
        decode(request.url, response, limits),
        (body) =>
          Effect.flatMap(checkEnvelope(request, body), (envelope) =>
            Effect.map(recordsOf(request, body, limits), (records) => ({
              envelope,
              records,
              headers: response.headers,
            }))),
      )
    ),
  );
};
