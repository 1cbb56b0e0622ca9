/**
 * openFDA drug records → Document IR. The parser picks the record's kind by the fields only that
 * kind has: drug labels (`/drug/label.json`, parsed here), Drugs@FDA applications
 * (`openfda_drugsfda.ts`) and FAERS adverse event reports (`openfda_event.ts`). A term/count pair
 * from a `count=` query is a statistic, not a document, and is refused naming its kind; so is a
 * record that is none of the three.
 *
 * Every label section is a `string[]`; each one present becomes a section. PLR-format labels carry
 * `warnings_and_cautions`, older and OTC labels `warnings`, so both are read.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import type { InvalidInput } from "../../stages/errors.ts";
import type { Document, FieldValue, RawPayload } from "../../stages/ir.ts";
import { normaliseName } from "../../stages/normalise_name.ts";
import { describeValue } from "./_record_shape.ts";
import { buildSections, invalidAt, type SectionDraft, validateRecord } from "./_document_parts.ts";
import { openfdaBlock } from "./_openfda_block.ts";
import { countKeyOf, openFdaExpected, openFdaKindOf } from "./_openfda_kinds.ts";
import { parseDrugsFda } from "./openfda_drugsfda.ts";
import { parseFaersEvent } from "./openfda_event.ts";

/** Label sections read into the document, in reading order, with their titles. */
export const labelSections: ReadonlyArray<readonly [key: string, title: string]> = [
  ["boxed_warning", "Boxed Warning"],
  ["indications_and_usage", "Indications and Usage"],
  ["dosage_and_administration", "Dosage and Administration"],
  ["dosage_forms_and_strengths", "Dosage Forms and Strengths"],
  ["contraindications", "Contraindications"],
  ["warnings_and_cautions", "Warnings and Precautions"],
  ["warnings", "Warnings"],
  ["precautions", "Precautions"],
  ["general_precautions", "General Precautions"],
  ["adverse_reactions", "Adverse Reactions"],
  ["drug_interactions", "Drug Interactions"],
  ["use_in_specific_populations", "Use in Specific Populations"],
  ["pregnancy", "Pregnancy"],
  ["nursing_mothers", "Nursing Mothers"],
  ["pediatric_use", "Pediatric Use"],
  ["geriatric_use", "Geriatric Use"],
  ["drug_abuse_and_dependence", "Drug Abuse and Dependence"],
  ["overdosage", "Overdosage"],
  ["description", "Description"],
  ["clinical_pharmacology", "Clinical Pharmacology"],
  ["mechanism_of_action", "Mechanism of Action"],
  ["pharmacodynamics", "Pharmacodynamics"],
  ["pharmacokinetics", "Pharmacokinetics"],
  ["pharmacogenomics", "Pharmacogenomics"],
  ["nonclinical_toxicology", "Nonclinical Toxicology"],
  ["clinical_studies", "Clinical Studies"],
  ["how_supplied", "How Supplied"],
  ["storage_and_handling", "Storage and Handling"],
  ["information_for_patients", "Patient Counseling Information"],
  ["purpose", "Purpose"],
  ["active_ingredient", "Active Ingredient"],
  ["inactive_ingredient", "Inactive Ingredients"],
  ["do_not_use", "Do Not Use"],
  ["ask_doctor", "Ask a Doctor"],
  ["ask_doctor_or_pharmacist", "Ask a Doctor or Pharmacist"],
  ["when_using", "When Using"],
  ["stop_use", "Stop Use"],
  ["pregnancy_or_breast_feeding", "Pregnancy or Breast Feeding"],
  ["keep_out_of_reach_of_children", "Keep Out of Reach of Children"],
  ["spl_unclassified_section", "Other Information"],
];

const strings = z.array(z.string());

const sectionShape: Record<string, z.ZodOptional<typeof strings>> = Object.fromEntries(
  labelSections.map(([key]) => [key, strings.optional()]),
);

/** The parts of an openFDA drug label the parser reads. */
const openFdaLabelSchema = z.looseObject({
  set_id: z.string().min(1),
  id: z.string().optional(),
  version: z.string().optional(),
  effective_time: z.string().optional(),
  openfda: openfdaBlock.optional(),
  ...sectionShape,
});

/** A validated openFDA drug label. */
type OpenFdaLabel = z.output<typeof openFdaLabelSchema>;

const sectionText = (label: OpenFdaLabel, key: string): ReadonlyArray<string> => {
  const value = (label as Record<string, unknown>)[key];
  return Array.isArray(value)
    ? value.map((s) => String(s).replace(/\s+/g, " ").trim()).filter((s) => s !== "")
    : [];
};

const titleOf = (label: OpenFdaLabel): string => {
  const brand = label.openfda?.brand_name?.[0];
  const generic = label.openfda?.generic_name?.[0];
  if (
    brand !== undefined && generic !== undefined && normaliseName(brand) !== normaliseName(generic)
  ) {
    return `${brand} (${generic})`;
  }
  return brand ?? generic ?? `Drug label ${label.set_id}`;
};

const metadata = (label: OpenFdaLabel): Record<string, FieldValue> => {
  const o = label.openfda ?? {};
  return {
    setId: label.set_id,
    splId: o.spl_id?.[0] ?? label.id ?? null,
    version: label.version ?? null,
    effectiveTime: label.effective_time ?? null,
    brandNames: o.brand_name ?? [],
    genericNames: o.generic_name ?? [],
    manufacturers: o.manufacturer_name ?? [],
    substanceNames: o.substance_name ?? [],
    routes: o.route ?? [],
    productTypes: o.product_type ?? [],
    applicationNumbers: o.application_number ?? [],
    pharmClassEpc: o.pharm_class_epc ?? [],
    pharmClassMoa: o.pharm_class_moa ?? [],
    pharmClassPe: o.pharm_class_pe ?? [],
    pharmClassCs: o.pharm_class_cs ?? [],
    rxcui: o.rxcui ?? [],
    unii: o.unii ?? [],
    indications: sectionText(label, "indications_and_usage")[0] ?? null,
  };
};

/**
 * Parses one openFDA drug label into a Document, one section per label section present; a malformed
 * record fails with `InvalidInput` naming the file and field.
 *
 * @category constructors
 */
export const parseOpenFdaLabel = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(validateRecord(openFdaLabelSchema, payload), (label) => {
    const id = `${payload.source}:${payload.docKey}`;
    const title = titleOf(label);
    const drafts: ReadonlyArray<SectionDraft> = [
      { title: "Title", blocks: [{ type: "text", text: title }] },
      ...labelSections.map(([key, sectionTitle]): SectionDraft => ({
        title: sectionTitle,
        blocks: sectionText(label, key).map((text) => ({ type: "text", text })),
      })),
    ];
    return {
      id,
      source: payload.source,
      title,
      sections: buildSections(id, drafts),
      metadata: metadata(label),
      provenance: { source: payload.source, location: payload.location, parser: "openfda.label" },
    };
  });

/**
 * Parses one openFDA record by its kind: a drug label, a Drugs@FDA application or a FAERS report.
 * A count result or a record of no known kind fails with `InvalidInput` naming the file, the
 * record and what it is.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { parseOpenFda } from "./openfda.ts";
 *
 * const exit = await Effect.runPromiseExit(parseOpenFda({
 *   source: "openfda",
 *   docKey: "x",
 *   location: { kind: "file", file: "counts.json", pointer: "/results/0" },
 *   record: { term: "NAUSEA", count: 12 },
 * }));
 * // fails: "counts.json: results[0]: an openFDA count result (term/count pair), not a document"
 * ```
 *
 * @category constructors
 */
export const parseOpenFda = (payload: RawPayload): Effect.Effect<Document, InvalidInput> => {
  switch (openFdaKindOf(payload.record)) {
    case "label":
      return parseOpenFdaLabel(payload);
    case "drugsfda":
      return parseDrugsFda(payload);
    case "event":
      return parseFaersEvent(payload);
    case "count":
      return Effect.fail(invalidAt(
        payload,
        [],
        `an openFDA count result (${countKeyOf(payload.record)}/count pair), not a document`,
      ));
    default:
      return Effect.fail(
        invalidAt(
          payload,
          [],
          `expected ${openFdaExpected}, received ${describeValue(payload.record)}`,
        ),
      );
  }
};
