/**
 * openFDA Drugs@FDA applications (`/drug/drugsfda.json` `results[]`) → Document IR: one NDA, ANDA
 * or BLA with its products (brand, active ingredients and strengths, dosage form, route, marketing
 * status) and its submissions (original approval and supplements, with their documents).
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import type { InvalidInput } from "../../stages/errors.ts";
import type { Document, FieldValue, RawPayload } from "../../stages/ir.ts";
import { buildSections, type SectionDraft, validateRecord } from "./_document_parts.ts";
import { distinct, isoDate, openfdaBlock } from "./_openfda_block.ts";

const text = z.string().nullish();

const product = z.looseObject({
  product_number: text,
  reference_drug: text,
  brand_name: text,
  active_ingredients: z.array(z.looseObject({ name: z.string(), strength: text })).nullish(),
  reference_standard: text,
  dosage_form: text,
  route: text,
  marketing_status: text,
  te_code: text,
});

const submission = z.looseObject({
  submission_type: text,
  submission_number: text,
  submission_status: text,
  submission_status_date: text,
  review_priority: text,
  submission_class_code: text,
  submission_class_code_description: text,
  application_docs: z.array(z.looseObject({ url: text, date: text, type: text })).nullish(),
});

/** The parts of a Drugs@FDA application the parser reads. */
const drugsFdaSchema = z.looseObject({
  application_number: z.string().min(1),
  sponsor_name: text,
  products: z.array(product).nullish(),
  submissions: z.array(submission).nullish(),
  openfda: openfdaBlock.nullish(),
});

type Application = z.output<typeof drugsFdaSchema>;
type Product = z.output<typeof product>;
type Submission = z.output<typeof submission>;

const joined = (parts: ReadonlyArray<string | null | undefined>, separator: string): string =>
  parts.filter((p): p is string => typeof p === "string" && p.trim() !== "").join(separator);

const productText = (p: Product): string => {
  const ingredients = joined(
    (p.active_ingredients ?? []).map((i) => joined([i.name, i.strength], " ")),
    ", ",
  );
  const details = joined([
    joined([p.dosage_form, p.route], ", "),
    p.marketing_status,
    p.reference_drug === "Yes" ? "reference listed drug" : undefined,
    p.reference_standard === "Yes" ? "reference standard" : undefined,
    p.te_code ? `TE code ${p.te_code}` : undefined,
  ], "; ");
  const name = joined([p.brand_name, p.product_number ? `(product ${p.product_number})` : ""], " ");
  return `${name || "Product"}: ${joined([ingredients, details], "; ")}`;
};

const submissionText = (s: Submission): string => {
  const head = joined([s.submission_type, s.submission_number], " ") || "Submission";
  const status = joined([s.submission_status, isoDate(s.submission_status_date)], " on ");
  const docs = joined(
    (s.application_docs ?? []).map((d) => joined([d.type, isoDate(d.date), d.url], " ")),
    "; ",
  );
  return `${head}: ${
    joined([
      status,
      s.submission_class_code_description,
      s.review_priority ? `review priority ${s.review_priority}` : undefined,
      docs === "" ? undefined : `documents: ${docs}`,
    ], "; ")
  }`;
};

const brandNamesOf = (a: Application): Array<string> =>
  distinct([...(a.products ?? []).map((p) => p.brand_name), ...(a.openfda?.brand_name ?? [])]);

const titleOf = (a: Application): string => {
  const brands = brandNamesOf(a);
  const generic = a.openfda?.generic_name?.[0];
  const name = brands.length > 0 ? brands.join(", ") : generic ?? "Drugs@FDA application";
  return `${name} (${a.application_number})`;
};

// The original application's approval: the ORIG submission with status AP.
const approvalDate = (a: Application): string | null =>
  isoDate(
    (a.submissions ?? []).find((s) => s.submission_type === "ORIG" && s.submission_status === "AP")
      ?.submission_status_date,
  );

const metadata = (a: Application): Record<string, FieldValue> => {
  const ingredients = new Map<string, Set<string>>();
  for (const p of a.products ?? []) {
    for (const i of p.active_ingredients ?? []) {
      const strengths = ingredients.get(i.name) ?? new Set<string>();
      if (i.strength) strengths.add(i.strength);
      ingredients.set(i.name, strengths);
    }
  }
  return {
    recordKind: "drugsfda",
    applicationNumber: a.application_number,
    sponsorName: a.sponsor_name ?? null,
    brandNames: brandNamesOf(a),
    genericNames: a.openfda?.generic_name ?? [],
    activeIngredients: [...ingredients].map(([name, strengths]) => ({
      name,
      strengths: [...strengths],
    })),
    dosageForms: distinct((a.products ?? []).map((p) => p.dosage_form)),
    routes: distinct((a.products ?? []).map((p) => p.route)),
    marketingStatuses: distinct((a.products ?? []).map((p) => p.marketing_status)),
    approvalDate: approvalDate(a),
    submissionCount: (a.submissions ?? []).length,
    manufacturers: a.openfda?.manufacturer_name ?? [],
    rxcui: a.openfda?.rxcui ?? [],
    unii: a.openfda?.unii ?? [],
  };
};

/**
 * Parses one Drugs@FDA application into a Document: its title, the application (sponsor,
 * approval), one block per product and one per submission; a malformed record fails with
 * `InvalidInput` naming the file and field.
 *
 * @category constructors
 */
export const parseDrugsFda = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(validateRecord(drugsFdaSchema, payload), (application) => {
    const id = `${payload.source}:${payload.docKey}`;
    const title = titleOf(application);
    const approval = approvalDate(application);
    const drafts: ReadonlyArray<SectionDraft> = [
      { title: "Title", blocks: [{ type: "text", text: title }] },
      {
        title: "Application",
        blocks: [{
          type: "text",
          text: joined([
            `Application ${application.application_number}`,
            application.sponsor_name ? `sponsor ${application.sponsor_name}` : undefined,
            approval === null ? undefined : `approved ${approval}`,
          ], ", ") + ".",
        }],
      },
      {
        title: "Products",
        blocks: (application.products ?? []).map((p) => ({ type: "text", text: productText(p) })),
      },
      {
        title: "Submissions",
        blocks: (application.submissions ?? []).map((s) => ({
          type: "text",
          text: submissionText(s),
        })),
      },
    ];
    return {
      id,
      source: payload.source,
      title,
      sections: buildSections(id, drafts),
      metadata: metadata(application),
      provenance: {
        source: payload.source,
        location: payload.location,
        parser: "openfda.drugsfda",
      },
    };
  });
