import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fc, test } from "@fast-check/vitest";
import { Effect, Exit } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverRecords } from "../../../adapters/sources/discover.ts";
import { fileIngestStage } from "../../../adapters/sources/file_ingest.ts";
import { rebuildAbstract } from "../../../adapters/sources/openalex.ts";
import { parseStage } from "../../../adapters/sources/parse_stage.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, Permanent, type StageError } from "../../../stages/errors.ts";
import type { Document, IngestRequest, RawPayload } from "../../../stages/ir.ts";

const ctx: StageContext = {
  tenantId: "test",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "parse",
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

const ingestAndParse = (request: IngestRequest): Effect.Effect<Document, StageError> =>
  fileIngestStage.run(ctx, inputs(request), {}).pipe(
    Effect.flatMap((payload) => parseStage.run(ctx, inputs(request, { Ingest: payload }), {})),
  );

const failureOf = async (effect: Effect.Effect<unknown, StageError>): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(effect);
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  return exit.cause.reasons.map((reason) => (reason._tag === "Fail" ? reason.error : reason));
};

const bundledDocuments = async (): Promise<ReadonlyArray<Document>> => {
  const found = await discoverRecords(["data/records"]);
  return Promise.all(found.map((d) => Effect.runPromise(ingestAndParse(d.request))));
};

const byKey = (documents: ReadonlyArray<Document>, id: string): Document => {
  const found = documents.find((d) => d.id === id);
  if (found === undefined) throw new Error(`no document ${id}`);
  return found;
};

const sectionTitles = (document: Document) =>
  document.sections.map((s) => [s.title, s.blocks.length]);

describe("parseStage on the bundled records", () => {
  let documents: ReadonlyArray<Document> = [];
  beforeAll(async () => {
    documents = await bundledDocuments();
  });

  it("parses every record, with deterministic section and block ids and a Title section", () => {
    expect(documents).toHaveLength(20);
    for (const document of documents) {
      expect(document.id).toBe(`${document.source}:${document.id.split(":")[1]}`);
      expect(document.sections[0].title).toBe("Title");
      expect(document.sections[0].blocks[0].text).toBe(document.title);
      document.sections.forEach((section, i) => {
        expect(section.id).toBe(`${document.id}:s${i}`);
        section.blocks.forEach((block, j) => expect(block.id).toBe(`${document.id}:s${i}:b${j}`));
      });
    }
  });

  it("reads a full ClinicalTrials.gov study (NCT06171568)", () => {
    const document = byKey(documents, "clinicaltrials:NCT06171568");
    expect(document.title).toBe(
      "Lariboisière Cognitive Assessment: Evaluation of the 1-year Outcomes",
    );
    expect(sectionTitles(document)).toEqual([
      ["Title", 2],
      ["Brief Summary", 1],
      ["Detailed Description", 1],
      ["Conditions", 1],
      ["Keywords", 1],
      ["Interventions", 1],
      ["Primary Outcomes", 1],
      ["Secondary Outcomes", 7],
      ["Eligibility Criteria", 2],
    ]);
    expect(document.sections[5].blocks[0].text).toBe(
      "Tests and questionnaires (OTHER): 1 year after discharge from neurosurgery department...",
    );
    expect(document.metadata).toEqual({
      nctId: "NCT06171568",
      briefTitle: "Lariboisière Cognitive Assessment: Evaluation of the 1-year Outcomes",
      officialTitle:
        "Study of the One-year Outcomes of Patients Hospitalized in the Lariboisière Neurosurgery Department",
      overallStatus: "NOT_YET_RECRUITING",
      startDate: "2024-02-01",
      completionDate: "2025-02-01",
      studyType: "OBSERVATIONAL",
      phases: [],
      conditions: ["Brain Injuries"],
      keywords: [
        "Brain injuries",
        "Prognosis",
        "Cognitive impairment",
        "Cognition",
        "Executive Function",
        "Neuropsychological tests",
        "Neuro-rehabilitation",
      ],
      interventions: [{ type: "OTHER", name: "Tests and questionnaires", otherNames: [] }],
      leadSponsor: { name: "Assistance Publique - Hôpitaux de Paris", class: "OTHER" },
      collaborators: [
        { name: "SBT Human(s) Matter", class: "UNKNOWN" },
        { name: "Clinical Research Unit Saint Louis Lariboisière", class: "UNKNOWN" },
      ],
      meshTerms: { conditions: [{ id: "D000001930", term: "Brain Injuries" }], interventions: [] },
      hasResults: false,
      adverseEvents: [],
    });
    expect(document.provenance).toEqual({
      source: "clinicaltrials",
      location: { kind: "file", file: "data/records/clinicaltrials/NCT06171568.json", pointer: "" },
      parser: "clinicaltrials.v2",
    });
  });

  it("reads a field-projected study of a list page (NCT03493607)", () => {
    const document = byKey(documents, "clinicaltrials:NCT03493607");
    expect(sectionTitles(document)).toEqual([
      ["Title", 1],
      ["Brief Summary", 1],
      ["Conditions", 1],
      ["Interventions", 1],
    ]);
    expect(document.metadata.interventions).toEqual([{
      type: null,
      name: "AMO-01",
      otherNames: [],
    }]);
    expect(document.metadata.leadSponsor).toEqual({ name: "Alexander Kolevzon", class: null });
  });

  it("reads an OpenAlex work and rebuilds its 260-word abstract (W1982728624)", () => {
    const document = byKey(documents, "openalex:W1982728624");
    const title =
      "Triose Phosphate Isomerase Deficiency Is Caused by Altered Dimerization–Not Catalytic Inactivity–of the Mutant Enzymes";
    expect(document.title).toBe(title);
    expect(sectionTitles(document)).toEqual([["Title", 1], ["Abstract", 1]]);
    const abstract = document.sections[1].blocks[0].text;
    expect(abstract.split(" ")).toHaveLength(260);
    expect(
      abstract.startsWith(
        "Triosephosphate isomerase (TPI) deficiency is an autosomal recessive disorder",
      ),
    )
      .toBe(true);
    const concept = (id: string, name: string, score: number, level: number) => ({
      id,
      name,
      score,
      level,
    });
    const mesh = (ui: string, name: string, major: boolean, qualifiers: ReadonlyArray<string>) => ({
      descriptor_ui: ui,
      descriptor_name: name,
      is_major_topic: major,
      qualifier_names: qualifiers,
    });
    expect(document.metadata).toEqual({
      openalexId: "W1982728624",
      doi: "10.1371/journal.pone.0000030",
      pmid: "17183658",
      pmcid: null,
      publicationYear: 2006,
      publicationDate: "2006-12-20",
      type: "article",
      language: "en",
      authors: [
        {
          id: "A5070892021",
          name: "Markus Ralser",
          orcid: "0000-0001-9535-7413",
          position: "first",
        },
        { id: "A5074494523", name: "Gino Heeren", orcid: null, position: "middle" },
        {
          id: "A5005096039",
          name: "Michael Breitenbach",
          orcid: "0000-0003-0868-9036",
          position: "middle",
        },
        { id: "A5019720850", name: "Hans Lehrach", orcid: null, position: "middle" },
        { id: "A5037049983", name: "Sylvia Krobitsch", orcid: null, position: "last" },
      ],
      topics: [
        {
          id: "T12286",
          name: "Erythrocyte Function and Pathophysiology",
          score: 1,
          subfield: "Physiology",
          field: "Medicine",
          domain: "Health Sciences",
        },
        {
          id: "T10839",
          name: "Pancreatic function and diabetes",
          score: 0.9994999766349792,
          subfield: "Surgery",
          field: "Medicine",
          domain: "Health Sciences",
        },
        {
          id: "T11150",
          name: "Endoplasmic Reticulum Stress and Disease",
          score: 0.9983999729156494,
          subfield: "Cell Biology",
          field: "Biochemistry, Genetics and Molecular Biology",
          domain: "Life Sciences",
        },
      ],
      concepts: [
        concept("C2778727959", "Triosephosphate isomerase", 0.8925309777259827, 3),
        concept("C181199279", "Enzyme", 0.6651569604873657, 2),
        concept("C86803240", "Biology", 0.5639511942863464, 0),
        concept("C2780866112", "Dihydroxyacetone phosphate", 0.5409504175186157, 3),
        concept("C143065580", "Mutant", 0.5084394812583923, 3),
        concept("C55493867", "Biochemistry", 0.47292548418045044, 1),
        concept("C104317684", "Gene", 0.46058008074760437, 2),
        concept("C153911025", "Molecular biology", 0.43439286947250366, 1),
        concept("C501734568", "Mutation", 0.426923930644989, 3),
        concept("C91754966", "Phosphoglycerate mutase", 0.41421952843666077, 4),
        concept("C185592680", "Chemistry", 0.3629661202430725, 0),
        concept("C54355233", "Genetics", 0.34080541133880615, 1),
        concept("C20251656", "Glycolysis", 0.19403576850891113, 3),
      ],
      keywords: [
        "Triosephosphate isomerase",
        "Enzyme",
        "Biology",
        "Dihydroxyacetone phosphate",
        "Mutant",
        "Biochemistry",
        "Gene",
        "Molecular biology",
        "Mutation",
        "Phosphoglycerate mutase",
        "Chemistry",
        "Genetics",
        "Glycolysis",
      ],
      mesh: [
        mesh("D000818", "Animals", false, []),
        mesh("D001483", "Base Sequence", false, []),
        mesh("D002522", "Chlorocebus aethiops", false, []),
        mesh("D003958", "Diamide", false, ["pharmacology"]),
        mesh("D004351", "Drug Resistance", false, ["genetics"]),
        mesh("D005816", "Genetic Complementation Test", false, []),
        mesh("D006801", "Humans", false, []),
        mesh("D008958", "Models, Molecular", false, []),
        mesh("D009154", "Mutation", true, []),
        mesh("D010442", "Peptide Chain Initiation, Translational", false, []),
        mesh("D011993", "Recombinant Fusion Proteins", false, [
          "genetics",
          "metabolism",
          "chemistry",
        ]),
        mesh("D012333", "RNA, Messenger", false, ["genetics", "metabolism"]),
        mesh("D012441", "Saccharomyces cerevisiae", false, ["enzymology", "genetics"]),
        mesh("D013439", "Sulfhydryl Reagents", false, ["pharmacology"]),
        mesh("D014305", "Triose-Phosphate Isomerase", false, [
          "deficiency",
          "genetics",
          "chemistry",
        ]),
        mesh("D019556", "COS Cells", false, []),
        mesh("D019943", "Amino Acid Substitution", false, []),
        mesh("D020125", "Mutation, Missense", false, []),
        mesh("D020798", "Two-Hybrid System Techniques", false, []),
        mesh("D020836", "Protein Structure, Quaternary", false, []),
        mesh("D055503", "Protein Multimerization", false, []),
      ],
      oaPdfUrl:
        "https://journals.plos.org/plosone/article/file?id=10.1371/journal.pone.0000030&type=printable",
      isOa: true,
      oaStatus: "gold",
    });
  });

  it("reads a closed-access OpenAlex work without an abstract (W1989154056)", () => {
    const document = byKey(documents, "openalex:W1989154056");
    expect(sectionTitles(document)).toEqual([["Title", 1]]);
    expect([document.metadata.oaPdfUrl, document.metadata.isOa, document.metadata.pmcid]).toEqual([
      null,
      false,
      null,
    ]);
  });

  it("reads an openFDA label, one section per label section present (Natco gefitinib)", async () => {
    const document = byKey(documents, "openfda:1a3c0ce7-06a1-4e04-9106-14ddb2a866a5");
    const raw = JSON.parse(
      await readFile("data/records/openfda/label_gefitinib_20261007.json", "utf8"),
    );
    const indications = String(raw.results[0].indications_and_usage[0]).replace(/\s+/g, " ").trim();
    expect(document.title).toBe("Gefitinib");
    expect(sectionTitles(document)).toEqual([
      ["Title", 1],
      ["Indications and Usage", 1],
      ["Dosage and Administration", 1],
      ["Warnings and Precautions", 1],
      ["Drug Interactions", 1],
    ]);
    expect(document.sections[1].blocks[0].text).toBe(indications);
    expect(document.metadata).toEqual({
      setId: "1a3c0ce7-06a1-4e04-9106-14ddb2a866a5",
      splId: "5a5b1155-767f-4e57-bd89-c67c80b40972",
      version: null,
      effectiveTime: "20260310",
      brandNames: ["Gefitinib"],
      genericNames: ["GEFITINIB"],
      manufacturers: ["Natco Pharma USA LLC"],
      substanceNames: ["GEFITINIB"],
      routes: ["ORAL"],
      productTypes: ["HUMAN PRESCRIPTION DRUG"],
      applicationNumbers: ["ANDA212827"],
      pharmClassEpc: ["Kinase Inhibitor [EPC]"],
      pharmClassMoa: ["Protein Kinase Inhibitors [MoA]"],
      pharmClassPe: [],
      pharmClassCs: [],
      rxcui: ["349472"],
      unii: ["S65743JHBS"],
      indications,
    });
  });

  it("titles a branded label `BRAND (GENERIC)`", () => {
    expect(byKey(documents, "openfda:827d60e8-7e07-41b7-c28b-49ef1c4a5a41").title).toBe(
      "IRESSA (GEFITINIB)",
    );
  });

  it("counts blocks as the Parse stage's output count", () => {
    const document = byKey(documents, "clinicaltrials:NCT06171568");
    expect(parseStage.outputCount(document)).toBe(17);
  });
});

describe("bad records fail their own job only", () => {
  let dir = "";
  const study = (nctId: unknown) => ({
    protocolSection: { identificationModule: { nctId, briefTitle: `Study ${String(nctId)}` } },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lineage-kit-parse-"));
    await mkdir(join(dir, "bad"));
    const list = { studies: [study("NCT00000001"), study(12345), study("NCT00000003")] };
    await writeFile(join(dir, "bad", "ct.json"), JSON.stringify(list, null, 2));
    await writeFile(join(dir, "bad", "truncated.json"), '{\n  "results": [\n    {"set_id": ');
    await writeFile(join(dir, "bad", "trailing.json"), '{"studies": [1, 2,\n]}');
    await writeFile(join(dir, "bad", "other.json"), JSON.stringify({ hello: "world" }));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("fails the wrong-typed record with InvalidInput naming file and field; its siblings parse", async () => {
    const file = `${dir}/bad/ct.json`;
    const found = await discoverRecords([file]);
    const [first, bad, third] = found.map((d) => d.request);
    expect((await Effect.runPromise(ingestAndParse(first))).title).toBe("Study NCT00000001");
    expect((await Effect.runPromise(ingestAndParse(third))).title).toBe("Study NCT00000003");
    const path = "studies[1].protocolSection.identificationModule.nctId";
    expect(await failureOf(ingestAndParse(bad))).toEqual([
      new InvalidInput({ message: `${file}: ${path}: expected string, received number`, path }),
    ]);
  });

  it("fails a truncated file at ingest with file:line:column", async () => {
    const file = `${dir}/bad/truncated.json`;
    const [found] = await discoverRecords([file]);
    expect(await failureOf(ingestAndParse(found.request))).toEqual([
      new InvalidInput({
        message: `${file}:3:16: invalid JSON: Unexpected end of JSON input`,
        path: `${file}:3:16`,
      }),
    ]);
  });

  it("locates a syntax error V8 gives no position for (a trailing comma)", async () => {
    const file = `${dir}/bad/trailing.json`;
    const [found] = await discoverRecords([file]);
    expect(await failureOf(ingestAndParse(found.request))).toEqual([
      new InvalidInput({
        message: `${file}:2:1: invalid JSON: Unexpected token ']'`,
        path: `${file}:2:1`,
      }),
    ]);
  });

  it("fails a file that matches no source at ingest", async () => {
    const file = `${dir}/bad/other.json`;
    const [found] = await discoverRecords([file]);
    expect(await failureOf(ingestAndParse(found.request))).toEqual([
      new InvalidInput({
        message:
          `${file}: not a record of source "clinicaltrials" (found an object with keys hello)`,
        path: file,
      }),
    ]);
  });

  it("fails a pointer that names no record", async () => {
    const file = `${dir}/bad/ct.json`;
    const request: IngestRequest = {
      source: "clinicaltrials",
      docKey: "NCT00000009",
      location: { kind: "file", file, pointer: "/studies/9" },
    };
    expect(await failureOf(fileIngestStage.run(ctx, inputs(request), {}))).toEqual([
      new InvalidInput({ message: `${file}: studies[9]: no such record`, path: "studies[9]" }),
    ]);
  });

  it("fails a url location at the file ingest stage with Permanent", async () => {
    const request: IngestRequest = {
      source: "openalex",
      docKey: "W1",
      location: { kind: "url", url: "https://api.openalex.org/works/W1" },
    };
    expect(await failureOf(fileIngestStage.run(ctx, inputs(request), {}))).toEqual([
      new Permanent({ message: 'W1: file ingest cannot read a "url" location' }),
    ]);
  });

  it("fails a source without a parser with Permanent listing the known ones", async () => {
    const payload: RawPayload = {
      source: "pubmed" as RawPayload["source"],
      docKey: "PMC1",
      location: { kind: "file", file: "x.json", pointer: "" },
      record: {},
    };
    expect(await failureOf(parseStage.run(ctx, inputs(payload, { Ingest: payload }), {}))).toEqual([
      new Permanent({
        message:
          'PMC1: no parser for source "pubmed" (known: clinicaltrials, openalex, openalex-pdf, openfda, europepmc, unpaywall)',
      }),
    ]);
  });

  it("parses a study that has only an id and a title into a Title section", async () => {
    const payload: RawPayload = {
      source: "clinicaltrials",
      docKey: "NCT00000001",
      location: { kind: "file", file: "x.json", pointer: "" },
      record: study("NCT00000001"),
    };
    const document = await Effect.runPromise(
      parseStage.run(ctx, inputs({ ...payload }, { Ingest: payload }), {}),
    );
    expect(document.sections).toEqual([
      {
        id: "clinicaltrials:NCT00000001:s0",
        title: "Title",
        blocks: [{
          id: "clinicaltrials:NCT00000001:s0:b0",
          type: "text",
          text: "Study NCT00000001",
        }],
      },
    ]);
  });

  it("names the first of several issues and counts the rest", async () => {
    const payload: RawPayload = {
      source: "openfda",
      docKey: "x",
      location: { kind: "file", file: "labels.json", pointer: "/results/2" },
      record: { set_id: 7, indications_and_usage: "text", openfda: { brand_name: [1] } },
    };
    expect(await failureOf(parseStage.run(ctx, inputs({ ...payload }, { Ingest: payload }), {})))
      .toEqual([
        new InvalidInput({
          message: "labels.json: results[2].set_id: expected string, received number (and 2 more)",
          path: "results[2].set_id",
        }),
      ]);
  });
});

describe("rebuildAbstract()", () => {
  const word = fc.stringMatching(/^[A-Za-z0-9()'.,-]{1,12}$/);

  test.prop([fc.array(word, { minLength: 1, maxLength: 300 })])(
    "rebuilds the word sequence; word count equals max position + 1",
    (words) => {
      const index: Record<string, Array<number>> = {};
      words.forEach((w, position) => {
        index[w] = [...(Object.hasOwn(index, w) ? index[w] : []), position];
      });
      const maxPosition = Math.max(...Object.values(index).flat());
      const rebuilt = rebuildAbstract(index);
      expect(rebuilt.split(" ")).toHaveLength(maxPosition + 1);
      expect(rebuilt).toBe(words.join(" "));
    },
  );

  it("puts words in position order whatever the key order", () => {
    expect(rebuildAbstract({ world: [1, 3], hello: [0], again: [2] })).toBe(
      "hello world again world",
    );
  });
});
