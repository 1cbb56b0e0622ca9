/**
 * A custom stage type among built-in stages: `WordCount` (made with `defineStage`) runs in
 * `custom_stage.yaml` after the kit's Parse, beside Chunk and Embed. `runPipeline` runs two
 * recorded ClinicalTrials.gov records through it with lineage written as JSONL, and every
 * OpenLineage event is then checked against the official schemas.
 *
 * Run it with `deno run -A docs/examples/custom_stage.ts [DIR]` (default: a new temporary
 * folder); the README's "Library use" section shows the same program as a user writes it.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { Effect } from "effect";
import { z } from "zod";
import {
  defineStage,
  type Document,
  documentSchema,
  runPipeline,
  type RunSummary,
} from "../../mod.ts";
import { makeOpenLineageValidator, type ValidationIssue } from "../../testing/mod.ts";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

const wordsOf = (doc: Document): number =>
  doc.sections.flatMap((s) => s.blocks).map((b) => b.text).join(" ").match(/\S+/g)?.length ?? 0;

/** Counts the words of a parsed document: a stage type the kit has never seen. */
export const wordCount = defineStage({
  type: "WordCount",
  input: { Parse: documentSchema },
  output: z.object({ words: z.number().int().min(0) }),
  run: (_ctx, { Parse: doc }) => Effect.succeed({ words: wordsOf(doc) }),
});

/** What the example did: the run's summary, and the issues found in each OpenLineage event. */
export interface ExampleResult {
  /** The run's summary. */
  readonly summary: RunSummary;
  /** Every OpenLineage event written, as read back from the JSONL file. */
  readonly openlineage: ReadonlyArray<Record<string, unknown>>;
  /** Every CloudEvent written, as read back from the JSONL file. */
  readonly cloudevents: ReadonlyArray<Record<string, unknown>>;
  /** The issues of each OpenLineage event, in file order (empty lists when all are valid). */
  readonly issues: ReadonlyArray<ReadonlyArray<ValidationIssue>>;
}

const readJsonl = async (path: string): Promise<Array<Record<string, unknown>>> =>
  (await Deno.readTextFile(path)).trim().split("\n").map((line) => JSON.parse(line));

/** Runs the pipeline with its store and lineage under `dir`, then validates the events. */
export const runExample = async (dir: string): Promise<ExampleResult> => {
  const summary = await runPipeline({
    pipeline: here("./custom_stage.yaml"),
    stages: [wordCount],
    records: [
      here("../../data/records/clinicaltrials/NCT03630471.json"),
      here("../../data/records/clinicaltrials/NCT06171568.json"),
    ],
    store: `${dir}/store`,
    lineage: `${dir}/lineage`,
    events: `${dir}/lineage`,
  });
  const validator = await makeOpenLineageValidator();
  const openlineage = await readJsonl(`${dir}/lineage/openlineage.jsonl`);
  const cloudevents = await readJsonl(`${dir}/lineage/cloudevents.jsonl`);
  return {
    summary,
    openlineage,
    cloudevents,
    issues: openlineage.map((e) => validator.validate(e)),
  };
};

if (import.meta.main) {
  const dir = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "custom-stage-" });
  const { summary, issues } = await runExample(dir);
  console.log(
    summary.jobs,
    `${issues.filter((i) => i.length === 0).length}/${issues.length} valid`,
  );
  console.log(`lineage in ${dir}/lineage`);
}
