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

const fetchJson = async (url: URL): Promise<unknown> => {
  const where = `GET ${redactUrl(url.href)}`;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`${where}: ${describeNetworkError(e).reason}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${where}: HTTP ${response.status}`);
  }
  return parseJson(await response.text(), where);
};

const readJson = async (url: URL): Promise<unknown> => {
  if (url.protocol === "file:") return parseJson(await Deno.readTextFile(url), url.href);
  if (url.protocol === "http:" || url.protocol === "https:") return await fetchJson(url);
  throw new Error(`${redactUrl(url.href)}: expected a file:, http: or https: URI`);
};

/**
 * Reads the parsed document at `uri` (`file:`, `http:` or `https:`) for `job`; fails with what
 * is wrong: the URI, the request (an error status, a network failure), the JSON, or its shape.
 *
 * @category constructors
 */
export const loadParsedDocument = (
  uri: string,
  job: ParsedDocumentJob,
): Effect.Effect<Document, Error> =>
  Effect.tryPromise({
    try: async () => {
      const body = await readJson(new URL(uri));
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
