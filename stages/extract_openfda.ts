/**
 * Extraction rules for openFDA documents, one per record kind the parser marks in
 * `metadata.recordKind`: drug labels (the default, for documents made before kinds existed),
 * Drugs@FDA applications and FAERS adverse event reports.
 *
 * @module
 */
import type { Document, FieldValue } from "./ir.ts";
import { normaliseName } from "./normalise_name.ts";
import { type Collector, fieldList, list, str, strs } from "./_extract_collector.ts";

/** The non-blank strings of an array field, with their metadata paths. */
const named = (
  m: Readonly<Record<string, FieldValue>>,
  field: string,
): ReadonlyArray<readonly [string, string]> =>
  list(m[field]).flatMap((v, i) => {
    const s = str(v);
    return s === undefined ? [] : [[s, `metadata.${field}[${i}]`] as const];
  });

const indicationHeader = /^\s*(?:\d+(?:\.\d+)*\s+)?INDICATIONS?\s+(?:AND|&)\s+USAGE\s*:?\s*/i;

/**
 * The first sentence of a label's indications, without the section heading.
 *
 * @category combinators
 */
export const firstIndicationSentence = (text: string): string => {
  const body = text.replace(indicationHeader, "").replace(/\s+/g, " ").trim();
  const end = body.search(/\.(?=\s+[A-Z]|\s*$)/);
  return end === -1 ? body : body.slice(0, end + 1);
};

// "indicated [for the first-line] treatment of [adult] [patients] [with] X" up to the first clause
// word ("whose", "who" …), bracket or punctuation.
const indicatedCondition =
  /\bindicated\b.*?\b(?:treatment|management|prevention|relief)\s+of\s+(?:(?:adults?|pediatric|children)\s+)?(?:patients\s+)?(?:with\s+)?(.+?)(?=\s+(?:whose|who|that|in|after|following|when)\b|\s*[([,;:]|\.?$)/i;

// The lazy `.*?` above is retried from every "indicated" in the text; on a sentence of a million
// characters that is quadratic. Real indication sentences are a few hundred characters.
const maxIndicationScan = 1000;

/**
 * The condition an indication sentence names ("… treatment of patients with X whose …"), if any.
 *
 * @category combinators
 */
export const indicatedConditionOf = (sentence: string): string | undefined => {
  if (sentence.length > maxIndicationScan) return undefined;
  const match = indicatedCondition.exec(sentence)?.[1]?.trim();
  return match !== undefined && match.length >= 3 && match.length <= 80 ? match : undefined;
};

/**
 * A pharmacologic class without its trailing kind in brackets ("Kinase Inhibitor [EPC]" →
 * "Kinase Inhibitor"), found by index rather than a `\s*\[[^\]]*\]\s*$` pattern, which is
 * quadratic on a long run of `[`.
 */
const withoutClassKind = (full: string): string => {
  const trimmed = full.trimEnd();
  if (!trimmed.endsWith("]")) return full;
  const previousClose = trimmed.lastIndexOf("]", trimmed.length - 2);
  const open = trimmed.indexOf("[", previousClose + 1);
  return open === -1 || open > trimmed.length - 2 ? full : trimmed.slice(0, open).trimEnd();
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
  const field = "metadata.indications";
  const sentence = firstIndicationSentence(text);
  const condition = indicatedConditionOf(sentence);
  if (condition !== undefined) {
    const id = c.entity("Condition", condition, { field });
    c.claim(label, "INDICATED_FOR", id, { text: sentence });
    for (const drug of drugs) c.claim(drug, "TREATS", id, {});
    return;
  }
  // No condition to name: key the indication by its opening words, which survive label revisions
  // that only touch the end of the sentence.
  const key = normaliseName(sentence.split(" ").slice(0, 12).join(" "));
  const id = c.entity("Indication", sentence, { key, field, properties: { text: sentence } });
  c.claim(label, "INDICATED_FOR", id, { text: sentence });
};

const extractLabel = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const setId = str(m.setId) ?? doc.id;
  const brandNames = strs(m.brandNames);
  const label = c.entity("DrugLabel", doc.title, {
    key: setId,
    field: "metadata.setId",
    properties: { setId, effectiveTime: m.effectiveTime ?? null, brandNames },
  });
  const generic = named(m, "genericNames");
  const drugs = (generic.length > 0 ? generic : named(m, "substanceNames")).flatMap(
    ([name, field]) =>
      c.entity("Drug", name, {
        field,
        properties: { brandNames, rxcui: strs(m.rxcui), unii: strs(m.unii) },
      }) ?? [],
  );
  for (const drug of drugs) {
    c.claim(label, "DESCRIBES", drug, { brandNames });
    for (const [metadataField, kind] of pharmClassKinds) {
      for (const [full, field] of named(m, metadataField)) {
        const cls = c.entity("PharmClass", withoutClassKind(full), {
          key: normaliseName(full),
          field,
          properties: { kind },
        });
        c.claim(drug, "HAS_PHARM_CLASS", cls, { kind });
      }
    }
    for (const [manufacturer, field] of named(m, "manufacturers")) {
      c.claim(drug, "MANUFACTURED_BY", c.entity("Organization", manufacturer, { field }), {
        setId,
      });
    }
  }
  const indications = str(m.indications);
  if (indications !== undefined) extractIndication(label, drugs, indications, c);
};

const extractApplication = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const applicationNumber = str(m.applicationNumber) ?? doc.id;
  const application = c.entity("DrugApplication", doc.title, {
    key: applicationNumber,
    field: "metadata.applicationNumber",
    properties: {
      applicationNumber,
      approvalDate: m.approvalDate ?? null,
      brandNames: strs(m.brandNames),
    },
  });
  const sponsor = str(m.sponsorName);
  if (sponsor !== undefined) {
    const id = c.entity("Organization", sponsor, { field: "metadata.sponsorName" });
    c.claim(application, "SPONSORED_BY", id, { role: "applicant" });
  }
  fieldList(m.activeIngredients).forEach((ingredient, i) => {
    const name = str(ingredient.name) ?? "";
    const id = c.entity("Drug", name, {
      field: `metadata.activeIngredients[${i}].name`,
      properties: { brandNames: strs(m.brandNames) },
    });
    c.claim(application, "COVERS_DRUG", id, { strengths: list(ingredient.strengths) });
  });
};

const drugRoles: Readonly<Record<string, string>> = {
  "1": "suspect",
  "2": "concomitant",
  "3": "interacting",
};

const extractReport = (doc: Document, c: Collector): void => {
  const m = doc.metadata;
  const reportId = str(m.safetyReportId) ?? doc.id;
  const report = c.entity("AdverseEventReport", doc.title, {
    key: reportId,
    field: "metadata.safetyReportId",
    properties: {
      safetyReportId: reportId,
      serious: m.serious ?? null,
      receiveDate: m.receiveDate ?? null,
    },
  });
  fieldList(m.reactions).forEach((reaction, i) => {
    const id = c.entity("AdverseReaction", str(reaction.term) ?? "", {
      field: `metadata.reactions[${i}].term`,
    });
    c.claim(report, "REPORTS_REACTION", id, { outcome: reaction.outcome ?? null });
  });
  fieldList(m.drugs).forEach((drug, i) => {
    // The openFDA-harmonised generic name joins labels and applications; the product name as the
    // reporter wrote it ("LOSARTAN.", "DIABETES MEDICATION") is the fallback.
    const generic = strs(drug.genericNames)[0];
    const name = generic ?? str(drug.activeSubstance) ?? str(drug.product) ?? "";
    const field = generic !== undefined
      ? `metadata.drugs[${i}].genericNames[0]`
      : `metadata.drugs[${i}].${
        str(drug.activeSubstance) !== undefined ? "activeSubstance" : "product"
      }`;
    const id = c.entity("Drug", name, { field });
    const role = drugRoles[str(drug.characterization) ?? ""] ?? null;
    c.claim(report, "INVOLVES_DRUG", id, { role, indication: drug.indication ?? null });
  });
};

/**
 * Extracts an openFDA document by its record kind (`metadata.recordKind`, a label when absent).
 *
 * @category combinators
 */
export const extractOpenFda = (doc: Document, c: Collector): void => {
  const kind = str(doc.metadata.recordKind);
  if (kind === "drugsfda") extractApplication(doc, c);
  else if (kind === "event") extractReport(doc, c);
  else extractLabel(doc, c);
};
