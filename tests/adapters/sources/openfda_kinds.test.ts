import { resolve } from "node:path";
import { Effect, Exit } from "effect";
import { describe, expect, it } from "vitest";
import { detectShape } from "../../../adapters/sources/_record_shape.ts";
import { discoverRecords, displayPath } from "../../../adapters/sources/discover.ts";
import { fileIngestStage } from "../../../adapters/sources/file_ingest.ts";
import { parseOpenFda } from "../../../adapters/sources/openfda.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, type StageError } from "../../../stages/errors.ts";
import { extract } from "../../../stages/extract.ts";
import type { Document, IngestRequest } from "../../../stages/ir.ts";
import { fixturesDir } from "../../_harness.ts";

const ctx: StageContext = {
  tenantId: "test",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "ingest",
  attempt: 1,
  metadata: {},
};

const fixture = (name: string): string => displayPath(resolve(fixturesDir, "openfda", name));
const recorded = (name: string): unknown =>
  JSON.parse(Deno.readTextFileSync(resolve(fixturesDir, "openfda", name)));

const inputs = (request: IngestRequest) => ({ request });

const ingestAndParse = (request: IngestRequest) =>
  fileIngestStage.run(ctx, inputs(request), {}).pipe(Effect.flatMap(parseOpenFda));

const failureOf = async (effect: Effect.Effect<unknown, StageError>): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(effect);
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  return exit.cause.reasons.map((reason) => (reason._tag === "Fail" ? reason.error : reason));
};

const parseFile = async (name: string, pointer = ""): Promise<Document> => {
  const found = await discoverRecords([fixture(name)]);
  const match = found.find((d) =>
    d.request.location.kind === "file" &&
    d.request.location.pointer === pointer
  );
  if (match === undefined) throw new Error(`no record at ${pointer} in ${name}`);
  return Effect.runPromise(ingestAndParse(match.request));
};

describe("openFDA record kinds in discovery", () => {
  it("keys Drugs@FDA applications by application_number and FAERS reports by safetyreportid", async () => {
    const semaglutide = fixture("drugsfda_semaglutide_limit2_20250722.json");
    const faers = fixture("faers_event_10003300.json");
    expect(await discoverRecords([semaglutide, faers])).toEqual([
      {
        request: {
          source: "openfda",
          docKey: "NDA213051",
          location: { kind: "file", file: semaglutide, pointer: "/results/0" },
        },
      },
      {
        request: {
          source: "openfda",
          docKey: "NDA215256",
          location: { kind: "file", file: semaglutide, pointer: "/results/1" },
        },
      },
      {
        request: {
          source: "openfda",
          docKey: "faers-10003300",
          location: { kind: "file", file: faers, pointer: "" },
        },
      },
    ]);
  });

  it("refuses a FAERS count response as a statistic and never takes it for OpenAlex", async () => {
    const counts = fixture("faers_count_pembrolizumab_reaction_20260811.json");
    const body = recorded("faers_count_pembrolizumab_reaction_20260811.json");
    const refusal = "openFDA count response (term/count pairs), not a document";
    expect(detectShape(body)).toEqual({ source: "openfda", kind: "list", records: [], refusal });
    expect(detectShape(body, "openalex")).toBeUndefined();
    const [found] = await discoverRecords([counts]);
    expect(found).toEqual({
      request: {
        source: "openfda",
        docKey: counts,
        location: { kind: "file", file: counts, pointer: "" },
      },
      problem: `${counts}: ${refusal}`,
    });
    expect(await failureOf(ingestAndParse(found.request))).toEqual([
      new InvalidInput({ message: `${counts}: ${refusal}`, path: counts }),
    ]);
  });
});

describe("parseOpenFda()", () => {
  it("parses a recorded Drugs@FDA application into products and submissions", async () => {
    const file = fixture("drugsfda_imatinib_20260811.json");
    const id = "openfda:NDA021588";
    expect(await parseFile("drugsfda_imatinib_20260811.json", "/results/0")).toEqual({
      id,
      source: "openfda",
      title: "GLEEVEC (NDA021588)",
      sections: [
        {
          id: `${id}:s0`,
          title: "Title",
          blocks: [{ id: `${id}:s0:b0`, type: "text", text: "GLEEVEC (NDA021588)" }],
        },
        {
          id: `${id}:s1`,
          title: "Application",
          blocks: [{
            id: `${id}:s1:b0`,
            type: "text",
            text: "Application NDA021588, sponsor NOVARTIS, approved 2003-04-18.",
          }],
        },
        {
          id: `${id}:s2`,
          title: "Products",
          blocks: [{
            id: `${id}:s2:b0`,
            type: "text",
            text: "GLEEVEC (product 001): IMATINIB MESYLATE EQ 100MG BASE; TABLET, ORAL; " +
              "Prescription; reference listed drug; reference standard; TE code AB",
          }],
        },
        {
          id: `${id}:s3`,
          title: "Submissions",
          blocks: [{
            id: `${id}:s3:b0`,
            type: "text",
            text: "ORIG 1: AP on 2003-04-18; Type 3 - New Dosage Form; review priority PRIORITY; " +
              "documents: Review 2006-06-07 http://www.accessdata.fda.gov/drugsatfda_docs/nda/2003/021588s000_GleevecTOC.html; " +
              "Other Important Information from FDA 2003-12-09 http://www.fda.gov/Drugs/DrugSafety/PostmarketDrugSafetyInformationforPatientsandProviders/ucm110502.htm; " +
              "Label 2003-04-28 http://www.accessdata.fda.gov/drugsatfda_docs/label/2003/021588lbl.pdf; " +
              "Letter 2003-05-29 http://www.accessdata.fda.gov/drugsatfda_docs/appletter/2003/21588ltr.pdf",
          }],
        },
      ],
      metadata: {
        recordKind: "drugsfda",
        applicationNumber: "NDA021588",
        sponsorName: "NOVARTIS",
        brandNames: ["GLEEVEC"],
        genericNames: ["IMATINIB MESYLATE"],
        activeIngredients: [{ name: "IMATINIB MESYLATE", strengths: ["EQ 100MG BASE"] }],
        dosageForms: ["TABLET"],
        routes: ["ORAL"],
        marketingStatuses: ["Prescription"],
        approvalDate: "2003-04-18",
        submissionCount: 1,
        manufacturers: [],
        rxcui: [],
        unii: [],
      },
      provenance: {
        source: "openfda",
        location: { kind: "file", file, pointer: "/results/0" },
        parser: "openfda.drugsfda",
      },
    });
  });

  it("parses a recorded FAERS report into the report, patient, reactions and drugs", async () => {
    const file = fixture("faers_event_10003300.json");
    const id = "openfda:faers-10003300";
    const block = (s: number, text: string, type: "text" | "list" = "text") => ({
      id: `${id}:s${s}:b0`,
      type,
      text,
    });
    expect(await parseFile("faers_event_10003300.json")).toEqual({
      id,
      source: "openfda",
      title: "FAERS report 10003300: BONIVA",
      sections: [
        { id: `${id}:s0`, title: "Title", blocks: [block(0, "FAERS report 10003300: BONIVA")] },
        {
          id: `${id}:s1`,
          title: "Report",
          blocks: [
            block(1, "Serious (disabling). Received 2014-03-06. Reported by a consumer in US."),
          ],
        },
        { id: `${id}:s2`, title: "Patient", blocks: [block(2, "Female, 77 years.")] },
        {
          id: `${id}:s3`,
          title: "Reactions",
          blocks: [block(3, "Vomiting\nDiarrhoea\nArthralgia\nHeadache", "list")],
        },
        {
          id: `${id}:s4`,
          title: "Drugs",
          blocks: [
            block(
              4,
              "BONIVA (suspect): 3 MG, 1 IN 3 M, INTRAVENOUS (NOT OTHERWISE SPECIFIED); " +
                "for OSTEOPOROSIS; started 2013-09-13",
            ),
          ],
        },
      ],
      metadata: {
        recordKind: "event",
        safetyReportId: "10003300",
        safetyReportVersion: "1",
        serious: true,
        seriousness: ["disabling"],
        receiveDate: "2014-03-06",
        receiptDate: "2014-03-06",
        country: "US",
        reporterQualification: "a consumer",
        patient: { sex: "female", age: "77", ageUnit: "years" },
        reactions: [
          { term: "Vomiting", outcome: null },
          { term: "Diarrhoea", outcome: null },
          { term: "Arthralgia", outcome: null },
          { term: "Headache", outcome: null },
        ],
        drugs: [{
          product: "BONIVA",
          characterization: "1",
          indication: "OSTEOPOROSIS",
          activeSubstance: null,
          genericNames: [],
          brandNames: [],
        }],
      },
      provenance: {
        source: "openfda",
        location: { kind: "file", file, pointer: "" },
        parser: "openfda.event",
      },
    });
  });

  it("refuses a count result and a record of no known kind, naming file, record and kind", async () => {
    const location = { kind: "file" as const, file: "mixed.json", pointer: "/results/1" };
    const payload = (record: unknown) => ({
      source: "openfda" as const,
      docKey: "x",
      location,
      record,
    });
    expect(await failureOf(parseOpenFda(payload({ term: "NAUSEA", count: 12 })))).toEqual([
      new InvalidInput({
        message:
          "mixed.json: results[1]: an openFDA count result (term/count pair), not a document",
        path: "results[1]",
      }),
    ]);
    expect(await failureOf(parseOpenFda(payload(["not", "a", "record"])))).toEqual([
      new InvalidInput({
        message: "mixed.json: results[1]: expected an openFDA drug label (set_id), Drugs@FDA " +
          "application (application_number) or FAERS report (safetyreportid), received array",
        path: "results[1]",
      }),
    ]);
  });
});

describe("extract() on the new openFDA kinds", () => {
  it("links a FAERS report to its reactions and to each drug by its harmonised generic name", async () => {
    const document = await parseFile("faers_event_10003332.json");
    expect(extract(document).claims.map((c) => [c.id, c.properties])).toEqual([
      ["AdverseEventReport:10003332|INVOLVES_DRUG|Drug:dabigatran etexilate mesylate", {
        role: "suspect",
        indication: "CEREBROVASCULAR ACCIDENT PROPHYLAXIS",
      }],
      ["AdverseEventReport:10003332|INVOLVES_DRUG|Drug:diabetes medication", {
        role: "concomitant",
        indication: "TYPE 2 DIABETES MELLITUS",
      }],
      ["AdverseEventReport:10003332|INVOLVES_DRUG|Drug:losartan", {
        role: "concomitant",
        indication: "HYPERTENSION",
      }],
      ["AdverseEventReport:10003332|INVOLVES_DRUG|Drug:rosuvastatin", {
        role: "concomitant",
        indication: "BLOOD CHOLESTEROL INCREASED",
      }],
      ["AdverseEventReport:10003332|REPORTS_REACTION|AdverseReaction:anorectal discomfort", {
        outcome: "not recovered/not resolved",
      }],
      ["AdverseEventReport:10003332|REPORTS_REACTION|AdverseReaction:proctalgia", {
        outcome: "not recovered/not resolved",
      }],
      ["AdverseEventReport:10003332|REPORTS_REACTION|AdverseReaction:rectal haemorrhage", {
        outcome: "not recovered/not resolved",
      }],
    ]);
  });

  it("links a Drugs@FDA application to its sponsor and each active ingredient", async () => {
    const document = await parseFile("drugsfda_semaglutide_limit2_20250722.json", "/results/0");
    expect(extract(document).claims.map((c) => [c.id, c.properties])).toEqual([
      ["DrugApplication:NDA213051|COVERS_DRUG|Drug:semaglutide", {
        strengths: ["9MG", "1.5MG", "7MG", "4MG", "14MG", "3MG"],
      }],
      ["DrugApplication:NDA213051|SPONSORED_BY|Organization:novo", { role: "applicant" }],
    ]);
  });
});
