import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { parseClinicalTrials } from "../../../adapters/sources/clinicaltrials.ts";
import { InvalidInput } from "../../../stages/errors.ts";
import type { RawPayload } from "../../../stages/ir.ts";

const file = "data/records/clinicaltrials/NCT00763412.json";
const record = JSON.parse(Deno.readTextFileSync(file));
const payload = (value: unknown): RawPayload => ({
  source: "clinicaltrials",
  docKey: "NCT00763412",
  location: { kind: "file", file, pointer: "" },
  record: value,
});

describe("parseClinicalTrials() on a study with results (NCT00763412)", () => {
  it("adds the results modules as sections after the protocol's", async () => {
    const document = await Effect.runPromise(parseClinicalTrials(payload(record)));
    const titles = document.sections.map((s) => [s.title, s.blocks.length]);
    expect(titles.slice(-5)).toEqual([
      ["Participant Flow", 1],
      ["Baseline Characteristics", 17],
      ["Outcome Measure Results", 9],
      ["Adverse Events", 3],
      ["More Information", 2],
    ]);
    const text = (title: string) =>
      document.sections.find((s) => s.title === title)!.blocks.map((b) => b.text);
    expect(text("Participant Flow")).toEqual([
      "Overall Study: STARTED: Placebo 8, 2. Repaglinide 8; COMPLETED: Placebo 4, 2. Repaglinide 4; " +
      "NOT COMPLETED: Placebo 4, 2. Repaglinide 4",
    ]);
    expect(text("Outcome Measure Results")[0]).toBe(
      "primary outcome: BMI (mean, full range, Kg/m^2) 1 Placebo 19.63 (15.56 to 22.64); " +
        "2. Repaglinide 21.19 (20.78 to 21.8). [Time frame: 2 year/end of study]",
    );
    expect(text("Adverse Events")).toEqual([
      "Time frame: This pilot study was designed to collect data over a 2 year time period.",
      "Glucose diaries, and food diaries were reviewed, and safety labs were collected at each " +
      "visit. Physical assessments by the PI were completed as well.",
      "Participants affected:\nPlacebo: deaths 0/8, serious 0/8, other 0/8\n" +
      "Repaglinide: deaths 0/8, serious 0/8, other 0/8",
    ]);
    expect(text("More Information")).toEqual([
      "A limitation of the study was the very small sample size.",
      "Results point of contact: Ana Maria Arbelaez, Washington University in St Louis",
    ]);
    expect(document.metadata.adverseEvents).toEqual([]);
  });

  it("spells out posted adverse events with each group's affected / at risk", async () => {
    const withEvents = structuredClone(record);
    withEvents.resultsSection.adverseEventsModule.seriousEvents = [{
      term: "Hypoglycaemia",
      organSystem: "Metabolism and nutrition disorders",
      stats: [
        { groupId: "EG000", numAffected: 0, numAtRisk: 8 },
        { groupId: "EG001", numAffected: 1, numAtRisk: 8 },
      ],
    }];
    const document = await Effect.runPromise(parseClinicalTrials(payload(withEvents)));
    const events = document.sections.find((s) => s.title === "Adverse Events")!;
    expect(events.blocks.at(-1)?.text).toBe(
      "Serious adverse event: Hypoglycaemia (Metabolism and nutrition disorders): " +
        "Placebo 0/8; Repaglinide 1/8 affected",
    );
    expect(document.metadata.adverseEvents).toEqual([
      { term: "Hypoglycaemia", organSystem: "Metabolism and nutrition disorders", serious: true },
    ]);
  });

  it("fails a malformed results module naming the field", async () => {
    const broken = structuredClone(record);
    broken.resultsSection.outcomeMeasuresModule.outcomeMeasures[2].classes = "none";
    const path = "resultsSection.outcomeMeasuresModule.outcomeMeasures[2].classes";
    expect(await Effect.runPromise(Effect.flip(parseClinicalTrials(payload(broken))))).toEqual(
      new InvalidInput({ message: `${file}: ${path}: expected array, received string`, path }),
    );
  });
});
