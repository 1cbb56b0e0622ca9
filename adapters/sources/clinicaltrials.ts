/**
 * ClinicalTrials.gov API v2 study records (`/api/v2/studies/{nctId}` and the `studies[]` of list
 * pages) → Document IR. List pages are projected by `fields=`, so every module but the study's id is
 * optional; unknown keys are kept out of the way, not rejected, because the API grows. A posted
 * `resultsSection` becomes sections after the protocol's (see `_clinicaltrials_results.ts`).
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import type { InvalidInput } from "../../stages/errors.ts";
import type { Document, FieldValue, RawPayload } from "../../stages/ir.ts";
import {
  buildSections,
  type SectionDraft,
  textBlocks,
  uniqueBy,
  validateRecord,
} from "./_document_parts.ts";
import {
  adverseEventTerms,
  resultsDrafts,
  resultsSectionSchema,
} from "./_clinicaltrials_results.ts";

const strings = z.array(z.string());
const dateStruct = z.looseObject({ date: z.string() });
const sponsor = z.looseObject({ name: z.string(), class: z.string().optional() });
const outcome = z.looseObject({
  measure: z.string(),
  description: z.string().optional(),
  timeFrame: z.string().optional(),
});
const meshes = z.looseObject({
  meshes: z.array(z.looseObject({ id: z.string(), term: z.string() })).optional(),
});

/** The parts of a ClinicalTrials.gov v2 study the parser reads. */
const clinicalTrialsStudySchema = z.looseObject({
  protocolSection: z.looseObject({
    identificationModule: z.looseObject({
      nctId: z.string().regex(/^NCT\d{8}$/, "expected an NCT id (NCT########)"),
      briefTitle: z.string().optional(),
      officialTitle: z.string().optional(),
      acronym: z.string().optional(),
    }),
    statusModule: z.looseObject({
      overallStatus: z.string().optional(),
      startDateStruct: dateStruct.optional(),
      completionDateStruct: dateStruct.optional(),
    }).optional(),
    sponsorCollaboratorsModule: z.looseObject({
      leadSponsor: sponsor.optional(),
      collaborators: z.array(sponsor).optional(),
    }).optional(),
    descriptionModule: z.looseObject({
      briefSummary: z.string().optional(),
      detailedDescription: z.string().optional(),
    }).optional(),
    conditionsModule: z.looseObject({
      conditions: strings.optional(),
      keywords: strings.optional(),
    }).optional(),
    designModule: z.looseObject({
      studyType: z.string().optional(),
      phases: strings.optional(),
    }).optional(),
    armsInterventionsModule: z.looseObject({
      armGroups: z.array(z.looseObject({
        label: z.string(),
        type: z.string().optional(),
        description: z.string().optional(),
      })).optional(),
      interventions: z.array(z.looseObject({
        type: z.string().optional(),
        name: z.string(),
        description: z.string().optional(),
        otherNames: strings.optional(),
      })).optional(),
    }).optional(),
    outcomesModule: z.looseObject({
      primaryOutcomes: z.array(outcome).optional(),
      secondaryOutcomes: z.array(outcome).optional(),
      otherOutcomes: z.array(outcome).optional(),
    }).optional(),
    eligibilityModule: z.looseObject({ eligibilityCriteria: z.string().optional() }).optional(),
  }),
  derivedSection: z.looseObject({
    conditionBrowseModule: meshes.optional(),
    interventionBrowseModule: meshes.optional(),
  }).optional(),
  resultsSection: resultsSectionSchema.optional(),
  hasResults: z.boolean().optional(),
});

/** A validated ClinicalTrials.gov study. */
type ClinicalTrialsStudy = z.output<typeof clinicalTrialsStudySchema>;
type Protocol = ClinicalTrialsStudy["protocolSection"];
type Outcome = z.output<typeof outcome>;

const outcomeText = (o: Outcome): string =>
  [o.measure, o.description === undefined ? "" : `: ${o.description}`].join("") +
  (o.timeFrame === undefined ? "" : ` [Time frame: ${o.timeFrame}]`);

const outcomeSection = (
  title: string,
  outcomes: ReadonlyArray<Outcome> | undefined,
): SectionDraft => ({
  title,
  blocks: (outcomes ?? []).map((o) => ({ type: "text", text: outcomeText(o) })),
});

const listSection = (title: string, items: ReadonlyArray<string> | undefined): SectionDraft => ({
  title,
  blocks: items === undefined || items.length === 0
    ? []
    : [{ type: "list", text: items.join("\n") }],
});

const drafts = (p: Protocol, title: string): ReadonlyArray<SectionDraft> => {
  const official = p.identificationModule.officialTitle;
  const arms = p.armsInterventionsModule?.armGroups ?? [];
  const interventions = p.armsInterventionsModule?.interventions ?? [];
  return [
    {
      title: "Title",
      blocks: [title, ...(official !== undefined && official !== title ? [official] : [])]
        .map((text) => ({ type: "text", text })),
    },
    { title: "Brief Summary", blocks: textBlocks(p.descriptionModule?.briefSummary) },
    { title: "Detailed Description", blocks: textBlocks(p.descriptionModule?.detailedDescription) },
    listSection("Conditions", p.conditionsModule?.conditions),
    listSection("Keywords", p.conditionsModule?.keywords),
    {
      title: "Arms",
      blocks: arms.filter((a) => a.description !== undefined)
        .map((a) => ({ type: "text", text: `${a.label}: ${a.description}` })),
    },
    {
      title: "Interventions",
      blocks: interventions.map((i) => ({
        type: "text",
        text: `${i.name}${i.type === undefined ? "" : ` (${i.type})`}` +
          (i.description === undefined ? "" : `: ${i.description}`),
      })),
    },
    outcomeSection("Primary Outcomes", p.outcomesModule?.primaryOutcomes),
    outcomeSection("Secondary Outcomes", p.outcomesModule?.secondaryOutcomes),
    outcomeSection("Other Outcomes", p.outcomesModule?.otherOutcomes),
    { title: "Eligibility Criteria", blocks: textBlocks(p.eligibilityModule?.eligibilityCriteria) },
  ];
};

const meshTerms = (module: z.output<typeof meshes> | undefined): FieldValue =>
  uniqueBy(module?.meshes ?? [], (m) => m.id).map((m) => ({ id: m.id, term: m.term }));

const metadata = (study: ClinicalTrialsStudy, title: string): Record<string, FieldValue> => {
  const p = study.protocolSection;
  const sponsors = p.sponsorCollaboratorsModule;
  const lead = sponsors?.leadSponsor;
  return {
    nctId: p.identificationModule.nctId,
    briefTitle: title,
    officialTitle: p.identificationModule.officialTitle ?? null,
    overallStatus: p.statusModule?.overallStatus ?? null,
    startDate: p.statusModule?.startDateStruct?.date ?? null,
    completionDate: p.statusModule?.completionDateStruct?.date ?? null,
    studyType: p.designModule?.studyType ?? null,
    phases: p.designModule?.phases ?? [],
    conditions: p.conditionsModule?.conditions ?? [],
    keywords: p.conditionsModule?.keywords ?? [],
    interventions: (p.armsInterventionsModule?.interventions ?? []).map((i) => ({
      type: i.type ?? null,
      name: i.name,
      otherNames: i.otherNames ?? [],
    })),
    leadSponsor: lead === undefined ? null : { name: lead.name, class: lead.class ?? null },
    collaborators: (sponsors?.collaborators ?? []).map((c) => ({
      name: c.name,
      class: c.class ?? null,
    })),
    meshTerms: {
      conditions: meshTerms(study.derivedSection?.conditionBrowseModule),
      interventions: meshTerms(study.derivedSection?.interventionBrowseModule),
    },
    hasResults: study.hasResults ?? null,
    adverseEvents: adverseEventTerms(study.resultsSection),
  };
};

/**
 * Parses one ClinicalTrials.gov v2 study into a Document; a malformed record fails with
 * `InvalidInput` naming the file and field.
 *
 * @category constructors
 */
export const parseClinicalTrials = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(validateRecord(clinicalTrialsStudySchema, payload), (study) => {
    const id = `${payload.source}:${payload.docKey}`;
    const identification = study.protocolSection.identificationModule;
    const title = identification.briefTitle ?? identification.officialTitle ?? identification.nctId;
    return {
      id,
      source: payload.source,
      title,
      sections: buildSections(id, [
        ...drafts(study.protocolSection, title),
        ...resultsDrafts(study.resultsSection),
      ]),
      metadata: metadata(study, title),
      provenance: {
        source: payload.source,
        location: payload.location,
        parser: "clinicaltrials.v2",
      },
    };
  });
