/**
 * openFDA live discovery against recorded responses: the gefitinib label search page, the two
 * pages of a Drugs@FDA search that openFDA paged with a `link: <…search_after…>; rel="next"`
 * header (`test-paging.yml`, served with the recorded headers), and the recorded 404 NOT_FOUND and
 * 500 token_mgr_error answers (`test-handle_http_errors.yml`).
 */
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { nextLinkOf, openFdaPageUrl } from "../../../adapters/sources/openfda_live.ts";
import { InvalidInput } from "../../../stages/errors.ts";
import {
  compareStageErrorMessages,
  recordedJson,
  recordedText,
  useMockServer,
} from "../../_fixtures/http.ts";
import { discover, discoverFailure, sentUrls } from "./_live_harness.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

interface Interaction {
  readonly request: { readonly uri: string };
  readonly response: {
    readonly status: { readonly status_code: number };
    readonly headers: Readonly<Record<string, string>>;
    readonly body: { readonly string: string };
  };
}
const cassette = (file: string): ReadonlyArray<Interaction> =>
  (parseYaml(recordedText(`openfda/${file}`)) as { http_interactions: Array<Interaction> })
    .http_interactions;

/** A recorded interaction as a Response: its status, body and the headers named. */
const replay = (interaction: Interaction, headers: ReadonlyArray<string> = []) =>
  new HttpResponse(interaction.response.body.string, {
    status: interaction.response.status.status_code,
    headers: {
      "content-type": "application/json; charset=utf-8",
      ...Object.fromEntries(
        headers.flatMap((h) => {
          const value = interaction.response.headers[h];
          return value === undefined ? [] : [[h, value]];
        }),
      ),
    },
  });

const paging = cassette("test-paging.yml");
const errors = cassette("test-handle_http_errors.yml");
const semaglutide = 'openfda.generic_name:"semaglutide"';
const apiKey = "test-key";
const drugsfdaUrl = "https://api.fda.gov/drug/drugsfda.json";
const labelUrl = "https://api.fda.gov/drug/label.json";
const firstUrl =
  `${drugsfdaUrl}?search=openfda.generic_name%3A%22semaglutide%22&limit=2&api_key=${apiKey}`;
// openFDA's own link, with the key added: the link never carries it.
const linkUrl = `${drugsfdaUrl}?search=openfda.generic_name%3A%22semaglutide%22&limit=2&skip=0` +
  `&search_after=0%3DYEwDMJgBCsORzztAE_Kv&api_key=${apiKey}`;

const keysOf = (body: string): ReadonlyArray<string> =>
  (JSON.parse(body) as { results: Array<{ application_number: string }> }).results.map((r) =>
    r.application_number
  );

describe("openfda discover()", () => {
  it("searches labels with limit and api_key, and stops when meta.results.total came", async () => {
    const page = recordedJson("openfda/label_gefitinib_20261007.json") as {
      results: Array<{ set_id: string }>;
    };
    server.use(http.get(labelUrl, () => HttpResponse.json(page)));
    const found = await discover("openfda", {
      query: 'openfda.generic_name:"gefitinib"',
      limit: 5,
    }, { apiKey });
    expect(found.map((f) => f.docKey)).toEqual(page.results.map((r) => r.set_id));
    expect(found.map((f) => f.record)).toEqual(page.results);
    expect(await sentUrls(recorder)).toEqual([
      `${labelUrl}?search=openfda.generic_name%3A%22gefitinib%22&limit=5&api_key=${apiKey}`,
    ]);
  });

  it("follows the link: rel=next header with the api_key until the total came", async () => {
    server.use(
      http.get(
        drugsfdaUrl,
        ({ request }) =>
          new URL(request.url).searchParams.has("search_after")
            ? replay(paging[2], ["link"])
            : replay(paging[0], ["link"]),
      ),
    );
    const found = await discover("openfda", { query: semaglutide, limit: 20 }, {
      apiKey,
      pageSize: 2,
      openFdaEndpoint: "drugsfda",
    });
    expect(found.map((f) => f.docKey)).toEqual([
      ...keysOf(paging[0].response.body.string),
      ...keysOf(paging[2].response.body.string),
    ]);
    expect(found.map((f) => f.docKey)).toEqual(["NDA213051", "NDA215256", "NDA209637"]);
    expect(await sentUrls(recorder)).toEqual([firstUrl, linkUrl]);
  });

  it("pages with skip= past the results so far when a page has no link header", async () => {
    // The recorded first page without its link header; the third hit (the recorded second page)
    // answers the skip.
    server.use(
      http.get(
        drugsfdaUrl,
        ({ request }) =>
          new URL(request.url).searchParams.get("skip") === "2"
            ? replay(paging[2])
            : replay(paging[0]),
      ),
    );
    const found = await discover("openfda", { query: semaglutide, limit: 20 }, {
      pageSize: 2,
      openFdaEndpoint: "drugsfda",
    });
    expect(found.map((f) => f.docKey)).toEqual(["NDA213051", "NDA215256", "NDA209637"]);
    expect(await sentUrls(recorder)).toEqual([
      `${drugsfdaUrl}?search=openfda.generic_name%3A%22semaglutide%22&limit=2`,
      `${drugsfdaUrl}?search=openfda.generic_name%3A%22semaglutide%22&limit=2&skip=2`,
    ]);
  });

  it("reads 404 NOT_FOUND as zero hits, after one request", async () => {
    const notFound = errors[2];
    expect(notFound.response.status.status_code).toBe(404);
    server.use(http.get(drugsfdaUrl, () => replay(notFound)));
    expect(
      await discover("openfda", { query: 'openfda.brand_name:"3129084"', limit: 1 }, {
        openFdaEndpoint: "drugsfda",
        apiKey,
      }),
    ).toEqual([]);
    expect(await sentUrls(recorder)).toEqual([
      `${drugsfdaUrl}?search=openfda.brand_name%3A%223129084%22&limit=1&api_key=${apiKey}`,
    ]);
  });

  it("fails malformed search syntax (500 token_mgr_error) at once with InvalidInput", async () => {
    const lexical = errors[4];
    expect(lexical.response.status.status_code).toBe(500);
    server.use(http.get(labelUrl, () => replay(lexical)));
    const url = `${labelUrl}?search=openfda.brand_name%3A%22verapamil%22%22&limit=1`;
    const error = await discoverFailure("openfda", {
      query: 'openfda.brand_name:"verapamil""',
      limit: 1,
    });
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toMatch(
      new RegExp(
        `^invalid openFDA search \\(GET ${RegExp.escape(url)}: HTTP 500 \\(SERVER_ERROR\\)`,
      ),
    );
    expect(await sentUrls(recorder)).toEqual([url]);
  });

  it("refuses a next link to another endpoint, naming the header", async () => {
    const elsewhere = "https://example.org/drug/drugsfda.json?skip=2";
    server.use(
      http.get(drugsfdaUrl, () => {
        const first = replay(paging[0]);
        first.headers.set("link", `<${elsewhere}>; rel="next"`);
        return first;
      }),
    );
    const url = `${drugsfdaUrl}?search=openfda.generic_name%3A%22semaglutide%22&limit=2`;
    expect(
      await discoverFailure("openfda", { query: semaglutide, limit: 20 }, {
        pageSize: 2,
        openFdaEndpoint: "drugsfda",
      }),
    ).toEqual(
      new InvalidInput({
        message: `GET ${url}: link header: rel="next" is ${elsewhere}, not a page of ` +
          "https://api.fda.gov/drug/drugsfda.json",
        path: url,
      }),
    );
  });

  it("reads the next target of a link header and builds skip pages", () => {
    expect(nextLinkOf(paging[0].response.headers.link)).toBe(
      `${drugsfdaUrl}?search=openfda.generic_name%3A%22semaglutide%22&limit=2&skip=0` +
        "&search_after=0%3DYEwDMJgBCsORzztAE_Kv",
    );
    expect(nextLinkOf('<https://a/prev>; rel="prev", <https://a/next>; rel=next')).toBe(
      "https://a/next",
    );
    expect(nextLinkOf(null)).toBeUndefined();
    expect(openFdaPageUrl({ endpoint: "event", search: "x", limit: 100, apiKey }, 300)).toBe(
      `https://api.fda.gov/drug/event.json?search=x&limit=100&skip=300&api_key=${apiKey}`,
    );
  });
});
