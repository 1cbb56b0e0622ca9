/**
 * Runs the real runner over a real (in-memory) PGlite store with scripted stages, and drives the
 * TestClock while the store's real I/O makes progress.
 */
import { Effect, Fiber, Layer } from "effect";
import { TestClock } from "effect/testing";
import { buildConfig, type CompiledPipeline, type Config } from "../../pipelines/loader.ts";
import { PipelineRuntime } from "../../pipelines/runtime.ts";
import { layer as resilienceLayer } from "../../policies/resilience.ts";
import { type Job, JobLedger } from "../../pipelines/ledger.ts";
import { type JobOutcome, runJob, type RunJobOptions } from "../../pipelines/runner.ts";
import type { Store } from "../../adapters/store/store.ts";
import { z } from "zod";
import { type AnyStageDefinition, defineStage, type StageType } from "../../stages/contracts.ts";
import { makeStageRegistry, type StageRegistry } from "../../stages/stage_registry.ts";
import { gateStage } from "../../pipelines/gate_stage.ts";
import type { StageError } from "../../stages/errors.ts";
import type { Document, PdfReceipt } from "../../stages/ir.ts";

/** The auto pipeline's shape, with every stage under `policy`. */
export const autoShape = (policy: string) => `
version: "1"
name: auto
description: test pipeline
applicable_sources: [clinicaltrials]
stages:
  - { name: ingest, type: Ingest, policy: ${policy} }
  - { name: parse, type: Parse, policy: ${policy}, depends_on: [ingest] }
  - { name: chunk, type: Chunk, policy: ${policy}, depends_on: [parse] }
  - { name: embed, type: Embed, policy: ${policy}, depends_on: [chunk] }
  - { name: index, type: Index, policy: ${policy}, depends_on: [embed] }
  - { name: extract, type: Extract, policy: ${policy}, depends_on: [parse] }
  - { name: kg, type: KG, policy: ${policy}, depends_on: [extract] }
`;

/** Policies for the tests. */
export const testPolicies = `
policies:
  default:
    max_attempts: 3
    backoff_strategy: exponential
    backoff_initial_seconds: 1
    backoff_max_seconds: 30
    backoff_jitter_seconds: 1
    timeout_seconds: 30
  once:
    max_attempts: 1
    backoff_strategy: none
    backoff_initial_seconds: 0
    backoff_max_seconds: 0
    backoff_jitter_seconds: 0
    timeout_seconds: 30
  gpu-bound:
    max_attempts: 1
    backoff_strategy: none
    backoff_initial_seconds: 0
    backoff_max_seconds: 0
    backoff_jitter_seconds: 0
    timeout_seconds: 300
    circuit_breaker: { failure_threshold: 5, reset_timeout_seconds: 60 }
`;

/** The pdf-two-phase shape: a gate on `pdf_ir_ready` between download and chunk. */
export const pdfShape = (timeoutSeconds = 900) => `
version: "1"
name: pdf
description: test pdf pipeline
applicable_sources: [unpaywall]
stages:
  - { name: ingest, type: Ingest, policy: default }
  - { name: download, type: Download, policy: default, depends_on: [ingest] }
  - name: gate_pdf_ir_ready
    type: Gate
    policy: default
    depends_on: [download]
    condition: { ledger_field: pdf_ir_ready, equals: true }
    resume_stage: chunk
    timeout_seconds: ${timeoutSeconds}
    poll_interval_seconds: 10
  - { name: chunk, type: Chunk, policy: default, depends_on: [gate_pdf_ir_ready] }
  - { name: embed, type: Embed, policy: default, depends_on: [chunk] }
  - { name: index, type: Index, policy: default, depends_on: [embed] }
  - { name: extract, type: Extract, policy: default, depends_on: [chunk] }
  - { name: kg, type: KG, policy: default, depends_on: [extract] }
`;

/** Compiles test pipelines under the test policies. */
export const compileConfig = (pipelines: ReadonlyArray<{ file: string; text: string }>): Config => {
  const { config, problems } = buildConfig(
    [{ file: "policies.yaml", text: testPolicies }],
    pipelines,
    { registry: scriptedRegistry },
  );
  if (!config) throw new Error(problems.map((p) => p.message).join("\n"));
  return config;
};

/** Compiles the auto shape under a policy. */
export const compile = (policy = "default"): CompiledPipeline =>
  compileConfig([{ file: "auto.yaml", text: autoShape(policy) }]).pipeline("auto")!;

/** What a scripted stage does on each call; `calls` counts them. */
export type Script = (call: number) => Effect.Effect<unknown, StageError>;

const outputs: Record<StageType, (docId: string) => unknown> = {
  Ingest: (docId) => ({
    source: "clinicaltrials",
    docKey: docId,
    location: { kind: "file", file: "t", pointer: "" },
    record: {},
  }),
  Parse: (docId) => ({
    id: docId,
    source: "clinicaltrials",
    title: "t",
    sections: [],
    metadata: {},
    provenance: {},
  }),
  Chunk: (docId) => ({ docId, chunks: [] }),
  Embed: (docId) => ({ docId, model: "none", dimensions: 0, vectors: [] }),
  Index: (docId) => ({ docId, index: "none", upserted: 0 }),
  Extract: (docId) => ({ docId, entities: [], claims: [] }),
  KG: (docId) => ({ docId, nodes: 0, edges: 0 }),
  Download: (docId) => ({
    docId,
    uri: "https://example.org/a.pdf",
    path: "/tmp/a.pdf",
    sha256: "0".repeat(64),
    bytes: 1,
    contentType: "application/pdf",
  }),
  Gate: () => ({}),
};

/**
 * A registry of every built-in stage type with a scripted body (the gate is the real one): each
 * succeeds at once unless `scripts` says otherwise; `calls` counts the calls per type.
 */
export const scriptedStages = (scripts: Partial<Record<StageType, Script>> = {}) => {
  const calls: Record<string, number> = {};
  const registry: StageRegistry = makeStageRegistry([
    ...Object.keys(outputs).filter((t) => t !== "Gate").map((type): AnyStageDefinition =>
      defineStage({
        type,
        implementation: "scripted",
        output: z.unknown(),
        run: (ctx) =>
          Effect.suspend(() => {
            calls[type] = (calls[type] ?? 0) + 1;
            const script = scripts[type];
            return script
              ? Effect.as(script(calls[type]), outputs[type](ctx.docId))
              : Effect.succeed(outputs[type](ctx.docId));
          }),
        // As the real download does: a stored PDF sets `pdf_downloaded`.
        ...(type === "Download"
          ? { ledgerEffects: (pdf: unknown) => ({ pdfDownloaded: true, pdf: pdf as PdfReceipt }) }
          : {}),
      })
    ),
    gateStage,
  ]);
  return { registry, calls };
};

/** The registry test pipelines are compiled against (any scripted one: they run another). */
export const scriptedRegistry: StageRegistry = scriptedStages().registry;

/** Layers for the runner over a store, running the stages of `registry`. */
export const runnerLayer = (store: Store, registry: StageRegistry) =>
  Layer.mergeAll(
    store.layer,
    resilienceLayer,
    Layer.succeed(PipelineRuntime, {
      stages: registry,
      namespace: "test",
      store: { namespace: "file", prefix: "/test" },
    }),
  );

/** Enqueues a document and returns its job. */
export const enqueue = (
  docKey: string,
  pipeline: CompiledPipeline,
  source: "clinicaltrials" | "unpaywall" = "clinicaltrials",
) =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const { job } = yield* ledger.enqueue({
      tenantId: "t",
      request: {
        source,
        docKey,
        location: { kind: "file", file: "t", pointer: "" },
      },
      pipeline: pipeline.name,
      pipelineVersion: pipeline.version,
    });
    return job;
  });

/**
 * Runs a job in a fiber and advances the TestClock in `stepMs` steps, letting real I/O (the
 * store) progress between steps, until the job ends.
 */
export const runDriven = (
  job: Job,
  pipeline: CompiledPipeline,
  options: RunJobOptions = {},
  stepMs = 50,
) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(runJob(job, pipeline, options));
    while (fiber.pollUnsafe() === undefined) {
      yield* TestClock.withLive(Effect.sleep("1 millis"));
      yield* TestClock.adjust(`${stepMs} millis`);
    }
    return (yield* Fiber.join(fiber)) as JobOutcome;
  });

/** Runs any effect in a fiber while advancing the TestClock, like {@link runDriven}. */
export const driven = <A, E, R>(effect: Effect.Effect<A, E, R>, stepMs = 50) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect);
    while (fiber.pollUnsafe() === undefined) {
      yield* TestClock.withLive(Effect.sleep("1 millis"));
      yield* TestClock.adjust(`${stepMs} millis`);
    }
    return yield* Fiber.join(fiber);
  });

/** A document as the MinerU bridge stores it for a paused PDF job (the gate's artifact). */
export const parsedPdfDocument = (docId: string): Document => ({
  id: docId,
  source: "unpaywall",
  title: "From MinerU",
  sections: [{
    id: `${docId}:s0`,
    title: "Body",
    blocks: [{ id: `${docId}:s0:b0`, type: "text", text: "Text.", page: 1 }],
  }],
  metadata: {},
  provenance: {
    source: "unpaywall",
    location: { kind: "url", url: "https://example.org/a.pdf" },
    parser: "mineru",
  },
});
