/**
 * openFDA FAERS adverse event reports (`/drug/event.json` `results[]`) → Document IR: the report
 * (seriousness, dates, reporter), the patient, the reactions (MedDRA preferred terms with their
 * outcome) and the drugs (suspect, concomitant or interacting, with dosage and indication). FAERS
 * codes its values ("1", "801" …); they are spelled out as the openFDA reference defines them.
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

const reaction = z.looseObject({ reactionmeddrapt: z.string(), reactionoutcome: text });

const drug = z.looseObject({
  medicinalproduct: text,
  drugcharacterization: text,
  drugindication: text,
  drugdosagetext: text,
  drugdosageform: text,
  drugstartdate: text,
  drugenddate: text,
  actiondrug: text,
  activesubstance: z.looseObject({ activesubstancename: text }).nullish(),
  openfda: openfdaBlock.nullish(),
});

/** The parts of a FAERS report the parser reads. */
const faersEventSchema = z.looseObject({
  safetyreportid: z.string().min(1),
  safetyreportversion: text,
  serious: text,
  seriousnessdeath: text,
  seriousnesslifethreatening: text,
  seriousnesshospitalization: text,
  seriousnessdisabling: text,
  seriousnesscongenitalanomali: text,
  seriousnessother: text,
  receivedate: text,
  receiptdate: text,
  primarysourcecountry: text,
  occurcountry: text,
  primarysource: z.looseObject({ reportercountry: text, qualification: text }).nullish(),
  patient: z.looseObject({
    patientonsetage: text,
    patientonsetageunit: text,
    patientsex: text,
    reaction: z.array(reaction).nullish(),
    drug: z.array(drug).nullish(),
  }),
});

type Report = z.output<typeof faersEventSchema>;
type Drug = z.output<typeof drug>;

// Code lists from the openFDA drug adverse event reference.
const seriousness: ReadonlyArray<readonly [keyof Report, string]> = [
  ["seriousnessdeath", "death"],
  ["seriousnesslifethreatening", "life-threatening"],
  ["seriousnesshospitalization", "hospitalization"],
  ["seriousnessdisabling", "disabling"],
  ["seriousnesscongenitalanomali", "congenital anomaly"],
  ["seriousnessother", "other serious condition"],
];
const sexes: Readonly<Record<string, string>> = { "0": "unknown", "1": "male", "2": "female" };
const ageUnits: Readonly<Record<string, string>> = {
  "800": "decades",
  "801": "years",
  "802": "months",
  "803": "weeks",
  "804": "days",
  "805": "hours",
};
const outcomes: Readonly<Record<string, string>> = {
  "1": "recovered/resolved",
  "2": "recovering/resolving",
  "3": "not recovered/not resolved",
  "4": "recovered/resolved with sequelae",
  "5": "fatal",
  "6": "unknown",
};
const roles: Readonly<Record<string, string>> = {
  "1": "suspect",
  "2": "concomitant",
  "3": "interacting",
};
const qualifications: Readonly<Record<string, string>> = {
  "1": "a physician",
  "2": "a pharmacist",
  "3": "another health professional",
  "4": "a lawyer",
  "5": "a consumer",
};

const decode = (codes: Readonly<Record<string, string>>, value: string | null | undefined) =>
  value === null || value === undefined ? null : codes[value] ?? value;

const seriousFlags = (r: Report): Array<string> =>
  seriousness.flatMap(([key, name]) => (r[key] === "1" ? [name] : []));

const reportText = (r: Report): string => {
  const flags = seriousFlags(r);
  const serious = r.serious === "1"
    ? `Serious${flags.length > 0 ? ` (${flags.join(", ")})` : ""}.`
    : r.serious === "2"
    ? "Not serious."
    : "";
  const received = isoDate(r.receivedate);
  const qualification = decode(qualifications, r.primarysource?.qualification);
  const country = r.primarysource?.reportercountry ?? r.primarysourcecountry;
  const reporter = qualification === null && !country
    ? ""
    : `Reported by ${qualification ?? "a reporter"}${country ? ` in ${country}` : ""}.`;
  return [serious, received === null ? "" : `Received ${received}.`, reporter]
    .filter((s) => s !== "").join(" ");
};

const patientText = (r: Report): string => {
  const sex = decode(sexes, r.patient.patientsex);
  const unit = decode(ageUnits, r.patient.patientonsetageunit);
  const age = r.patient.patientonsetage ? `${r.patient.patientonsetage} ${unit ?? ""}`.trim() : "";
  const parts = [sex === null ? "" : sex[0].toUpperCase() + sex.slice(1), age].filter((p) =>
    p !== ""
  );
  return parts.length === 0 ? "" : `${parts.join(", ")}.`;
};

const productName = (d: Drug): string =>
  d.medicinalproduct ?? d.activesubstance?.activesubstancename ?? d.openfda?.generic_name?.[0] ??
    "unnamed drug";

const drugText = (d: Drug): string => {
  const role = decode(roles, d.drugcharacterization);
  const details = [
    d.drugdosagetext,
    d.drugdosageform,
    d.drugindication ? `for ${d.drugindication}` : null,
    d.drugstartdate ? `started ${isoDate(d.drugstartdate)}` : null,
    d.drugenddate ? `ended ${isoDate(d.drugenddate)}` : null,
  ].filter((p): p is string => typeof p === "string" && p.trim() !== "");
  return `${productName(d)}${role === null ? "" : ` (${role})`}` +
    (details.length === 0 ? "" : `: ${details.join("; ")}`);
};

const titleOf = (r: Report): string => {
  const drugs = r.patient.drug ?? [];
  const suspects = drugs.filter((d) => d.drugcharacterization === "1");
  const names = distinct((suspects.length > 0 ? suspects : drugs).map(productName));
  const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? ", …" : "");
  return `FAERS report ${r.safetyreportid}${shown === "" ? "" : `: ${shown}`}`;
};

const metadata = (r: Report): Record<string, FieldValue> => ({
  recordKind: "event",
  safetyReportId: r.safetyreportid,
  safetyReportVersion: r.safetyreportversion ?? null,
  serious: r.serious === "1" ? true : r.serious === "2" ? false : null,
  seriousness: seriousFlags(r),
  receiveDate: isoDate(r.receivedate),
  receiptDate: isoDate(r.receiptdate),
  country: r.occurcountry ?? r.primarysourcecountry ?? null,
  reporterQualification: decode(qualifications, r.primarysource?.qualification),
  patient: {
    sex: decode(sexes, r.patient.patientsex),
    age: r.patient.patientonsetage ?? null,
    ageUnit: decode(ageUnits, r.patient.patientonsetageunit),
  },
  reactions: (r.patient.reaction ?? []).map((x) => ({
    term: x.reactionmeddrapt,
    outcome: decode(outcomes, x.reactionoutcome),
  })),
  drugs: (r.patient.drug ?? []).map((d) => ({
    product: d.medicinalproduct ?? null,
    characterization: d.drugcharacterization ?? null,
    indication: d.drugindication ?? null,
    activeSubstance: d.activesubstance?.activesubstancename ?? null,
    genericNames: d.openfda?.generic_name ?? [],
    brandNames: d.openfda?.brand_name ?? [],
  })),
});

/**
 * Parses one FAERS adverse event report into a Document: the report, the patient, the reactions
 * and one block per drug; a malformed record fails with `InvalidInput` naming the file and field.
 *
 * @category constructors
 */
export const parseFaersEvent = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(validateRecord(faersEventSchema, payload), (report) => {
    const id = `${payload.source}:${payload.docKey}`;
    const title = titleOf(report);
    const reactions = (report.patient.reaction ?? []).map((x) => {
      const outcome = decode(outcomes, x.reactionoutcome);
      return outcome === null ? x.reactionmeddrapt : `${x.reactionmeddrapt} (outcome: ${outcome})`;
    });
    const paragraph = (sectionTitle: string, body: string): SectionDraft => ({
      title: sectionTitle,
      blocks: body === "" ? [] : [{ type: "text", text: body }],
    });
    const drafts: ReadonlyArray<SectionDraft> = [
      { title: "Title", blocks: [{ type: "text", text: title }] },
      paragraph("Report", reportText(report)),
      paragraph("Patient", patientText(report)),
      {
        title: "Reactions",
        blocks: reactions.length === 0 ? [] : [{ type: "list", text: reactions.join("\n") }],
      },
      {
        title: "Drugs",
        blocks: (report.patient.drug ?? []).map((d) => ({ type: "text", text: drugText(d) })),
      },
    ];
    return {
      id,
      source: payload.source,
      title,
      sections: buildSections(id, drafts),
      metadata: metadata(report),
      provenance: { source: payload.source, location: payload.location, parser: "openfda.event" },
    };
  });
