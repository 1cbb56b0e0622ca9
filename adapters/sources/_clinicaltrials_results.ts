/**
 * The `resultsSection` of a ClinicalTrials.gov v2 study → document sections: participant flow,
 * baseline characteristics, outcome measure results, adverse events and more information. Each
 * measure, period and event becomes one block of text that spells out the groups' numbers ("BMI
 * (mean, Kg/m^2): 1 Placebo 19.63 (15.56 to 22.64); …"), so the results are chunked, indexed and
 * found by full-text search like the protocol's prose.
 *
 * Counts come as numbers from the live API and as strings in some recorded copies (AACT's), so
 * both are accepted. Everything is optional: a results section holds only the modules posted.
 *
 * @module
 */
import { z } from "zod";
import type { FieldValue } from "../../stages/ir.ts";
import { type SectionDraft, textBlocks } from "./_document_parts.ts";

const text = z.string().nullish();
const count = z.union([z.string(), z.number()]).nullish();

const group = z.looseObject({ id: z.string(), title: text, description: text });
const groups = z.array(group).nullish();

const measurement = z.looseObject({
  groupId: z.string(),
  value: count,
  spread: count,
  lowerLimit: count,
  upperLimit: count,
  comment: text,
});
const classes = z.array(z.looseObject({
  title: text,
  categories: z.array(z.looseObject({
    title: text,
    measurements: z.array(measurement).nullish(),
  })).nullish(),
})).nullish();

const measureFields = {
  title: text,
  description: text,
  populationDescription: text,
  paramType: text,
  dispersionType: text,
  unitOfMeasure: text,
  classes,
};

const analysis = z.looseObject({
  pValue: count,
  statisticalMethod: text,
  paramType: text,
  paramValue: count,
  ciPctValue: count,
  ciLowerLimit: count,
  ciUpperLimit: count,
});

const adverseEvent = z.looseObject({
  term: z.string(),
  organSystem: text,
  stats: z.array(z.looseObject({
    groupId: z.string(),
    numEvents: count,
    numAffected: count,
    numAtRisk: count,
  })).nullish(),
});

/** The parts of a study's `resultsSection` the parser reads. */
export const resultsSectionSchema = z.looseObject({
  participantFlowModule: z.looseObject({
    recruitmentDetails: text,
    preAssignmentDetails: text,
    groups,
    periods: z.array(z.looseObject({
      title: text,
      milestones: z.array(z.looseObject({
        type: text,
        achievements: z.array(z.looseObject({ groupId: z.string(), numSubjects: count }))
          .nullish(),
      })).nullish(),
      dropWithdraws: z.array(z.looseObject({
        type: text,
        reasons: z.array(z.looseObject({ groupId: z.string(), numSubjects: count })).nullish(),
      })).nullish(),
    })).nullish(),
  }).nullish(),
  baselineCharacteristicsModule: z.looseObject({
    populationDescription: text,
    groups,
    measures: z.array(z.looseObject(measureFields)).nullish(),
  }).nullish(),
  outcomeMeasuresModule: z.looseObject({
    outcomeMeasures: z.array(z.looseObject({
      ...measureFields,
      type: text,
      timeFrame: text,
      groups,
      analyses: z.array(analysis).nullish(),
    })).nullish(),
  }).nullish(),
  adverseEventsModule: z.looseObject({
    frequencyThreshold: count,
    timeFrame: text,
    description: text,
    eventGroups: z.array(z.looseObject({
      id: z.string(),
      title: text,
      deathsNumAffected: count,
      deathsNumAtRisk: count,
      seriousNumAffected: count,
      seriousNumAtRisk: count,
      otherNumAffected: count,
      otherNumAtRisk: count,
    })).nullish(),
    seriousEvents: z.array(adverseEvent).nullish(),
    otherEvents: z.array(adverseEvent).nullish(),
  }).nullish(),
  moreInfoModule: z.looseObject({
    limitationsAndCaveats: z.looseObject({ description: text }).nullish(),
    pointOfContact: z.looseObject({ title: text, organization: text }).nullish(),
  }).nullish(),
});

/** A validated results section. */
export type ResultsSection = z.output<typeof resultsSectionSchema>;
type Measure = NonNullable<
  NonNullable<ResultsSection["baselineCharacteristicsModule"]>["measures"]
>[number];
type AdverseEvent = z.output<typeof adverseEvent>;
type Titles = ReadonlyMap<string, string>;

const present = (value: string | number | null | undefined): value is string | number =>
  value !== null && value !== undefined && String(value).trim() !== "";

const join = (parts: ReadonlyArray<string | number | null | undefined>, sep: string): string =>
  parts.filter(present).map(String).join(sep);

const titlesOf = (list: ReadonlyArray<z.output<typeof group>> | null | undefined): Titles =>
  new Map((list ?? []).map((g) => [g.id, g.title ?? g.id]));

// `PARTICIPANTS` → "participants", `STANDARD_DEVIATION` → "standard deviation".
const words = (code: string | null | undefined): string | undefined =>
  present(code) ? code.toLowerCase().replaceAll("_", " ") : undefined;

const valueText = (m: z.output<typeof measurement>): string => {
  const range = present(m.lowerLimit) || present(m.upperLimit)
    ? ` (${join([m.lowerLimit, m.upperLimit], " to ")})`
    : present(m.spread)
    ? ` (${m.spread})`
    : "";
  return `${m.value ?? "n/a"}${range}${present(m.comment) ? ` [${m.comment}]` : ""}`;
};

const measurementsText = (measure: Measure, titles: Titles): string =>
  (measure.classes ?? []).flatMap((cls) =>
    (cls.categories ?? []).map((category) => {
      const label = join([cls.title, category.title], ", ");
      const values = (category.measurements ?? [])
        .map((m) => `${titles.get(m.groupId) ?? m.groupId} ${valueText(m)}`)
        .join("; ");
      return label === "" ? values : `${label}: ${values}`;
    })
  ).filter((s) => s !== "").join(". ");

const measureText = (measure: Measure, titles: Titles, head: string): string => {
  const kind = join([
    words(measure.paramType),
    words(measure.dispersionType),
    measure.unitOfMeasure,
  ], ", ");
  const data = measurementsText(measure, titles);
  return join([
    `${head}${kind === "" ? "" : ` (${kind})`}`,
    measure.description,
    measure.populationDescription,
    data === "" ? undefined : `${data}.`,
  ], " ");
};

const participantFlow = (m: ResultsSection["participantFlowModule"]): SectionDraft => {
  const titles = titlesOf(m?.groups);
  const counts = (
    list:
      | ReadonlyArray<{ groupId: string; numSubjects?: string | number | null }>
      | null
      | undefined,
  ) =>
    (list ?? []).map((a) => `${titles.get(a.groupId) ?? a.groupId} ${a.numSubjects ?? "n/a"}`)
      .join(", ");
  return {
    title: "Participant Flow",
    blocks: [
      ...textBlocks(m?.recruitmentDetails),
      ...textBlocks(m?.preAssignmentDetails),
      ...(m?.periods ?? []).map((period) => ({
        type: "text" as const,
        text: join([
          `${period.title ?? "Period"}:`,
          join(
            (period.milestones ?? []).map((s) =>
              `${s.type ?? "milestone"}: ${counts(s.achievements)}`
            ),
            "; ",
          ),
          (period.dropWithdraws ?? []).length === 0
            ? undefined
            : `Reasons for not completing: ${
              (period.dropWithdraws ?? []).map((d) => `${d.type ?? "other"}: ${counts(d.reasons)}`)
                .join("; ")
            }.`,
        ], " "),
      })),
    ],
  };
};

const baseline = (m: ResultsSection["baselineCharacteristicsModule"]): SectionDraft => {
  const titles = titlesOf(m?.groups);
  return {
    title: "Baseline Characteristics",
    blocks: [
      ...textBlocks(m?.populationDescription),
      ...(m?.measures ?? []).map((measure) => ({
        type: "text" as const,
        text: measureText(measure, titles, measure.title ?? "Measure"),
      })),
    ],
  };
};

const outcomes = (m: ResultsSection["outcomeMeasuresModule"]): SectionDraft => ({
  title: "Outcome Measure Results",
  blocks: (m?.outcomeMeasures ?? []).map((outcome) => {
    const head = join([words(outcome.type), "outcome:"], " ");
    const analyses = (outcome.analyses ?? []).map((a) =>
      join([
        present(a.pValue) ? `p = ${a.pValue}` : undefined,
        a.statisticalMethod,
        present(a.paramValue) ? `${a.paramType ?? "estimate"} ${a.paramValue}` : undefined,
        present(a.ciLowerLimit) || present(a.ciUpperLimit)
          ? `${a.ciPctValue ?? ""}% CI ${join([a.ciLowerLimit, a.ciUpperLimit], " to ")}`.trim()
          : undefined,
      ], ", ")
    ).filter((s) => s !== "");
    return {
      type: "text" as const,
      text: join([
        measureText(outcome, titlesOf(outcome.groups), `${head} ${outcome.title ?? "Outcome"}`),
        present(outcome.timeFrame) ? `[Time frame: ${outcome.timeFrame}]` : undefined,
        analyses.length === 0 ? undefined : `Analysis: ${analyses.join("; ")}.`,
      ], " "),
    };
  }),
});

const eventText = (kind: string, event: AdverseEvent, titles: Titles): string => {
  const stats = (event.stats ?? []).map((s) =>
    `${titles.get(s.groupId) ?? s.groupId} ${s.numAffected ?? "n/a"}/${s.numAtRisk ?? "n/a"}`
  ).join("; ");
  return `${kind} adverse event: ${event.term}${
    present(event.organSystem) ? ` (${event.organSystem})` : ""
  }` +
    (stats === "" ? "" : `: ${stats} affected`);
};

const adverseEvents = (m: ResultsSection["adverseEventsModule"]): SectionDraft => {
  const titles = new Map((m?.eventGroups ?? []).map((g) => [g.id, g.title ?? g.id]));
  const affected = (m?.eventGroups ?? []).map((g) =>
    `${g.title ?? g.id}: deaths ${g.deathsNumAffected ?? "n/a"}/${g.deathsNumAtRisk ?? "n/a"}, ` +
    `serious ${g.seriousNumAffected ?? "n/a"}/${g.seriousNumAtRisk ?? "n/a"}, ` +
    `other ${g.otherNumAffected ?? "n/a"}/${g.otherNumAtRisk ?? "n/a"}`
  );
  return {
    title: "Adverse Events",
    blocks: [
      ...(present(m?.timeFrame)
        ? [{ type: "text" as const, text: `Time frame: ${m.timeFrame}` }]
        : []),
      ...textBlocks(m?.description),
      ...(affected.length === 0
        ? []
        : [{ type: "list" as const, text: `Participants affected:\n${affected.join("\n")}` }]),
      ...(m?.seriousEvents ?? []).map((e) => ({
        type: "text" as const,
        text: eventText("Serious", e, titles),
      })),
      ...(m?.otherEvents ?? []).map((e) => ({
        type: "text" as const,
        text: eventText("Other", e, titles),
      })),
    ],
  };
};

const moreInfo = (m: ResultsSection["moreInfoModule"]): SectionDraft => {
  const contact = join([m?.pointOfContact?.title, m?.pointOfContact?.organization], ", ");
  return {
    title: "More Information",
    blocks: [
      ...textBlocks(m?.limitationsAndCaveats?.description),
      ...(contact === ""
        ? []
        : [{ type: "text" as const, text: `Results point of contact: ${contact}` }]),
    ],
  };
};

/**
 * The document sections of a results section, in the order ClinicalTrials.gov shows them; empty
 * sections are dropped when the document is numbered.
 *
 * @category constructors
 */
export const resultsDrafts = (results: ResultsSection | undefined): ReadonlyArray<SectionDraft> =>
  results === undefined ? [] : [
    participantFlow(results.participantFlowModule),
    baseline(results.baselineCharacteristicsModule),
    outcomes(results.outcomeMeasuresModule),
    adverseEvents(results.adverseEventsModule),
    moreInfo(results.moreInfoModule),
  ];

/**
 * The adverse events a study posted, for extraction: term, organ system and whether serious.
 *
 * @category constructors
 */
export const adverseEventTerms = (results: ResultsSection | undefined): FieldValue => {
  const m = results?.adverseEventsModule;
  const terms = (list: ReadonlyArray<AdverseEvent> | null | undefined, serious: boolean) =>
    (list ?? []).map((e) => ({ term: e.term, organSystem: e.organSystem ?? null, serious }));
  return [...terms(m?.seriousEvents, true), ...terms(m?.otherEvents, false)];
};
