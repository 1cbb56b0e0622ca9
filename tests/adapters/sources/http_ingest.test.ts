import { Effect } from "effect";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { fileIngestStage } from "../../../adapters/sources/file_ingest.ts";
import {
  defaultUserAgent,
  httpIngestDependency,
  httpIngestOptionsFromEnv,
  httpIngestStage,
  makeHttpIngestStage,
  urlFor,
} from "../../../adapters/sources/http_ingest.ts";
import type { StageContext } from "../../../stages/context.ts";
import type { StageDefinition } from "../../../stages/contracts.ts";
import {
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Transient,
} from "../../../stages/errors.ts";
import type { IngestRequest, RawPayload, SourceName } from "../../../stages/ir.ts";
import {
  compareStageErrorMessages,
  fixturesDir,
  recordedJson,
  recordedText,
  useMockServer,
} from "../../_fixtures/http.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

const ctx: StageContext = {
  tenantId: "t1",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "ingest",
  attempt: 1,
  metadata: {},
};

/** An Ingest stage: it reads no upstream output and takes no config. */
type IngestStage = StageDefinition<RawPayload, Record<string, never>, Record<never, never>>;

const inputsFor = (request: IngestRequest) => ({ request });

const urlRequest = (source: SourceName, docKey: string, url = urlFor(source, docKey)) => ({
  source,
  docKey,
  location: { kind: "url" as const, url },
});

const ingest = (request: IngestRequest, stage: IngestStage = httpIngestStage) =>
  Effect.runPromise(stage.run(ctx, inputsFor(request), {}));

const ingestFailure = (
  request: IngestRequest,
  stage: IngestStage = httpIngestStage,
): Promise<StageError> => Effect.runPromise(Effect.flip(stage.run(ctx, inputsFor(request), {})));

const ctgovUrl = "https://clinicaltrials.gov/api/v2/studies/NCT00763412";
const study = recordedJson("clinicaltrials/NCT00763412.json");

describe("httpIngestStage", () => {
  it("returns the recorded ClinicalTrials.gov study after exactly one GET", async () => {
    server.use(http.get(ctgovUrl, () => HttpResponse.json(study)));
    const request = urlRequest("clinicaltrials", "NCT00763412");
    expect(await ingest(request)).toEqual({
      source: "clinicaltrials",
      docKey: "NCT00763412",
      location: { kind: "url", url: ctgovUrl },
      record: study,
    });
    const sent = await recorder.requests();
    expect(sent.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
      { method: "GET", url: ctgovUrl, body: undefined },
    ]);
    expect(sent[0].headers).toMatchObject({
      accept: "application/json",
      "user-agent": defaultUserAgent,
    });
  });

  it("returns the same record as the file ingest of the same recording", async () => {
    server.use(
      http.get(ctgovUrl, () => HttpResponse.text(recordedText("clinicaltrials/NCT00763412.json"))),
    );
    const live = await ingest(urlRequest("clinicaltrials", "NCT00763412"));
    const file = `${fixturesDir}/clinicaltrials/NCT00763412.json`;
    const recorded = await Effect.runPromise(fileIngestStage.run(
      ctx,
      inputsFor({
        source: "clinicaltrials",
        docKey: "NCT00763412",
        location: { kind: "file", file, pointer: "" },
      }),
      {},
    ));
    expect(live.record).toEqual(recorded.record);
  });

  it("adds mailto to OpenAlex requests and sends the configured User-Agent", async () => {
    const work = recordedJson("openalex/test_journal_article.response-0.json");
    server.use(
      http.get("https://api.openalex.org/works/W1982728624", () => HttpResponse.json(work)),
    );
    const stage = makeHttpIngestStage({
      mailto: "data-team@example.org",
      userAgent: "medkg-ingest/2.0",
    });
    const request = urlRequest("openalex", "W1982728624");
    const payload: RawPayload = await ingest(request, stage);
    expect(payload).toEqual({ ...request, record: work });
    const sent = await recorder.requests();
    expect(sent.map((r) => [r.method, r.url, r.headers["user-agent"]])).toEqual([[
      "GET",
      "https://api.openalex.org/works/W1982728624?mailto=data-team%40example.org",
      "medkg-ingest/2.0",
    ]]);
  });

  it("adds no mailto without one configured, nor to other hosts", async () => {
    const work = recordedJson("openalex/test_journal_article.response-0.json");
    server.use(
      http.get("https://api.openalex.org/works/W1982728624", () => HttpResponse.json(work)),
      http.get(ctgovUrl, () => HttpResponse.json(study)),
    );
    await ingest(urlRequest("openalex", "W1982728624"));
    await ingest(
      urlRequest("clinicaltrials", "NCT00763412"),
      makeHttpIngestStage({ mailto: "a@b.c" }),
    );
    expect((await recorder.requests()).map((r) => r.url)).toEqual([
      "https://api.openalex.org/works/W1982728624",
      ctgovUrl,
    ]);
  });

  it("takes the first result of an openFDA set_id search", async () => {
    const page = recordedJson("openfda/label_gefitinib_20261007.json") as {
      readonly meta: unknown;
      readonly results: ReadonlyArray<{ readonly set_id: string }>;
    };
    const label = page.results[2];
    server.use(
      http.get(
        "https://api.fda.gov/drug/label.json",
        () => HttpResponse.json({ meta: page.meta, results: [label] }),
      ),
    );
    const request = urlRequest("openfda", label.set_id);
    expect(await ingest(request)).toEqual({ ...request, record: label });
    expect((await recorder.requests()).map((r) => r.url)).toEqual([
      `https://api.fda.gov/drug/label.json?search=set_id:%22${label.set_id}%22&limit=1`,
    ]);
  });

  it("fails an openFDA 404 NOT_FOUND (zero hits) with InvalidInput naming the set_id", async () => {
    server.use(
      http.get(
        "https://api.fda.gov/drug/label.json",
        () =>
          HttpResponse.json({ error: { code: "NOT_FOUND", message: "No matches found!" } }, {
            status: 404,
          }),
      ),
    );
    const request = urlRequest("openfda", "00000000-0000-0000-0000-000000000000");
    const url = request.location.url;
    expect(await ingestFailure(request)).toEqual(
      new InvalidInput({
        message: `no label with set_id 00000000-0000-0000-0000-000000000000 ` +
          `(GET ${url}: HTTP 404 (NOT_FOUND): No matches found!)`,
        path: url,
      }),
    );
  });

  it("fails an openFDA query syntax error (500 token_mgr_error) with InvalidInput", async () => {
    server.use(
      http.get("https://api.fda.gov/drug/label.json", () =>
        HttpResponse.json({
          error: {
            code: "SERVER_ERROR",
            message: "Check your request and try again",
            details: "[token_mgr_error] token_mgr_error: Lexical error at line 1, column 32.",
          },
        }, { status: 500 })),
    );
    const request = urlRequest("openfda", 'a"b');
    const url = request.location.url;
    expect(await ingestFailure(request)).toEqual(
      new InvalidInput({
        message: `invalid openFDA query (GET ${url}: HTTP 500 (SERVER_ERROR): Check your request ` +
          "and try again ([token_mgr_error] token_mgr_error: Lexical error at line 1, column 32.))",
        path: url,
      }),
    );
  });

  it("fails a 503 with Transient", async () => {
    server.use(
      http.get(ctgovUrl, () => HttpResponse.text("Service Unavailable", { status: 503 })),
    );
    expect(await ingestFailure(urlRequest("clinicaltrials", "NCT00763412"))).toEqual(
      new Transient({ message: `GET ${ctgovUrl}: HTTP 503: Service Unavailable` }),
    );
    expect(await recorder.requests()).toHaveLength(1);
  });

  it("fails a 429 with RateLimited for the Retry-After seconds", async () => {
    server.use(
      http.get(
        ctgovUrl,
        () => new HttpResponse(null, { status: 429, headers: { "retry-after": "2" } }),
      ),
    );
    expect(await ingestFailure(urlRequest("clinicaltrials", "NCT00763412"))).toEqual(
      new RateLimited({ message: `GET ${ctgovUrl}: HTTP 429`, retryAfterMs: 2000 }),
    );
  });

  it("fails a 400 with InvalidInput at the URL", async () => {
    const url = "https://clinicaltrials.gov/api/v2/studies/NOT-AN-ID";
    server.use(
      http.get(
        url,
        () => HttpResponse.text("The NCT number NOT-AN-ID is not valid", { status: 400 }),
      ),
    );
    expect(await ingestFailure(urlRequest("clinicaltrials", "NOT-AN-ID"))).toEqual(
      new InvalidInput({
        message: `GET ${url}: HTTP 400: The NCT number NOT-AN-ID is not valid`,
        path: url,
      }),
    );
  });

  it("fails a body that is not a single record of the source with InvalidInput", async () => {
    const url = "https://clinicaltrials.gov/api/v2/studies?query.cond=phelan";
    server.use(
      http.get(
        "https://clinicaltrials.gov/api/v2/studies",
        () => HttpResponse.json(recordedJson("clinicaltrials/search_phelan_limit5_20260811.json")),
      ),
    );
    expect(await ingestFailure(urlRequest("clinicaltrials", "phelan", url))).toEqual(
      new InvalidInput({
        message:
          `GET ${url}: not a record of source "clinicaltrials" (found a clinicaltrials list response)`,
        path: url,
      }),
    );
  });

  it("fails a file location with Permanent without any request", async () => {
    const request: IngestRequest = {
      source: "openalex",
      docKey: "W1",
      location: { kind: "file", file: "w1.json", pointer: "" },
    };
    expect(await ingestFailure(request)).toEqual(
      new Permanent({ message: 'W1: http ingest cannot read a "file" location' }),
    );
    expect(await recorder.requests()).toEqual([]);
  });
});

interface CassetteInteraction {
  readonly request: { readonly uri: string };
  readonly response: {
    readonly status: { readonly status_code: number };
    readonly body: { readonly string: string };
  };
}

describe("httpIngestStage against the recorded openFDA errors", () => {
  const { http_interactions: interactions } = parseYaml(
    recordedText("openfda/test-handle_http_errors.yml"),
  ) as { readonly http_interactions: ReadonlyArray<CassetteInteraction> };
  // One of each recorded status; the cassette repeats them three times.
  const distinct = interactions.slice(0, 5);

  it("replays each recorded status into the openFDA reading of it", async () => {
    const setId = "3129084";
    const errors: Array<StageError> = [];
    for (const interaction of distinct) {
      const { uri } = interaction.request;
      server.use(
        http.get(
          uri.slice(0, uri.indexOf("?")),
          () =>
            new HttpResponse(interaction.response.body.string, {
              status: interaction.response.status.status_code,
              headers: { "content-type": "application/json; charset=utf-8" },
            }),
        ),
      );
      errors.push(await ingestFailure(urlRequest("openfda", setId, uri)));
    }
    const [bad, forbidden, none, past, lexical] = distinct.map((i) => i.request.uri);
    expect(errors).toEqual([
      new InvalidInput({
        message:
          `GET ${bad}: HTTP 400 (BAD_REQUEST): Sorting allowed by non-analyzed fields only: invalid_field`,
        path: bad,
      }),
      new Permanent({
        message: `GET ${forbidden}: HTTP 403 (API_KEY_INVALID): An invalid api_key was supplied. ` +
          "Get one at https://api.fda.gov:443",
      }),
      new InvalidInput({
        message:
          `no label with set_id ${setId} (GET ${none}: HTTP 404 (NOT_FOUND): No matches found!)`,
        path: none,
      }),
      new InvalidInput({
        message:
          `no label with set_id ${setId} (GET ${past}: HTTP 404 (NOT_FOUND): No matches found!)`,
        path: past,
      }),
      new InvalidInput({
        message:
          `invalid openFDA query (GET ${lexical}: HTTP 500 (SERVER_ERROR): Check your request ` +
          "and try again ([token_mgr_error] token_mgr_error: Lexical error at line 1, column 32.  " +
          'Encountered: <EOF> after : ""))',
        path: lexical,
      }),
    ]);
    expect((await recorder.requests()).map((r) => r.url)).toEqual(
      distinct.map((i) => i.request.uri),
    );
  });
});

describe("urlFor()", () => {
  it("builds each source's live single-record URL", () => {
    expect([
      urlFor("clinicaltrials", "NCT00763412"),
      urlFor("openalex", "W1982728624"),
      urlFor("openfda", "827d60e8-7e07-41b7-c28b-49ef1c4a5a41"),
    ]).toEqual([
      "https://clinicaltrials.gov/api/v2/studies/NCT00763412",
      "https://api.openalex.org/works/W1982728624",
      "https://api.fda.gov/drug/label.json?search=set_id:%22827d60e8-7e07-41b7-c28b-49ef1c4a5a41%22&limit=1",
    ]);
  });

  it("rejects a source without a live endpoint", () => {
    expect(() => urlFor("unpaywall", "10.1038/nature12373")).toThrow(
      new RangeError(
        'no live URL for source "unpaywall" (known: clinicaltrials, openalex, openfda)',
      ),
    );
  });
});

describe("httpIngestDependency()", () => {
  it("keys a request by the host it calls", () => {
    const keys = [
      urlRequest("openalex", "W1"),
      urlRequest("openfda", "x"),
      urlRequest("clinicaltrials", "NCT1", "http://localhost:8080/api/v2/studies/NCT1"),
      {
        source: "openalex" as const,
        docKey: "W1",
        location: { kind: "file" as const, file: "f", pointer: "" },
      },
    ].map((request) => httpIngestDependency(inputsFor(request)));
    expect(keys).toEqual(["api.openalex.org", "api.fda.gov", "localhost:8080", "file"]);
  });
});

describe("httpIngestOptionsFromEnv()", () => {
  it("reads OPENALEX_MAILTO", () => {
    expect(httpIngestOptionsFromEnv({ OPENALEX_MAILTO: " me@example.org " })).toEqual({
      mailto: "me@example.org",
    });
    expect(httpIngestOptionsFromEnv({ OPENALEX_MAILTO: "" })).toEqual({});
    expect(httpIngestOptionsFromEnv({})).toEqual({});
  });
});
