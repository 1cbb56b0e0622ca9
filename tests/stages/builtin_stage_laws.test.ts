import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { Effect, Exit } from "effect";
import { resolve } from "node:path";
import { z } from "zod";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { discoverRecords } from "../../adapters/sources/discover.ts";
import { ingestStage } from "../../adapters/sources/ingest_stage.ts";
import { parseStage } from "../../adapters/sources/parse_stage.ts";
import { chunkStage } from "../../stages/chunker.ts";
import { hashingEmbedStage } from "../../stages/hashing_embedder.ts";
import { extractStage } from "../../stages/extract.ts";
import { defineStage } from "../../stages/contracts.ts";
import type { Document, RawPayload } from "../../stages/ir.ts";
import { documentSchema } from "../../stages/ir_schemas.ts";
import {
  checkStageLaws,
  chunkSetArbitrary,
  documentArbitrary,
  runStageOnce,
  type StageLaw,
  StageLawBroken,
} from "../../testing/mod.ts";
import { fixturesDir, repoRoot } from "../_harness.ts";

// Small runs keep the suite fast; the seed makes a failure here replayable.
const small = { runs: 20, runnerRuns: 4, seed: 20261205 } as const;
const everyLaw: ReadonlyArray<StageLaw> = [
  "output-schema",
  "deterministic",
  "typed-failures",
  "checkpointed-once",
  "paired-lineage",
];
const report = (stage: string) => ({
  stage,
  laws: everyLaw.map((law) => ({
    law,
    runs: law === "checkpointed-once" || law === "paired-lineage" ? 4 : 20,
  })),
});

let store: Store;
// Recorded ClinicalTrials.gov, OpenAlex and openFDA records, as Ingest hands them to Parse.
let payloads: ReadonlyArray<RawPayload>;
// The same records parsed: real documents for the stages that read Parse.
let documents: ReadonlyArray<Document>;

beforeAll(async () => {
  store = await openEmbeddedStore();
  const found = await discoverRecords([
    resolve(repoRoot, "data/records"),
    ...["clinicaltrials", "openalex", "openfda"].map((s) => resolve(fixturesDir, s)),
  ]);
  const ingested = await Promise.all(
    found.map((d) => Effect.runPromiseExit(runStageOnce(ingestStage, { request: d.request }))),
  );
  payloads = ingested.flatMap((e) => (Exit.isSuccess(e) ? [e.value] : []));
  const parsed = await Promise.all(
    payloads.map((p) => Effect.runPromiseExit(runStageOnce(parseStage, { inputs: { Ingest: p } }))),
  );
  documents = parsed.flatMap((e) => (Exit.isSuccess(e) ? [e.value] : []));
});
afterAll(() => store.close());

describe("the built-in stages keep the stage laws", () => {
  it("recorded records make a pool of every source", () => {
    expect(new Set(payloads.map((p) => p.source))).toEqual(
      new Set(["clinicaltrials", "openalex", "openfda"]),
    );
    expect(documents.length).toBeGreaterThanOrEqual(10);
  });

  it("parseStage, on recorded records of every source", async () => {
    const arbitrary = fc.constantFrom(...payloads).map((p) => ({ Ingest: p }));
    expect(await checkStageLaws(parseStage, { arbitrary, store, ...small })).toEqual(
      report("Parse/source-records"),
    );
  });

  it("chunkStage, on recorded and generated documents, with overlapping windows", async () => {
    const arbitrary = fc.oneof(fc.constantFrom(...documents), documentArbitrary()).map((doc) => ({
      Parse: doc,
    }));
    const config = { split_length: 2, split_overlap: 1 };
    expect(await checkStageLaws(chunkStage, { arbitrary, config, store, ...small })).toEqual(
      report("Chunk/sentence-chunker"),
    );
  });

  it("hashingEmbedStage, on generated chunk sets", async () => {
    const arbitrary = chunkSetArbitrary().map((chunks) => ({ Chunk: chunks }));
    const config = { dimensions: 32, character_trigrams: true };
    expect(await checkStageLaws(hashingEmbedStage, { arbitrary, config, store, ...small }))
      .toEqual(report("Embed/feature-hashing-v1"));
  });

  it("extractStage, on recorded and generated documents", async () => {
    const arbitrary = fc.oneof(
      fc.constantFrom(...documents),
      documentArbitrary({ source: "clinicaltrials" }),
    ).map((doc) => ({ Parse: doc }));
    expect(await checkStageLaws(extractStage, { arbitrary, store, ...small })).toEqual(
      report("Extract/structured-metadata"),
    );
  });
});

describe("a non-deterministic stage breaks the determinism law", () => {
  it("rejects with StageLawBroken naming the law and a shrunk counter-example", async () => {
    // Random once a document has a block: the smallest failing document has exactly one.
    const sampler = defineStage({
      type: "Sampler",
      input: { Parse: documentSchema },
      output: z.object({ score: z.number() }),
      run: (_ctx, { Parse: doc }) =>
        Effect.sync(() => ({
          score: doc.sections.some((s) => s.blocks.length > 0) ? Math.random() : 0,
        })),
    });
    const arbitrary = documentArbitrary().map((doc) => ({ Parse: doc }));
    const broken = await checkStageLaws(sampler, { arbitrary, store, ...small }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(broken).toBeInstanceOf(StageLawBroken);
    const { law, message, counterexample, seed } = broken as StageLawBroken;
    expect([law, seed]).toEqual(["deterministic", small.seed]);
    expect(message).toMatch(
      /^Sampler\/sampler broke the law "deterministic" \(the same input gives the same output, or the same error\):\ntwo attempts on the same input gave different outputs: \{"score":[0-9.e-]+\} and then \{"score":[0-9.e-]+\}\nProperty failed after \d+ tests\n\{ seed: 20261205, path: "[0-9:]+", endOnFailure: true \}\nCounterexample: \[\{"Parse":/,
    );
    expect(message).toMatch(/\nShrunk [1-9]\d* time\(s\)\n/);
    const doc = (counterexample as { Parse: Document }).Parse;
    expect(doc.sections.flatMap((s) => s.blocks).length).toBe(1);
  });
});
