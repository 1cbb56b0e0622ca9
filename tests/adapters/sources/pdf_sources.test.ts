import { readFile } from "node:fs/promises";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { makePdfDownloadStage } from "../../../adapters/download/pdf_download.ts";
import { fileIngestStage } from "../../../adapters/sources/file_ingest.ts";
import {
  detectPdfShape,
  europePmcRenderUrl,
  parseEuropePmc,
  parseUnpaywall,
  pdfRecordsOf,
  pdfUrlOf,
  requirePdfLink,
} from "../../../adapters/sources/pdf_sources.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, type StageError } from "../../../stages/errors.ts";
import type { IngestRequest, RawPayload } from "../../../stages/ir.ts";

const ctx: StageContext = {
  tenantId: "test",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "pdf-two-phase", version: "1.0.0" },
  stage: "download",
  attempt: 1,
  metadata: {},
};

const inputs = (
  request: IngestRequest,
  outputs: Readonly<Record<string, unknown>> = {},
  // deno-lint-ignore no-explicit-any
): any => ({
  request,
  ...outputs,
});

const ingest = (source: "openalex", file: string, docKey: string): Promise<RawPayload> => {
  const request: IngestRequest = { source, docKey, location: { kind: "file", file, pointer: "" } };
  return Effect.runPromise(fileIngestStage.run(ctx, inputs(request), {}));
};

const failure = <A>(exit: Exit.Exit<A, StageError>): StageError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail");
  if (reason === undefined || reason._tag !== "Fail") throw new Error("expected a typed failure");
  return reason.error;
};

const readJson = async (path: string | URL): Promise<unknown> =>
  JSON.parse(await readFile(path, "utf8"));

const unpaywallFile = "data/pdf-records/unpaywall/10.1038_nature12373.json";
const europePmc = new URL("../../fixtures/europepmc-pmc/", import.meta.url);
const pmidSearchFile = new URL("search_pmid_20516115.json", europePmc);
const variantSearchFile = new URL(
  "7beaf0a48632abc91021bd2018ac838a499529b7b91e010744c01a655badc74f.json",
  europePmc,
);

const filePayload = (
  source: RawPayload["source"],
  docKey: string,
  record: unknown,
  pointer = "",
): RawPayload => ({
  source,
  docKey,
  location: { kind: "file", file: "records.json", pointer },
  record,
});

describe("pdfUrlOf() on the bundled OpenAlex records", () => {
  it("reads the gold OA work's best_oa_location.pdf_url", async () => {
    const payload = await ingest(
      "openalex",
      "data/records/openalex/test_journal_article.response-0.json",
      "W1982728624",
    );
    expect(pdfUrlOf(payload)).toBe(
      "https://journals.plos.org/plosone/article/file?id=10.1371/journal.pone.0000030&type=printable",
    );
    expect(await Effect.runPromise(requirePdfLink(payload))).toEqual({
      url:
        "https://journals.plos.org/plosone/article/file?id=10.1371/journal.pone.0000030&type=printable",
      path: "best_oa_location.pdf_url",
    });
  });

  it("reads W2741809807's PeerJ PDF", async () => {
    const payload = await ingest(
      "openalex",
      "data/records/openalex/W2741809807.json",
      "W2741809807",
    );
    expect(pdfUrlOf(payload)).toBe("https://peerj.com/articles/4375.pdf");
  });

  it("finds none for the closed work, and the Download stage fails without a request", async () => {
    const payload = await ingest(
      "openalex",
      "data/records/openalex/test_date_in_future.response-0.json",
      "W1989154056",
    );
    expect(pdfUrlOf(payload)).toBeUndefined();
    let requests = 0;
    const fetch = (() => {
      requests += 1;
      return Promise.reject(new Error("no request expected"));
    }) as typeof globalThis.fetch;
    const stage = makePdfDownloadStage({ fileArea: "/nonexistent", fetch });
    const exit = await Effect.runPromiseExit(
      stage.run(ctx, inputs({ ...payload, location: payload.location }, { Ingest: payload }), {}),
    );
    expect(failure(exit)).toEqual(
      new InvalidInput({
        message:
          "openalex:W1989154056: no open-access PDF (best_oa_location, primary_location and locations[] have no pdf_url)",
        path: "",
      }),
    );
    expect(requests).toBe(0);
  });

  it("falls back to the primary location, then the first location with a PDF", () => {
    const work = (record: unknown) => pdfUrlOf(filePayload("openalex", "W1", record));
    expect(work({
      best_oa_location: null,
      primary_location: { pdf_url: "https://a.example/p.pdf" },
      locations: [{ pdf_url: "https://a.example/l.pdf" }],
    })).toBe("https://a.example/p.pdf");
    expect(work({
      best_oa_location: { pdf_url: null },
      primary_location: null,
      locations: [{ pdf_url: null }, { pdf_url: "https://a.example/l.pdf" }],
    })).toBe("https://a.example/l.pdf");
  });
});

describe("Unpaywall records", () => {
  it("recognises the bundled record and reads best_oa_location.url_for_pdf", async () => {
    const record = await readJson(unpaywallFile);
    expect(detectPdfShape(record)).toEqual({
      source: "unpaywall",
      kind: "single",
      records: [{ pointer: "", docKey: "10.1038/nature12373", problem: undefined }],
    });
    const [payload] = pdfRecordsOf(record, unpaywallFile);
    expect(payload).toEqual({
      source: "unpaywall",
      docKey: "10.1038/nature12373",
      location: { kind: "file", file: unpaywallFile, pointer: "" },
      record,
    });
    expect(pdfUrlOf(payload)).toBe("https://www.nature.com/articles/nature12373.pdf");
  });

  it("parses the record into a titled Document with its OA metadata", async () => {
    const [payload] = pdfRecordsOf(await readJson(unpaywallFile), unpaywallFile);
    const document = await Effect.runPromise(parseUnpaywall(payload));
    expect(document).toEqual({
      id: "unpaywall:10.1038/nature12373",
      source: "unpaywall",
      title: "Nanometre-scale thermometry in a living cell",
      sections: [{
        id: "unpaywall:10.1038/nature12373:s0",
        title: "Title",
        blocks: [{
          id: "unpaywall:10.1038/nature12373:s0:b0",
          type: "text",
          text: "Nanometre-scale thermometry in a living cell",
        }],
      }],
      metadata: {
        doi: "10.1038/nature12373",
        publicationYear: 2013,
        genre: "journal-article",
        journal: "Nature",
        publisher: null,
        isOa: true,
        oaStatus: null,
        license: null,
        version: "publishedVersion",
        pdfUrl: "https://www.nature.com/articles/nature12373.pdf",
      },
      provenance: {
        source: "unpaywall",
        location: { kind: "file", file: unpaywallFile, pointer: "" },
        parser: "unpaywall.v2",
      },
    });
  });

  it("falls back to the first oa_locations[] entry with a url_for_pdf", () => {
    expect(pdfUrlOf(filePayload("unpaywall", "10.1/x", {
      doi: "10.1/x",
      best_oa_location: { url: "https://a.example/landing", url_for_pdf: null },
      oa_locations: [{ url_for_pdf: null }, { url_for_pdf: "https://repo.example/x.pdf" }],
    }))).toBe("https://repo.example/x.pdf");
  });

  it("fails a malformed record with InvalidInput naming the field", async () => {
    const payload = filePayload("unpaywall", "10.1/x", { doi: 10.1, oa_locations: [] });
    expect(pdfUrlOf(payload)).toBeUndefined();
    expect(failure(await Effect.runPromiseExit(requirePdfLink(payload)))).toEqual(
      new InvalidInput({
        message: "records.json: doi: expected string, received number",
        path: "doi",
      }),
    );
  });

  it("does not take an OpenAlex work (doi as a URL) for an Unpaywall record", async () => {
    const work = await readJson("data/records/openalex/test_journal_article.response-0.json");
    expect(detectPdfShape(work)).toBeUndefined();
  });
});

describe("Europe PMC search results", () => {
  it("lists the results of a recorded search, keyed by PMCID", async () => {
    const search = await readJson(variantSearchFile);
    expect(detectPdfShape(search)?.records.map((r) => [r.pointer, r.docKey])).toEqual([
      ["/resultList/result/0", "PMC9706001"],
      ["/resultList/result/1", "PMC7183432"],
      ["/resultList/result/2", "PMC6035155"],
      ["/resultList/result/3", "PMC2696413"],
      ["/resultList/result/4", "PMC2634701"],
      ["/resultList/result/5", "PMC11627200"],
    ]);
    expect(detectPdfShape(search, "unpaywall")).toBeUndefined();
  });

  it("builds the PMC render URL for a lite result with a PMCID", async () => {
    const [payload] = pdfRecordsOf(await readJson(pmidSearchFile), "search_pmid_20516115.json");
    expect([payload.source, payload.docKey, payload.location]).toEqual([
      "europepmc",
      "PMC3040717",
      { kind: "file", file: "search_pmid_20516115.json", pointer: "/resultList/result/0" },
    ]);
    expect(pdfUrlOf(payload)).toBe("https://europepmc.org/articles/PMC3040717?pdf=render");
    expect(await Effect.runPromise(requirePdfLink(payload))).toEqual({
      url: "https://europepmc.org/articles/PMC3040717?pdf=render",
      path: "pmcid",
    });
    const document = await Effect.runPromise(parseEuropePmc(payload));
    expect([document.id, document.title, document.metadata]).toEqual([
      "europepmc:PMC3040717",
      "Comprehensive analysis of missense variations in the BRCT domain of BRCA1 by structural and functional assays.",
      {
        europePmcId: "MED/20516115",
        pmid: "20516115",
        pmcid: "PMC3040717",
        doi: "10.1158/0008-5472.can-09-4563",
        authors:
          "Lee MS, Green R, Marsillac SM, Coquelle N, Williams RS, Yeung T, Foo D, Hau DD, Hui B, Monteiro AN, Glover JN.",
        journal: "Cancer Res",
        publicationYear: 2010,
        isOa: false,
        pdfUrl: "https://europepmc.org/articles/PMC3040717?pdf=render",
      },
    ]);
  });

  it("prefers an open-access PDF from a core result's fullTextUrlList", () => {
    const result = {
      id: "123",
      source: "MED",
      pmid: "123",
      pmcid: "PMC9",
      hasPDF: "Y",
      fullTextUrlList: {
        fullTextUrl: [
          {
            availabilityCode: "S",
            documentStyle: "pdf",
            site: "DOI",
            url: "https://publisher.example/paywalled.pdf",
          },
          {
            availabilityCode: "F",
            documentStyle: "pdf",
            site: "PubMedCentral",
            url: "https://free.example/x.pdf",
          },
          {
            availabilityCode: "OA",
            documentStyle: "html",
            site: "Europe_PMC",
            url: "https://europepmc.org/articles/PMC9",
          },
          {
            availabilityCode: "OA",
            documentStyle: "pdf",
            site: "Europe_PMC",
            url: "https://europepmc.org/articles/PMC9?pdf=render",
          },
        ],
      },
    };
    expect(
      Effect.runSync(
        requirePdfLink(filePayload("europepmc", "PMC9", result, "/resultList/result/0")),
      ),
    ).toEqual({
      url: "https://europepmc.org/articles/PMC9?pdf=render",
      path: "fullTextUrlList.fullTextUrl[3].url",
    });
  });

  it("finds no PDF without a PMCID or when the record says hasPDF N", () => {
    const result = { id: "1", source: "MED", pmid: "1", hasPDF: "Y" };
    expect(pdfUrlOf(filePayload("europepmc", "MED-1", result))).toBeUndefined();
    expect(pdfUrlOf(filePayload("europepmc", "PMC1", { ...result, pmcid: "PMC1", hasPDF: "N" })))
      .toBeUndefined();
    expect(europePmcRenderUrl("pmc5815332")).toBe(
      "https://europepmc.org/articles/PMC5815332?pdf=render",
    );
  });

  it("keys a result without PMCID by source and id, and reports an unreadable one", () => {
    const search = {
      resultList: { result: [{ id: "20516115", source: "MED" }, { source: "MED" }] },
    };
    expect(detectPdfShape(search)?.records).toEqual([
      { pointer: "/resultList/result/0", docKey: "MED-20516115", problem: undefined },
      {
        pointer: "/resultList/result/1",
        docKey: undefined,
        problem: "resultList.result[1].id: expected string, received undefined",
      },
    ]);
    expect(pdfRecordsOf(search, "s.json").map((p) => p.docKey)).toEqual([
      "MED-20516115",
      "s.json#1",
    ]);
  });
});

describe("requirePdfLink() on sources without PDFs", () => {
  it("fails a ClinicalTrials.gov payload with InvalidInput", async () => {
    const payload = filePayload("clinicaltrials", "NCT1", { protocolSection: {} });
    expect(failure(await Effect.runPromiseExit(requirePdfLink(payload)))).toEqual(
      new InvalidInput({
        message:
          'clinicaltrials:NCT1: source "clinicaltrials" records carry no PDF (PDF sources: openalex, openalex-pdf, unpaywall, europepmc)',
        path: "",
      }),
    );
  });
});
