/**
 * The built-in Extract stage: turns the structured fields a parser kept in `Document.metadata`
 * into knowledge-graph entities and claims. Pure and deterministic: the same document always gives
 * the same entities and claims, sorted by id.
 *
 * Entity ids are `{Label}:{key}`, the key being the source's own id where there is one (`Trial:NCT…`,
 * `Author:A…`) and the normalised name otherwise (`Drug:gefitinib`), so a drug named by a trial and
 * by a label is one node. Claim ids are `{subject}|{predicate}|{object}`.
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "./contracts.ts";
import { documentSchema, extractionSchema } from "./ir_schemas.ts";
import {
  type Claim,
  type Document,
  type Entity,
  type Extraction,
  type FieldValue,
  recordFormatOf,
} from "./ir.ts";
import { normaliseName } from "./normalise_name.ts";

type Fields = Readonly<Record<string, FieldValue>>;
type Properties = Readonly<Record<string, FieldValue>>;

const str = (v: FieldValue | undefined): string | undefined =>
  typeof v === "string" && v.trim() !== "" ? v : undefined;
const list = (v: FieldValue | undefined): ReadonlyArray<FieldValue> => (Array.isArray(v) ? v : []);
const strs = (v: FieldValue | undefined): ReadonlyArray<string> =>
  list(v).flatMap((x) => str(x) ?? []);
const fields = (v: FieldValue | undefined): Fields | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Fields) : undefined;
const fieldList = (v: FieldValue | undefined): ReadonlyArray<Fields> =>
  list(v).flatMap((x): ReadonlyArray<Fields> => {
    const f = fields(x);
    return f === undefined ? [] : [f];
  });

interface Collector {
  /** Adds (or enriches) an entity and returns its id; `undefined` when the name is empty. */
  readonly entity: (
    label: string,
    name: string,
    options?: { readonly key?: string; readonly properties?: Properties },
  ) => string | undefined;
  readonly claim: (
    subject: string | undefined,
    predicate: string,
    object: string | undefined,
    properties?: Properties,
  ) => void;
  readonly result: () => Extraction;
}

const byId = <A extends { readonly id: string }>(a: A, b: A): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

// When an entity or claim is found twice, the first sighting's values win and later ones only fill
// in properties it lacked (a condition named in `conditions` and again as a MeSH term gains `meshId`).
const makeCollector = (docId: string): Collector => {
  const entities = new Map<string, Entity>();
  const claims = new Map<string, Claim>();
  return {
    entity: (label, name, options = {}) => {
      const key = options.key ?? normaliseName(name);
      if (key === "") return undefined;
      const id = `${label}:${key}`;
      const found = entities.get(id);
      const properties = { ...options.properties, ...found?.properties };
      entities.set(
        id,
        found === undefined ? { id, label, name, properties } : { ...found, properties },
      );
      return id;
    },
    claim: (subject, predicate, object, extra = {}) => {
      if (subject === undefined || object === undefined) return;
      const id = `${subject}|${predicate}|${object}`;
      const properties = { ...extra, ...claims.get(id)?.properties };
      claims.set(id, { id, subject, predicate, object, docId, properties });
    },
    result: () => ({
      docId,
      entities: [...entities.values()].sort(byId),
      claims: [...claims.values()].sort(byId),
    }),
  };
};

const drugInterventionTypes: ReadonlySet<string> = new Set(["DRUG", "BIOLOGICAL"]);

const extractTrialSubjects = (trial: string | undefined, m: Fields, c: Collector): void => {
  for (const name of strs(m.conditions)) {
    c.claim(trial, "STUDIES", c.entity("Condition", name), { via: "conditions" });
  }
  for (const mesh of fieldList(fields(m.meshTerms)?.conditions)) {
    const meshId = str(mesh.id) ?? null;
    const id = c.entity("Condition", str(mesh.term) ?? "", { properties: { meshId } });
    c.claim(trial, "STUDIES", id, { via: "mesh", meshId });
  }
  for (const intervention of fieldList(m.interventions)) {
    const type = str(intervention.type) ?? null;
    const isDrug = type !== null && drugInterventionTypes.has(type);
    const id = c.entity(isDrug ? "Drug" : "Intervention", str(intervention.name) ?? "", {
      properties: isDrug ? { otherNames: strs(intervention.otherNames) } : { type },
    });
    c.claim(trial, "TESTS", id, { via: "interventions", interventionType: type });
  }
  for (const mesh of fieldList(fields(m.meshTerms)?.interventions)) {
    const meshId = str(mesh.id) ?? null;
    const id = c.entity("Drug", str(mesh.term) ?? "", { properties: { meshId } });
    c.claim(trial, "TESTS", id, { via: "mesh", meshId });
  }
};

const extractTrialSponsors = (trial: string | undefined, m: Fields, c: Collector): void => {
  const organisation = (sponsor: Fields): string | undefined =>
    c.entity("Organization", str(sponsor.name) ?? "", {
      properties: { class: str(sponsor.class) ?? null },
    });
  const lead = fields(m.leadSponsor);
  if (lead !== undefined) {
    c.claim(trial, "SPONSORED_BY", organisation(lead), {
      role: "lead",
      class: str(lead.class) ?? null,
    });
  }
  for (const collaborator of fieldList(m.collaborators)) {
    c.claim(trial, "HAS_COLLABORATOR", organisation(collaborator), {
      class: str(collaborator.class) ?? null,
    });
  }
};

const extractTrial = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const nctId = str(m.nctId) ?? doc.id;
  const trial = c.entity("Trial", str(m.briefTitle) ?? doc.title, {
    key: nctId,
    properties: { nctId, overallStatus: m.overallStatus ?? null, phases: list(m.phases) },
  });
  extractTrialSubjects(trial, m, c);
  extractTrialSponsors(trial, m, c);
};

const indicationHeader = /^\s*(?:\d+(?:\.\d+)*\s+)?INDICATIONS?\s+(?:AND|&)\s+USAGE\s*:?\s*/i;

/** The first sentence of a label's indications, without the section heading. */
export const firstIndicationSentence = (text: string): string => {
  const body = text.replace(indicationHeader, "").replace(/\s+/g, " ").trim();
  const end = body.search(/\.(?=\s+[A-Z]|\s*$)/);
  return end === -1 ? body : body.slice(0, end + 1);
};

// "indicated [for the first-line] treatment of [adult] [patients] [with] X" up to the first clause
// word ("whose", "who" …), bracket or punctuation.
const indicatedCondition =
  /\bindicated\b.*?\b(?:treatment|management|prevention|relief)\s+of\s+(?:(?:adults?|pediatric|children)\s+)?(?:patients\s+)?(?:with\s+)?(.+?)(?=\s+(?:whose|who|that|in|after|following|when)\b|\s*[([,;:]|\.?$)/i;

/** The condition an indication sentence names ("… treatment of patients with X whose …"), if any. */
export const indicatedConditionOf = (sentence: string): string | undefined => {
  const match = indicatedCondition.exec(sentence)?.[1]?.trim();
  return match !== undefined && match.length >= 3 && match.length <= 80 ? match : undefined;
};

const pharmClassKinds: ReadonlyArray<readonly [string, string]> = [
  ["pharmClassEpc", "EPC"],
  ["pharmClassMoa", "MoA"],
  ["pharmClassPe", "PE"],
  ["pharmClassCs", "CS"],
];

const extractIndication = (
  label: string | undefined,
  drugs: ReadonlyArray<string>,
  text: string,
  c: Collector,
): void => {
  const sentence = firstIndicationSentence(text);
  const condition = indicatedConditionOf(sentence);
  if (condition !== undefined) {
    const id = c.entity("Condition", condition);
    c.claim(label, "INDICATED_FOR", id, { text: sentence });
    for (const drug of drugs) c.claim(drug, "TREATS", id, {});
    return;
  }
  // No condition to name: key the indication by its opening words, which survive label revisions
  // that only touch the end of the sentence.
  const key = normaliseName(sentence.split(" ").slice(0, 12).join(" "));
  const id = c.entity("Indication", sentence, { key, properties: { text: sentence } });
  c.claim(label, "INDICATED_FOR", id, { text: sentence });
};

const extractLabel = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const setId = str(m.setId) ?? doc.id;
  const brandNames = strs(m.brandNames);
  const label = c.entity("DrugLabel", doc.title, {
    key: setId,
    properties: { setId, effectiveTime: m.effectiveTime ?? null, brandNames },
  });
  const generic = strs(m.genericNames);
  const drugs = (generic.length > 0 ? generic : strs(m.substanceNames)).flatMap((name) =>
    c.entity("Drug", name, {
      properties: { brandNames, rxcui: strs(m.rxcui), unii: strs(m.unii) },
    }) ?? []
  );
  for (const drug of drugs) {
    c.claim(label, "DESCRIBES", drug, { brandNames });
    for (const [field, kind] of pharmClassKinds) {
      for (const full of strs(m[field])) {
        const name = full.replace(/\s*\[[^\]]*\]\s*$/, "");
        const cls = c.entity("PharmClass", name, {
          key: normaliseName(full),
          properties: { kind },
        });
        c.claim(drug, "HAS_PHARM_CLASS", cls, { kind });
      }
    }
    for (const manufacturer of strs(m.manufacturers)) {
      c.claim(drug, "MANUFACTURED_BY", c.entity("Organization", manufacturer), { setId });
    }
  }
  const indications = str(m.indications);
  if (indications !== undefined) extractIndication(label, drugs, indications, c);
};

// MeSH allows these qualifiers on diseases only, so a descriptor carrying one is a condition; the
// others (organisms, chemicals, techniques) stay concepts.
const diseaseQualifiers: ReadonlySet<string> = new Set([
  "complications",
  "congenital",
  "diagnosis",
  "diet therapy",
  "drug therapy",
  "epidemiology",
  "etiology",
  "mortality",
  "nursing",
  "prevention & control",
  "radiotherapy",
  "rehabilitation",
  "therapy",
]);

const extractWork = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const openalexId = str(m.openalexId) ?? doc.id;
  const work = c.entity("Work", doc.title, {
    key: openalexId,
    properties: {
      openalexId,
      doi: m.doi ?? null,
      pmid: m.pmid ?? null,
      publicationYear: m.publicationYear ?? null,
    },
  });
  fieldList(m.authors).forEach((author, order) => {
    const name = str(author.name) ?? "";
    const id = c.entity("Author", name, {
      key: str(author.id),
      properties: { orcid: author.orcid ?? null },
    });
    c.claim(work, "AUTHORED_BY", id, { position: author.position ?? null, order });
  });
  for (const topic of fieldList(m.topics)) {
    const id = c.entity("Topic", str(topic.name) ?? "", {
      key: str(topic.id),
      properties: { field: topic.field ?? null, domain: topic.domain ?? null },
    });
    c.claim(work, "HAS_TOPIC", id, { score: topic.score ?? null });
  }
  for (const mesh of fieldList(m.mesh)) {
    const qualifiers = strs(mesh.qualifier_names);
    const isCondition = qualifiers.some((q) => diseaseQualifiers.has(q));
    const id = c.entity(isCondition ? "Condition" : "Concept", str(mesh.descriptor_name) ?? "", {
      properties: { meshId: mesh.descriptor_ui ?? null },
    });
    c.claim(work, "MENTIONS", id, { isMajorTopic: mesh.is_major_topic ?? false, qualifiers });
  }
};

const extractors: Partial<Record<Document["source"], (doc: Document, c: Collector) => void>> = {
  clinicaltrials: extractTrial,
  openfda: extractLabel,
  openalex: extractWork,
};

/**
 * The entities and claims of one document, deduplicated and sorted by id. Sources without rules
 * give an empty extraction.
 *
 * @example
 * ```ts
 * import { extract } from "./extract.ts";
 * declare const document: import("./ir.ts").Document;
 * const { entities, claims } = extract(document);
 * ```
 * @category constructors
 */
export const extract = (document: Document): Extraction => {
  const collector = makeCollector(document.id);
  // A source reading another's records (openalex-pdf) has that source's fields.
  extractors[recordFormatOf(document.source)]?.(document, collector);
  return collector.result();
};

/**
 * The built-in Extract stage: the parsed Document → entities and claims from its structured
 * fields. `outputCount` counts both.
 *
 * @category constructors
 */
export const extractStage: StageDefinition<
  Extraction,
  Record<string, never>,
  { readonly Parse: typeof documentSchema }
> = defineStage({
  type: "Extract",
  implementation: "structured-metadata",
  description: "entities and claims from the document's structured fields",
  input: { Parse: documentSchema },
  output: extractionSchema,
  run: (_ctx, { Parse: document }) => Effect.sync(() => extract(document)),
  outputCount: (extraction) => extraction.entities.length + extraction.claims.length,
});
