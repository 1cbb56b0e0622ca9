/**
 * A parsed document a GPU worker left for the bridge (`document_uri` of `mineru.completed`): a
 * MinerU content list, or a kit Document, as JSON in a file or behind an http(s) URL.
 *
 * @module
 */
import { Effect } from "effect";
import type { Document } from "../../stages/ir.ts";
import type { Job } from "../../pipelines/ledger.ts";
import { fetchJson } from "../http/fetch_json.ts";
import { redactUrl } from "../http/http_errors.ts";
import { contentListSchema, contentListToDocument } from "./content_list.ts";

/** What a content list's document takes from its job: its id, source and record location. */
export type ParsedDocumentJob = Pick<Job, "docId"> & {
  readonly request: Pick<Job["request"], "source" | "location">;
};

/** Options of {@link loadParsedDocument}. */
export interface ParsedDocumentOptions {
  /** How long an http(s) document may take to arrive whole. @default 60_000 */
  readonly timeoutMs?: number;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

const readFileJson = (url: URL): Effect.Effect<unknown, Error> =>
  Effect.tryPromise({
    try: async () => {
      const text = await Deno.readTextFile(url);
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`${url.href}: not JSON`);
      }
    },
    catch: asError,
  });

// Over http(s) as every adapter fetches: its time limit, and failures worded once
// (http_errors.ts).
const readJson = (uri: string, timeoutMs: number): Effect.Effect<unknown, Error> => {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (e) {
    return Effect.fail(asError(e));
  }
  if (url.protocol === "file:") return readFileJson(url);
  if (url.protocol === "http:" || url.protocol === "https:") {
    return Effect.map(fetchJson(url.href, undefined, { timeoutMs }), (response) => response.body);
  }
  return Effect.fail(new Error(`${redactUrl(url.href)}: expected a file:, http: or https: URI`));
};

/**
 * Reads the parsed document at `uri` (`file:`, `http:` or `https:`) for `job`; fails with what
 * is wrong: the URI, the request (an error status, a network failure, no answer in time), the
 * JSON, or its shape.
 *
 * @category constructors
 */
export const loadParsedDocument = (
  uri: string,
  job: ParsedDocumentJob,
  options: ParsedDocumentOptions = {},
): Effect.Effect<Document, Error> =>
  Effect.flatMap(readJson(uri, options.timeoutMs ?? 60_000), (body) =>
    Effect.try({
      try: () => {
        if (Array.isArray(body)) {
          return contentListToDocument(contentListSchema.parse(body), {
            docId: job.docId,
            source: job.request.source,
            location: job.request.location,
          });
        }
        if (body && typeof body === "object" && "sections" in body) return body as Document;
        throw new Error("expected a MinerU content list (array) or a document");
      },
      catch: asError,
    }));
