/**
 * OpenAlex live discovery against recorded cursor pages (`works_filter_*_cursor_20251117.json`:
 * `cursor=*` pages of an `openalex:` id filter and a `cites:` filter, each holding every match
 * with a `next_cursor` still set, as OpenAlex answers the last page).
 */
import { http, HttpResponse, type JsonBodyType } from "msw";
import { describe, expect, it } from "vitest";
import { openAlexPageUrl, openAlexWorksUrl } from "../../../adapters/sources/openalex_live.ts";
import { defaultUserAgent } from "../../../adapters/sources/http_ingest.ts";
import type { PageProgress } from "../../../adapters/sources/live_settings.ts";
import { InvalidInput } from "../../../stages/errors.ts";
import { compareStageErrorMessages, recordedJson, useMockServer } from "../../_fixtures/http.ts";
import { discover, discoverFailure, sentRequests, sentUrls } from "./_live_harness.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

type Page = {
  meta: { count: unknown; next_cursor: string };
  results: Array<{ id: string }>;
};
const byIds = recordedJson("openalex/works_filter_openalex_ids_cursor_20251117.json") as Page;
const cites = recordedJson("openalex/works_filter_cites_cursor_20251117.json") as Page;
const keysOf = (page: Page) => page.results.map((w) => w.id.replace("https://openalex.org/", ""));
const mailto = "data-team@example.org";

/** Answers the first page of a filter (`cursor=*`); a later cursor is a request not expected. */
const serveFirstPage = (filter: string, page: JsonBodyType) =>
  server.use(
    http.get(openAlexWorksUrl, ({ request }) => {
      const params = new URL(request.url).searchParams;
      return params.get("filter") === filter && params.get("cursor") === "*"
        ? HttpResponse.json(page)
        : HttpResponse.json({ unexpected: request.url }, { status: 418 });
    }),
  );

describe("openalex discover()", () => {
  it("lists --ids through one openalex: filter with mailto, and stops once meta.count works came", async () => {
    serveFirstPage("openalex:W3045921891|W3046863325", byIds);
    const progress: Array<PageProgress> = [];
    const found = await discover("openalex", {
      ids: ["W3045921891", "https://openalex.org/W3046863325"],
      limit: 2,
    }, { mailto, onPage: (p) => progress.push(p) });
    expect(found.map((f) => f.docKey)).toEqual(["W3046863325", "W3045921891"]);
    expect(found.map((f) => f.record)).toEqual(byIds.results);
    // The recording asked per-page=200; both hold the two works the filter names.
    const url = "https://api.openalex.org/works?filter=openalex%3AW3045921891%7CW3046863325" +
      "&per-page=2&cursor=*&mailto=data-team%40example.org";
    expect(await sentRequests(recorder)).toEqual([
      { method: "GET", url, accept: "application/json", userAgent: defaultUserAgent },
    ]);
    // The page kept a next_cursor; the page it leads to would be empty, so it is not asked for.
    expect(byIds.meta.next_cursor).toMatch(/^Il/);
    expect(progress).toEqual([{
      source: "openalex",
      url: url.replace("data-team%40example.org", "***"),
      pages: 1,
      records: 2,
      total: 2,
    }]);
  });

  it("passes --filter as filter= and keeps the first records up to the limit", async () => {
    serveFirstPage("cites:W3046863325|W3045921891", cites);
    const all = await discover("openalex", { filter: "cites:W3046863325|W3045921891", limit: 20 });
    expect(all.map((f) => f.docKey)).toEqual(keysOf(cites));
    expect(all).toHaveLength(5);
    const few = await discover("openalex-pdf", {
      filter: "cites:W3046863325|W3045921891",
      limit: 3,
    }, { pageSize: 200 });
    expect(few.map((f) => f.docKey)).toEqual(keysOf(cites).slice(0, 3));
    expect(await sentUrls(recorder)).toEqual([
      "https://api.openalex.org/works?filter=cites%3AW3046863325%7CW3045921891&per-page=20&cursor=*",
      "https://api.openalex.org/works?filter=cites%3AW3046863325%7CW3045921891&per-page=200&cursor=*",
    ]);
  });

  it("sends search= for --query, and the next page's cursor as it came", () => {
    expect(openAlexPageUrl({ search: "melanoma immunotherapy", perPage: 50 }, "*")).toBe(
      "https://api.openalex.org/works?search=melanoma+immunotherapy&per-page=50&cursor=*",
    );
    expect(
      openAlexPageUrl(
        { search: "x", filter: "publication_year:2024", perPage: 200, mailto },
        byIds.meta.next_cursor,
      ),
    ).toBe(
      "https://api.openalex.org/works?search=x&filter=publication_year%3A2024&per-page=200" +
        `&cursor=${encodeURIComponent(byIds.meta.next_cursor)}&mailto=data-team%40example.org`,
    );
  });

  it("refuses a page whose meta is not an OpenAlex list meta, naming the field", async () => {
    const bad = { ...byIds, meta: { ...byIds.meta, count: "2" } };
    serveFirstPage("openalex:W3045921891", bad);
    const url = "https://api.openalex.org/works?filter=openalex%3AW3045921891&per-page=1&cursor=*";
    expect(await discoverFailure("openalex", { ids: ["W3045921891"], limit: 1 })).toEqual(
      new InvalidInput({
        message: `GET ${url}: not an OpenAlex works page: ` +
          "meta.count: Invalid input: expected number, received string",
        path: url,
      }),
    );
  });

  it("refuses ids that are not work ids before any request", async () => {
    expect(await discoverFailure("openalex", { ids: ["A5023888391"], limit: 1 })).toEqual(
      new InvalidInput({
        message: "OpenAlex discovery: " +
          'ids[0]: expected an OpenAlex work id (W and digits), received "A5023888391"',
        path: "query",
      }),
    );
    expect(await sentUrls(recorder)).toEqual([]);
  });
});
