/**
 * `runPipeline` with a live query: the records a recorded ClinicalTrials.gov page lists are stored
 * with their jobs as inline requests, the jobs run without another request, and a later run of the
 * stored jobs makes none at all. A failing API or an empty answer stops the run before any job.
 */
import { http, HttpResponse } from "msw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clinicalTrialsStudiesUrl } from "../../../adapters/sources/clinicaltrials_live.ts";
import { openStore } from "../../../adapters/store/store.ts";
import { runPipeline } from "../../../kit/run_pipeline.ts";
import { SetupError } from "../../../kit/setup_error.ts";
import type { IngestRequest } from "../../../stages/ir.ts";
import { tempDir } from "../../_harness.ts";
import { recordedJson, useMockServer } from "../../_fixtures/http.ts";
import { sentUrls } from "./_live_harness.ts";

const { server, recorder } = useMockServer();

const page1 = recordedJson("clinicaltrials/search_phelan_limit5_20260811.json") as {
  studies: Array<{ protocolSection: { identificationModule: { nctId: string } } }>;
};
const firstUrl =
  "https://clinicaltrials.gov/api/v2/studies?query.term=Phelan-McDermid+Syndrome&pageSize=5&countTotal=true";
const noEnv = { get: (_key: string): string | undefined => undefined };

let dir: string;
beforeAll(async () => {
  dir = await tempDir("lk-live-");
});
afterAll(() => Deno.remove(dir, { recursive: true }));

const storedRequests = async (store: string): Promise<ReadonlyArray<IngestRequest>> => {
  const opened = await openStore(store);
  try {
    const rows = await opened.client.query<{ request: IngestRequest }>(
      "select request from lk_jobs order by doc_key",
    );
    return rows.map((r) => r.request);
  } finally {
    await opened.close();
  }
};

describe("runPipeline({ query })", () => {
  it("stores each listed record with its job, and no later run fetches it again", async () => {
    server.use(
      http.get(
        clinicalTrialsStudiesUrl,
        ({ request }) =>
          request.url === firstUrl
            ? HttpResponse.json(page1)
            : HttpResponse.json({ unexpected: request.url }, { status: 418 }),
      ),
    );
    const store = `${dir}/store`;
    const lineage = `${dir}/lineage`;
    const pages: Array<number> = [];
    const first = await runPipeline({
      query: { source: "clinicaltrials", query: "Phelan-McDermid Syndrome", limit: 5 },
      onQueryPage: (p) => pages.push(p.records),
      store,
      lineage,
      env: noEnv,
    });
    expect(first.jobs).toEqual({
      succeeded: 5,
      failed: 0,
      paused: 0,
      skipped: 0,
      held: 0,
      cancelled: 0,
    });
    // One page request; the jobs' Ingest read the stored records.
    expect(await sentUrls(recorder)).toEqual([firstUrl]);
    expect(pages).toEqual([5]);

    const stored = await storedRequests(store);
    const expected = page1.studies
      .map((study): IngestRequest => ({
        source: "clinicaltrials",
        docKey: study.protocolSection.identificationModule.nctId,
        location: { kind: "inline", record: study },
      }))
      .sort((a, b) => (a.docKey < b.docKey ? -1 : 1));
    expect(stored).toEqual(expected);

    recorder.clear();
    const again = await runPipeline({ requests: stored, force: true, store, lineage, env: noEnv });
    expect(again.jobs).toEqual({
      succeeded: 5,
      failed: 0,
      paused: 0,
      skipped: 0,
      held: 0,
      cancelled: 0,
    });
    expect(await sentUrls(recorder)).toEqual([]);
  });

  it("stops before any job with a setup error naming the URL when the API refuses", async () => {
    const url = `${clinicalTrialsStudiesUrl}/NCT09999999`;
    server.use(http.get(url, () => new HttpResponse(null, { status: 404 })));
    const store = `${dir}/refused`;
    const failure = await runPipeline({
      query: { source: "clinicaltrials", ids: ["NCT09999999"] },
      store,
      lineage: `${dir}/lineage-refused`,
      env: noEnv,
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SetupError);
    expect(failure).toMatchObject({
      kind: "service",
      message: `--source clinicaltrials: live discovery failed: GET ${url}: HTTP 404`,
    });
    await expect(Deno.stat(store)).rejects.toThrow(Deno.errors.NotFound);
  });

  it("refuses a query the source cannot answer as a usage error, before any request", async () => {
    const failure = await runPipeline({
      query: { source: "clinicaltrials", query: "melanoma", filter: "is_oa:true" },
      store: `${dir}/unused`,
      lineage: `${dir}/lineage-unused`,
      env: noEnv,
    }).catch((e: unknown) => e);
    expect(failure).toMatchObject({
      kind: "usage",
      message: "--source clinicaltrials: ClinicalTrials.gov discovery: " +
        "filter: ClinicalTrials.gov takes no filter; use query or ids",
    });
    const unknown = await runPipeline({
      query: { source: "europepmc", query: "melanoma" },
      env: noEnv,
    }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({
      kind: "usage",
      message: '--source: "europepmc" cannot list records live ' +
        "(live sources: clinicaltrials, openalex, openalex-pdf, openfda)",
    });
    expect(await sentUrls(recorder)).toEqual([]);
  });

  it("says the source found no records when the answer is empty, and reads no bundled records", async () => {
    server.use(http.get(clinicalTrialsStudiesUrl, () => HttpResponse.json({ studies: [] })));
    const failure = await runPipeline({
      query: { source: "clinicaltrials", query: "no such condition" },
      store: `${dir}/empty`,
      lineage: `${dir}/lineage-empty`,
      env: noEnv,
    }).catch((e: unknown) => e);
    expect(failure).toMatchObject({
      kind: "usage",
      message: "--query: the source found no records",
    });
    expect(await sentUrls(recorder)).toEqual([
      "https://clinicaltrials.gov/api/v2/studies?query.term=no+such+condition&pageSize=20&countTotal=true",
    ]);
  });
});
