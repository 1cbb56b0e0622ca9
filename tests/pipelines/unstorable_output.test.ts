/**
 * A stage output the store refuses for its data (here a NUL character, which PostgreSQL's `jsonb`
 * cannot hold) fails that document's stage once, as `Permanent`, naming the stage and the
 * database's reason; the other documents of the batch finish, on PGlite and on a server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect } from "effect";
import { z } from "zod";
import { fileURLToPath } from "node:url";
import { defineStage, documentSchema, runPipeline } from "../../mod.ts";
import { backends } from "../_stores.ts";
import { tempDir } from "../_harness.ts";

const record = (name: string) =>
  fileURLToPath(new URL(`../../data/records/clinicaltrials/${name}.json`, import.meta.url));

const poisoned = "NCT03630471";

/** Notes a document's id; for one document the note holds a NUL the store cannot keep. */
const noteStage = defineStage({
  type: "Note",
  input: { Parse: documentSchema },
  output: z.object({ note: z.string() }),
  run: (ctx, { Parse: doc }) =>
    Effect.succeed({ note: ctx.docId.endsWith(poisoned) ? `nul\u0000here` : doc.title }),
});

const pipelineYaml = `version: "1"
name: notes
description: Parse trial records and note them.
applicable_sources: [clinicaltrials]
stages:
  - { name: ingest, type: Ingest, policy: default }
  - { name: parse, type: Parse, policy: default, depends_on: [ingest] }
  - { name: note, type: Note, policy: default, depends_on: [parse] }
  - { name: chunk, type: Chunk, policy: default, depends_on: [note] }
`;

let dir: string;
let pipeline: string;

beforeAll(async () => {
  dir = await tempDir();
  pipeline = `${dir}/notes.yaml`;
  await Deno.writeTextFile(pipeline, pipelineYaml);
});

afterAll(async () => {
  await Deno.remove(dir, { recursive: true });
});

describe.each(backends)("a stage output the store refuses ($name)", (backend) => {
  it("fails that document alone, once, as Permanent, naming the stage and the reason", async () => {
    const store = await backend.open();
    try {
      const summary = await runPipeline({
        pipeline,
        stages: [noteStage],
        records: [record(poisoned), record("NCT06171568")],
        store,
        lineage: `${dir}/${backend.name}-lineage`,
        events: `${dir}/${backend.name}-lineage`,
      });
      expect(summary.jobs).toMatchObject({ succeeded: 1, failed: 1 });
      const failed = summary.outcomes.find((o) => o.status === "failed")!;
      expect(failed.docId).toBe(`clinicaltrials:${poisoned}`);
      expect(failed.error).toMatchObject({ stage: "note", type: "Permanent", attempts: 1 });
      expect(failed.error?.message).toMatch(/^note output could not be stored: /);
      expect(failed.error?.message).toMatch(/\\u0000|unsupported Unicode escape sequence/);
      const job = await Effect.runPromise(store.ledger.get(failed.jobId));
      expect(job).toMatchObject({ status: "failed", currentStage: "note" });
      expect(job?.attempts.note).toBe(1);
      expect(job?.attempts.chunk).toBeUndefined();
      const checkpoints = await Effect.runPromise(store.ledger.checkpoints(failed.jobId));
      expect([...checkpoints.keys()].sort()).toEqual(["ingest", "parse"]);
    } finally {
      await store.close();
    }
  });
});
