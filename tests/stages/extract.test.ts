import { fc, test } from "@fast-check/vitest";
import { Effect } from "effect";
import { beforeAll, describe, expect, it } from "vitest";
import { discoverRecords } from "../../adapters/sources/discover.ts";
import { fileIngestStage } from "../../adapters/sources/file_ingest.ts";
import { parsePayload } from "../../adapters/sources/parse_stage.ts";
import type { StageContext } from "../../stages/context.ts";
import {
  extract,
  extractStage,
  firstIndicationSentence,
  indicatedConditionOf,
} from "../../stages/extract.ts";
import type { Claim, Document, Entity, FieldValue, IngestRequest } from "../../stages/ir.ts";
import { normaliseName } from "../../stages/normalise_name.ts";

const ctx: StageContext = {
  tenantId: "test",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "extract",
  attempt: 1,
  metadata: {},
};

const inputs = (
  request: IngestRequest,
  outputs: Readonly<Record<string, unknown>>,
  // deno-lint-ignore no-explicit-any
): any => ({
  request,
  ...outputs,
});

const loadDocuments = async (): Promise<ReadonlyArray<Document>> => {
  const found = await discoverRecords(["data/records"]);
  return Promise.all(found.map(({ request }) =>
    Effect.runPromise(
      fileIngestStage.run(ctx, inputs(request, {}), {}).pipe(Effect.flatMap(parsePayload)),
    )
  ));
};

const entity = (id: string, name: string, properties: Record<string, FieldValue> = {}): Entity => ({
  id,
  label: id.slice(0, id.indexOf(":")),
  name,
  properties,
});

const claimsOf = (docId: string) =>
(
  subject: string,
  predicate: string,
  object: string,
  properties: Record<string, FieldValue> = {},
): Claim => ({
  id: `${subject}|${predicate}|${object}`,
  subject,
  predicate,
  object,
  docId,
  properties,
});

let documents: ReadonlyArray<Document> = [];
const documentById = (id: string): Document => {
  const found = documents.find((d) => d.id === id);
  if (found === undefined) throw new Error(`no document ${id}`);
  return found;
};

beforeAll(async () => {
  documents = await loadDocuments();
});

describe("extract() on one record per source", () => {
  it("turns a trial into conditions, interventions and sponsors (NCT06171568)", () => {
    const docId = "clinicaltrials:NCT06171568";
    const claim = claimsOf(docId);
    const trial = "Trial:NCT06171568";
    const aphp = "Organization:assistance publique - hôpitaux de paris";
    const unit = "Organization:clinical research unit saint louis lariboisière";
    const sbt = "Organization:sbt human(s) matter";
    expect(extract(documentById(docId))).toEqual({
      docId,
      entities: [
        entity("Condition:brain injuries", "Brain Injuries", { meshId: "D000001930" }),
        entity("Intervention:tests and questionnaires", "Tests and questionnaires", {
          type: "OTHER",
        }),
        entity(aphp, "Assistance Publique - Hôpitaux de Paris", { class: "OTHER" }),
        entity(unit, "Clinical Research Unit Saint Louis Lariboisière", { class: "UNKNOWN" }),
        entity(sbt, "SBT Human(s) Matter", { class: "UNKNOWN" }),
        entity(trial, "Lariboisière Cognitive Assessment: Evaluation of the 1-year Outcomes", {
          nctId: "NCT06171568",
          overallStatus: "NOT_YET_RECRUITING",
          phases: [],
        }),
      ],
      claims: [
        claim(trial, "HAS_COLLABORATOR", unit, { class: "UNKNOWN" }),
        claim(trial, "HAS_COLLABORATOR", sbt, { class: "UNKNOWN" }),
        claim(trial, "SPONSORED_BY", aphp, { role: "lead", class: "OTHER" }),
        claim(trial, "STUDIES", "Condition:brain injuries", {
          via: "conditions",
          meshId: "D000001930",
        }),
        claim(trial, "TESTS", "Intervention:tests and questionnaires", {
          via: "interventions",
          interventionType: "OTHER",
        }),
      ],
    });
  });

  it("turns a drug label into drug, classes, manufacturer and indication (Natco gefitinib)", () => {
    const setId = "1a3c0ce7-06a1-4e04-9106-14ddb2a866a5";
    const docId = `openfda:${setId}`;
    const claim = claimsOf(docId);
    const label = `DrugLabel:${setId}`;
    const nsclc = "Condition:metastatic non-small cell lung cancer";
    const epc = "PharmClass:kinase inhibitor [epc]";
    const moa = "PharmClass:protein kinase inhibitors [moa]";
    const natco = "Organization:natco pharma usa llc";
    const sentence =
      "Gefitinib tablets are indicated for the first-line treatment of patients with " +
      "metastatic non-small cell lung cancer (NSCLC) whose tumors have epidermal growth factor receptor " +
      "(EGFR) exon 19 deletions or exon 21 (L858R) substitution mutations as detected by an FDA-approved " +
      "test [see Clinical Studies (14) ].";
    expect(extract(documentById(docId))).toEqual({
      docId,
      entities: [
        entity(nsclc, "metastatic non-small cell lung cancer"),
        entity("Drug:gefitinib", "GEFITINIB", {
          brandNames: ["Gefitinib"],
          rxcui: ["349472"],
          unii: ["S65743JHBS"],
        }),
        entity(label, "Gefitinib", { setId, effectiveTime: "20260310", brandNames: ["Gefitinib"] }),
        entity(natco, "Natco Pharma USA LLC"),
        entity(epc, "Kinase Inhibitor", { kind: "EPC" }),
        entity(moa, "Protein Kinase Inhibitors", { kind: "MoA" }),
      ],
      claims: [
        claim("Drug:gefitinib", "HAS_PHARM_CLASS", epc, { kind: "EPC" }),
        claim("Drug:gefitinib", "HAS_PHARM_CLASS", moa, { kind: "MoA" }),
        claim("Drug:gefitinib", "MANUFACTURED_BY", natco, { setId }),
        claim("Drug:gefitinib", "TREATS", nsclc),
        claim(label, "DESCRIBES", "Drug:gefitinib", { brandNames: ["Gefitinib"] }),
        claim(label, "INDICATED_FOR", nsclc, { text: sentence }),
      ],
    });
  });

  it("turns a work into authors, topics and MeSH conditions and concepts (W1989154056)", () => {
    const docId = "openalex:W1989154056";
    const claim = claimsOf(docId);
    const work = "Work:W1989154056";
    const authors: ReadonlyArray<readonly [string, string, string | null, string, number]> = [
      ["A5007392842", "Janice E. Clements", "0000-0002-3096-1457", "middle", 7],
      ["A5025657472", "Kelly A. Metcalf Pate", "0000-0003-4799-4631", "middle", 3],
      ["A5050541044", "Sarah E. Beck", "0000-0002-6376-5276", "first", 0],
      ["A5054815296", "Robert J. Adams", "0000-0002-2142-9813", "middle", 6],
      ["A5067136189", "Lúcio Gama", "0000-0001-9511-012X", "middle", 5],
      ["A5076048298", "Joseph L. Mankowski", "0000-0002-6283-4727", "last", 9],
      ["A5078835957", "Kenneth W. Witwer", "0000-0003-1664-4233", "middle", 2],
      ["A5089491542", "Lisa M. Mangus", "0000-0002-3896-517X", "middle", 4],
      ["A5090190029", "Suzanne E. Queen", "0009-0001-7220-5254", "middle", 1],
      ["A5111633187", "M. Christine Zink", null, "middle", 8],
    ];
    const mesh: ReadonlyArray<readonly [string, string, string, boolean, ReadonlyArray<string>]> = [
      ["Concept:animals", "Animals", "D000818", false, []],
      ["Concept:biomarkers", "Biomarkers", "D015415", false, ["blood", "cerebrospinal fluid"]],
      ["Concept:disease models, animal", "Disease Models, Animal", "D004195", true, []],
      ["Concept:humans", "Humans", "D006801", false, []],
      ["Concept:macaca nemestrina", "Macaca nemestrina", "D008254", false, []],
      ["Concept:neuroprotective agents", "Neuroprotective Agents", "D018696", false, [
        "therapeutic use",
      ]],
      ["Concept:predictive value of tests", "Predictive Value of Tests", "D011237", false, []],
      [
        "Concept:simian immunodeficiency virus",
        "Simian Immunodeficiency Virus",
        "D015302",
        false,
        [],
      ],
      ["Condition:aids dementia complex", "AIDS Dementia Complex", "D015526", false, [
        "blood",
        "cerebrospinal fluid",
        "drug therapy",
        "virology",
      ]],
      [
        "Condition:simian acquired immunodeficiency syndrome",
        "Simian Acquired Immunodeficiency Syndrome",
        "D016097",
        false,
        ["blood", "cerebrospinal fluid", "drug therapy", "virology"],
      ],
    ];
    const topics: ReadonlyArray<readonly [string, string, string, string, number]> = [
      [
        "T10112",
        "HIV Research and Treatment",
        "Immunology and Microbiology",
        "Life Sciences",
        0.9998000264167786,
      ],
      [
        "T11266",
        "Neuroinflammation and Neurodegeneration Mechanisms",
        "Neuroscience",
        "Life Sciences",
        0.9822999835014343,
      ],
      [
        "T11655",
        "HIV-related health complications and treatments",
        "Medicine",
        "Health Sciences",
        0.9847999811172485,
      ],
    ];
    expect(extract(documentById(docId))).toEqual({
      docId,
      entities: [
        ...authors.map(([id, name, orcid]) => entity(`Author:${id}`, name, { orcid })),
        ...mesh.map(([id, name, meshId]) => entity(id, name, { meshId })),
        ...topics.map(([id, name, field, domain]) =>
          entity(`Topic:${id}`, name, { field, domain })
        ),
        entity(work, "Paving the path to HIV neurotherapy: Predicting SIV CNS disease", {
          openalexId: "W1989154056",
          doi: "10.1016/j.ejphar.2015.03.018",
          pmid: "25818747",
          publicationYear: 2015,
        }),
      ],
      claims: [
        ...authors.map(([id, , , position, order]) =>
          claim(work, "AUTHORED_BY", `Author:${id}`, { position, order })
        ),
        ...topics.map(([id, , , , score]) => claim(work, "HAS_TOPIC", `Topic:${id}`, { score })),
        ...mesh.map(([id, , , isMajorTopic, qualifiers]) =>
          claim(work, "MENTIONS", id, { isMajorTopic, qualifiers })
        ),
      ],
    });
  });
});

describe("extract() across documents", () => {
  it("makes gefitinib one Drug node across the four labels", () => {
    const labels = documents.filter((d) => d.source === "openfda");
    const extractions = labels.map(extract);
    const ids = (
      label: string,
    ) => [
      ...new Set(
        extractions.flatMap((x) => x.entities.filter((e) => e.label === label).map((e) => e.id)),
      ),
    ];
    expect(labels).toHaveLength(4);
    expect(ids("Drug")).toEqual(["Drug:gefitinib"]);
    expect(ids("PharmClass")).toEqual([
      "PharmClass:kinase inhibitor [epc]",
      "PharmClass:protein kinase inhibitors [moa]",
    ]);
    expect(ids("DrugLabel")).toHaveLength(4);
    expect(ids("Organization")).toEqual([
      "Organization:natco pharma usa llc",
      "Organization:ingenus pharmaceuticals, llc",
      "Organization:astrazeneca pharmaceuticals lp",
      "Organization:qilu pharmaceutical co., ltd",
    ]);
  });

  it("joins a trial's drug intervention to the label's Drug node", () => {
    const trial: Document = {
      id: "clinicaltrials:NCT00000001",
      source: "clinicaltrials",
      title: "A gefitinib study",
      sections: [],
      metadata: {
        nctId: "NCT00000001",
        interventions: [
          { type: "DRUG", name: "Gefitinib Tablets", otherNames: ["Iressa®"] },
          { type: "BIOLOGICAL", name: "Pembrolizumab for injection", otherNames: [] },
          { type: null, name: "Saline", otherNames: [] },
        ],
      },
      provenance: {
        source: "clinicaltrials",
        location: { kind: "file", file: "x.json", pointer: "" },
        parser: "test",
      },
    };
    expect(extract(trial).claims.map((c) => c.id)).toEqual([
      "Trial:NCT00000001|TESTS|Drug:gefitinib",
      "Trial:NCT00000001|TESTS|Drug:pembrolizumab",
      "Trial:NCT00000001|TESTS|Intervention:saline",
    ]);
  });

  it("keys an indication it cannot match to a condition by its first words", () => {
    const label: Document = {
      id: "openfda:abc",
      source: "openfda",
      title: "Sleep aid",
      sections: [],
      metadata: {
        setId: "abc",
        genericNames: [],
        substanceNames: ["DIPHENHYDRAMINE HYDROCHLORIDE"],
        indications:
          "INDICATIONS & USAGE: for relief of occasional sleeplessness. Take at bedtime.",
      },
      provenance: {
        source: "openfda",
        location: { kind: "file", file: "x.json", pointer: "" },
        parser: "test",
      },
    };
    const text = "for relief of occasional sleeplessness.";
    expect(extract(label).entities.filter((e) => e.label === "Indication")).toEqual([
      entity("Indication:for relief of occasional sleeplessness", text, { text }),
    ]);
    expect(extract(label).claims.map((c) => c.id)).toEqual([
      "DrugLabel:abc|DESCRIBES|Drug:diphenhydramine hydrochloride",
      "DrugLabel:abc|INDICATED_FOR|Indication:for relief of occasional sleeplessness",
    ]);
  });

  it("finds nothing in a source it has no rules for", () => {
    const document: Document = {
      id: "europepmc:PMC1",
      source: "europepmc",
      title: "x",
      sections: [],
      metadata: { nctId: "NCT00000001" },
      provenance: {
        source: "europepmc",
        location: { kind: "file", file: "x.json", pointer: "" },
        parser: "test",
      },
    };
    expect(extract(document)).toEqual({ docId: "europepmc:PMC1", entities: [], claims: [] });
  });
});

describe("extract() is deterministic", () => {
  it("gives byte-identical output for every bundled document on every call", () => {
    for (const document of documents) {
      expect(JSON.stringify(extract(document))).toBe(JSON.stringify(extract(document)));
    }
  });

  const shuffled = <A>(items: ReadonlyArray<A>) =>
    fc.shuffledSubarray([...items], { minLength: items.length });

  test.prop([
    fc.constant(null).chain(() => {
      const metadata = documentById("clinicaltrials:NCT00763412").metadata;
      return fc.record({
        conditions: shuffled(metadata.conditions as ReadonlyArray<FieldValue>),
        interventions: shuffled(metadata.interventions as ReadonlyArray<FieldValue>),
        collaborators: shuffled(metadata.collaborators as ReadonlyArray<FieldValue>),
      });
    }),
  ])("does not depend on the order of the record's lists", (lists) => {
    const document = documentById("clinicaltrials:NCT00763412");
    expect(extract({ ...document, metadata: { ...document.metadata, ...lists } })).toEqual(
      extract(document),
    );
  });
});

describe("extractStage", () => {
  it("runs extract() on the Parse output and counts entities and claims", async () => {
    const document = documentById("openfda:827d60e8-7e07-41b7-c28b-49ef1c4a5a41");
    const request: IngestRequest = {
      source: "openfda",
      docKey: "827d60e8-7e07-41b7-c28b-49ef1c4a5a41",
      location: document.provenance.location,
    };
    const extraction = await Effect.runPromise(
      extractStage.run(ctx, inputs(request, { Parse: document }), {}),
    );
    expect(extraction).toEqual(extract(document));
    expect(extractStage.outputCount(extraction)).toBe(12);
  });
});

describe("normaliseName()", () => {
  it("folds case, marks, spacing, edge punctuation and dosage forms", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["Gefitinib Tablets", "gefitinib"],
      ["GEFITINIB", "gefitinib"],
      ["  IRESSA®  ", "iressa"],
      ["Keytruda™ (pembrolizumab) injection", "keytruda (pembrolizumab)"],
      ["Pembrolizumab for injection", "pembrolizumab"],
      ["Amoxicillin Capsules, oral", "amoxicillin"],
      ["Metformin hydrochloride tablet, film-coated", "metformin hydrochloride"],
      ["Ｇｅｆｉｔｉｎｉｂ", "gefitinib"],
      ["Brain   Injuries.", "brain injuries"],
      ["Insulin-Like Growth Factor-1 (IGF-1)", "insulin-like growth factor-1 (igf-1)"],
      ["RNA, Messenger", "rna, messenger"],
      ["Injection", "injection"],
      ["Oral Hygiene", "oral hygiene"],
      ["®", ""],
    ];
    expect(cases.map(([input]) => normaliseName(input))).toEqual(cases.map(([, output]) => output));
  });

  test.prop([fc.string({ unit: "binary" })])("is idempotent", (name) => {
    expect(normaliseName(normaliseName(name))).toBe(normaliseName(name));
  });
});

describe("indication helpers", () => {
  it("take the first sentence without its heading and the condition it names", () => {
    const sentence = firstIndicationSentence(
      "1 INDICATIONS AND USAGE KEYTRUDA is indicated for the treatment of adult patients with " +
        "unresectable or metastatic melanoma. More text.",
    );
    expect(sentence).toBe(
      "KEYTRUDA is indicated for the treatment of adult patients with unresectable or metastatic melanoma.",
    );
    expect(indicatedConditionOf(sentence)).toBe("unresectable or metastatic melanoma");
    expect(indicatedConditionOf("Take one tablet daily.")).toBeUndefined();
  });
});
