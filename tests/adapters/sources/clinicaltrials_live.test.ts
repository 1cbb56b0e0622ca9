/**
 * ClinicalTrials.gov live discovery against the two recorded pages of one paged search
 * (`search_phelan_limit5_*` and `search_phelan_next_*`, five studies each, both with a
 * `nextPageToken`; recorded for `query.cond=`, served here for `query.term=`) and the recorded
 * single-study records.
 */
import { http, HttpResponse, type JsonBodyType } from "msw";
import { describe, expect, it } from "vitest";
import {
  clinicalTrialsPageUrl,
  clinicalTrialsStudiesUrl,
} from "../../../adapters/sources/clinicaltrials_live.ts";
import { defaultUserAgent } from "../../../adapters/sources/http_ingest.ts";
import type { PageProgress } from "../../../adapters/sources/live_settings.ts";
import { InvalidInput } from "../../../stages/errors.ts";
import { compareStageErrorMessages, recordedJson, useMockServer } from "../../_fixtures/http.ts";
import { discover, discoverFailure, sentRequests, sentUrls } from "./_live_harness.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

type Page = {
  studies: Array<{ protocolSection: { identificationModule: { nctId: unknown } } }>;
  nextPageToken: string;
};
const page1 = recordedJson("clinicaltrials/search_phelan_limit5_20260811.json") as Page;
const page2 = recordedJson("clinicaltrials/search_phelan_next_20260811.json") as Page;
const term = "Phelan-McDermid Syndrome";
const keysOf = (page: Page) =>
  page.studies.map((s) => s.protocolSection.identificationModule.nctId);

const firstUrl =
  "https://clinicaltrials.gov/api/v2/studies?query.term=Phelan-McDermid+Syndrome&pageSize=5&countTotal=true";
const secondUrl =
  `https://clinicaltrials.gov/api/v2/studies?query.term=Phelan-McDermid+Syndrome&pageSize=5&pageToken=${page1.nextPageToken}`;

/** Serves the recorded pages by token; any other token is a request the test did not expect. */
const servePages = (first: JsonBodyType = page1) =>
  server.use(
    http.get(clinicalTrialsStudiesUrl, ({ request }) => {
      const token = new URL(request.url).searchParams.get("pageToken");
      if (token === null) return HttpResponse.json(first);
      if (token === page1.nextPageToken) return HttpResponse.json(page2);
      return HttpResponse.json({ unexpected: token }, { status: 418 });
    }),
  );

describe("clinicaltrials discover()", () => {
  it("pages with pageToken and stops at the limit although the API has a next page", async () => {
    servePages();
    const progress: Array<PageProgress> = [];
    const found = await discover("clinicaltrials", { query: term, limit: 10 }, {
      pageSize: 5,
      onPage: (p) => progress.push(p),
    });
    expect(found.map((f) => f.docKey)).toEqual([...keysOf(page1), ...keysOf(page2)]);
    expect(found.map((f) => f.record)).toEqual([...page1.studies, ...page2.studies]);
    expect(await sentRequests(recorder)).toEqual([
      { method: "GET", url: firstUrl, accept: "application/json", userAgent: defaultUserAgent },
      { method: "GET", url: secondUrl, accept: "application/json", userAgent: defaultUserAgent },
    ]);
    expect(progress).toEqual([
      { source: "clinicaltrials", url: firstUrl, pages: 1, records: 5, total: 21 },
      { source: "clinicaltrials", url: secondUrl, pages: 2, records: 10 },
    ]);
  });

  it("keeps only the records up to the limit from the last page it needs", async () => {
    servePages();
    const found = await discover("clinicaltrials", { query: term, limit: 7 }, { pageSize: 5 });
    expect(found.map((f) => f.docKey)).toEqual([...keysOf(page1), ...keysOf(page2).slice(0, 2)]);
    expect(await sentUrls(recorder)).toEqual([firstUrl, secondUrl]);
  });

  it("asks for no second page when the first holds the limit", async () => {
    servePages();
    const found = await discover("clinicaltrials", { query: term, limit: 5 });
    expect(found.map((f) => f.docKey)).toEqual(keysOf(page1));
    expect(await sentUrls(recorder)).toEqual([firstUrl]);
  });

  it("asks for the limit as the page size when none is configured, up to 1000", () => {
    expect(clinicalTrialsPageUrl("melanoma", 50)).toBe(
      "https://clinicaltrials.gov/api/v2/studies?query.term=melanoma&pageSize=50&countTotal=true",
    );
    expect(clinicalTrialsPageUrl("a&b=c", 1000, "tok/en+")).toBe(
      "https://clinicaltrials.gov/api/v2/studies?query.term=a%26b%3Dc&pageSize=1000&pageToken=tok%2Fen%2B",
    );
  });

  it("fetches --ids one study each from /api/v2/studies/{nctId}", async () => {
    const first = recordedJson("clinicaltrials/NCT00763412.json");
    const second = recordedJson("clinicaltrials/NCT06171568.json");
    server.use(
      http.get(`${clinicalTrialsStudiesUrl}/NCT00763412`, () => HttpResponse.json(first)),
      http.get(`${clinicalTrialsStudiesUrl}/NCT06171568`, () => HttpResponse.json(second)),
    );
    const found = await discover("clinicaltrials", {
      ids: ["NCT00763412", "nct06171568"],
      limit: 2,
    });
    expect(found).toEqual([
      { docKey: "NCT00763412", record: first },
      { docKey: "NCT06171568", record: second },
    ]);
    expect(await sentRequests(recorder)).toEqual([
      {
        method: "GET",
        url: `${clinicalTrialsStudiesUrl}/NCT00763412`,
        accept: "application/json",
        userAgent: defaultUserAgent,
      },
      {
        method: "GET",
        url: `${clinicalTrialsStudiesUrl}/NCT06171568`,
        accept: "application/json",
        userAgent: defaultUserAgent,
      },
    ]);
  });

  it("fails an id the API does not know with InvalidInput naming the URL", async () => {
    const url = `${clinicalTrialsStudiesUrl}/NCT09999999`;
    server.use(http.get(url, () => new HttpResponse(null, { status: 404 })));
    expect(await discoverFailure("clinicaltrials", { ids: ["NCT09999999"], limit: 1 })).toEqual(
      new InvalidInput({ message: `GET ${url}: HTTP 404`, path: url }),
    );
  });

  it("refuses a page whose study has no readable NCT id, naming the field", async () => {
    const bad = structuredClone(page1);
    bad.studies[1].protocolSection.identificationModule.nctId = 12345;
    servePages(bad);
    expect(await discoverFailure("clinicaltrials", { query: term, limit: 10 }, { pageSize: 5 }))
      .toEqual(
        new InvalidInput({
          message: `GET ${firstUrl}: studies[1].protocolSection.identificationModule.nctId: ` +
            "expected string, received number",
          path: firstUrl,
        }),
      );
    expect(await sentUrls(recorder)).toEqual([firstUrl]);
  });

  it("refuses a page that is not a studies list, naming the field", async () => {
    servePages({ ...page1, studies: { total: 5 }, nextPageToken: 7 });
    expect(await discoverFailure("clinicaltrials", { query: term, limit: 10 }, { pageSize: 5 }))
      .toEqual(
        new InvalidInput({
          message: `GET ${firstUrl}: not a ClinicalTrials.gov studies page: ` +
            "studies: Invalid input: expected array, received object; " +
            "nextPageToken: Invalid input: expected string, received number",
          path: firstUrl,
        }),
      );
  });

  it("refuses a query it cannot answer before any request, naming the field", async () => {
    expect(
      await discoverFailure("clinicaltrials", {
        ids: ["NCT1", "NCT00763412", "NCT00763412"],
        filter: "x",
        limit: 2,
      }),
    ).toEqual(
      new InvalidInput({
        message: "ClinicalTrials.gov discovery: " +
          "filter: ClinicalTrials.gov takes no filter; use query or ids; " +
          "ids: ids cannot be combined with query or filter; " +
          'ids[0]: expected an NCT number (NCT and 8 digits), received "NCT1"; ' +
          "ids[2]: NCT00763412 is listed twice; " +
          "limit: 2 is fewer than the 3 ids given",
        path: "query",
      }),
    );
    expect(await sentUrls(recorder)).toEqual([]);
  });
});
