/**
 * A parsed document a GPU worker left for the bridge (`document_uri` of `mineru.completed`): a
 * MinerU content list, or a kit Document, as JSON in a file or behind an http(s) URL.
 *
 * @module
 */
import { Effect } from "effect";
import type { Document } from "../../stages/ir.ts";
import type { Job } from "../../pipelines/ledger.ts";
import { describeNetworkError } from "../../stages/network_error.ts";
import { redactUrl } from "../http/http_errors.ts";
import { contentListSchema, contentListToDocument } from "./content_list.ts";

/** What a content list's document takes from its job: its id, source and record location. */
export type ParsedDocumentJob = Pick<Job, "docId"> & {
  readonly request: Pick<Job["request"], "source" | "location">;
};

const parseJson = (text: string, where: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${where}: not JSON`);
  }
};

const fetchJson = async (url: URL, signal: AbortSignal, timeoutMs: number): Promise<unknown> => {
  const where = `GET ${redactUrl(url.href)}`;
  const limited = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
  const failed = (e: unknown) =>
    new Error(
      `${where}: ${
        (e as { name?: unknown } | null)?.name === "TimeoutError"
          ? `no answer within ${timeoutMs} ms`
          : describeNetworkError(e).reason
      }`,
    );
  let response: Response;
  try {
    response = await fetch(url, { signal: limited });
  } catch (e) {
    throw failed(e);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${where}: HTTP ${response.status}`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (e) {
    throw failed(e);
  }
  return parseJson(text, where);
};

const readJson = async (url: URL, signal: AbortSignal, timeoutMs: number): Promise<unknown> => {
  if (url.protocol === "file:") return parseJson(await Deno.readTextFile(url), url.href);
  if (url.protocol === "http:" || url.protocol === "https:") {
    return await fetchJson(url, signal, timeoutMs);
  }
  throw new Error(`${redactUrl(url.href)}: expected a file:, http: or https: URI`);
};

/** Options of {@link loadParsedDocument}. */
export interface ParsedDocumentOptions {
  /** How long an http(s) document may take to arrive whole. @default 60_000 */
  readonly timeoutMs?: number;
}

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
  Effect.tryPromise({
    try: async (signal) => {
      const body = await readJson(new URL(uri), signal, options.timeoutMs ?? 60_000);
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
    catch: (e) => (e instanceof Error ? e : new Error(String(e))),
  });
