/**
 * A stage output is checkpointed as the stage wrote it, even what PostgreSQL's `jsonb` could not
 * hold (a NUL character, a lone surrogate): the document goes on, and its checkpoint reads back
 * exactly, on PGlite and on a server.
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
const awkward = "nul\u0000here, lone \ud800 surrogate";

/** Notes a document's title; for one document the note holds a NUL and a lone surrogate. */
const noteStage = defineStage({
  type: "Note",
  input: { Parse: documentSchema },
  output: z.object({ note: z.string() }),
  run: (ctx, { Parse: doc }) =>
    Effect.succeed({ note: ctx.docId.endsWith(poisoned) ? awkward : doc.title }),
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

describe.each(backends)("a stage output jsonb could not hold ($name)", (backend) => {
  it("is checkpointed as written, and the document goes on", async () => {
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
      expect(summary.jobs).toMatchObject({ succeeded: 2, failed: 0 });
      const done = summary.outcomes.find((o) => o.docId === `clinicaltrials:${poisoned}`)!;
      const checkpoints = await Effect.runPromise(store.ledger.checkpoints(done.jobId));
      expect([...checkpoints.keys()].sort()).toEqual(["chunk", "ingest", "note", "parse"]);
      expect(checkpoints.get("note")).toEqual({ note: awkward });
    } finally {
      await store.close();
    }
  });
});
