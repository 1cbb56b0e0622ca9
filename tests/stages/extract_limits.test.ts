import { fc, test } from "@fast-check/vitest";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import type { StageContext } from "../../stages/context.ts";
import { InvalidInput } from "../../stages/errors.ts";
import { extract, extractStage, indicatedConditionOf } from "../../stages/extract.ts";
import type { Document, FieldValue } from "../../stages/ir.ts";
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

const trial = (metadata: Readonly<Record<string, FieldValue>>): Document => ({
  id: "clinicaltrials:NCT00000001",
  source: "clinicaltrials",
  title: "A trial",
  sections: [],
  metadata: { nctId: "NCT00000001", ...metadata },
  provenance: {
    source: "clinicaltrials",
    location: { kind: "file", file: "records/trial.json", pointer: "/studies/0" },
    parser: "test",
  },
});

const run = (document: Document) =>
  Effect.runPromise(
    Effect.flip(extractStage.run(ctx, {
      request: {
        source: "clinicaltrials",
        docKey: "NCT00000001",
        location: document.provenance.location,
      },
      Parse: document,
    }, {})),
  );

describe("extractStage refuses graph keys too long for a node id", () => {
  it("names the document, its file and the metadata field, and counts the others", async () => {
    const long = "a".repeat(300);
    const document = trial({ conditions: ["Asthma", `${long} b`, `${long} c`] });
    expect(await run(document)).toEqual(
      new InvalidInput({
        message: "clinicaltrials:NCT00000001 (records/trial.json): metadata.conditions[1]: a " +
          "Condition name whose graph key is 302 characters, longer than the 256 a node id may " +
          "hold (and 1 more)",
        path: "metadata.conditions[1]",
      }),
    );
    // extract() alone leaves the refused entities out and keeps the rest.
    expect(extract(document).entities.map((e) => e.id)).toEqual([
      "Condition:asthma",
      "Trial:NCT00000001",
    ]);
  });

  it("keeps a key of exactly 256 characters", () => {
    const name = "b".repeat(256);
    expect(extract(trial({ conditions: [name] })).entities.map((e) => e.id)).toEqual([
      `Condition:${name}`,
      "Trial:NCT00000001",
    ]);
  });
});

describe("label extraction on hostile strings", () => {
  const label = (pharmClassEpc: ReadonlyArray<string>): Document => ({
    id: "openfda:s1",
    source: "openfda",
    title: "Label",
    sections: [],
    metadata: { setId: "s1", genericNames: ["gefitinib"], pharmClassEpc: [...pharmClassEpc] },
    provenance: {
      source: "openfda",
      location: { kind: "file", file: "l.json", pointer: "" },
      parser: "test",
    },
  });

  test.prop([fc.stringMatching(/^[a-z \t[\]]{0,24}$/)])(
    "names a pharmacologic class as the trailing-bracket pattern would",
    (full) => {
      const classes = extract(label([full])).entities.filter((e) => e.label === "PharmClass");
      const key = normaliseName(full);
      expect(classes.map((e) => e.name)).toEqual(
        key === "" ? [] : [full.replace(/\s*\[[^\]]*\]\s*$/, "")],
      );
    },
  );

  it("handles a 200,000-character run of brackets and punctuation", () => {
    const full = `${"[".repeat(200_000)} Kinase Inhibitor [EPC]`;
    const [cls] = extract(label([full])).entities.filter((e) => e.label === "PharmClass");
    expect(cls).toBeUndefined(); // its key is far past 256 characters
    expect(normaliseName(`${"-".repeat(200_000)}x${"-".repeat(200_000)}`)).toBe("x");
    expect(indicatedConditionOf(`indicated ${"indicated ".repeat(100_000)}`)).toBeUndefined();
  });
});
