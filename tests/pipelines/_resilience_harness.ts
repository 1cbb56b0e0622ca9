/**
 * End-to-end resilience runs: the real runner and policies over a real (in-memory) PGlite store,
 * with the HTTP stages talking to msw. The clock is driven only while nothing real is in flight
 * (no ledger write, no HTTP exchange), so virtual time stands still during I/O and every attempt,
 * backoff and token wait lands on the exact virtual time the policy prescribes.
 */
import { Effect, Fiber, Layer } from "effect";
import { TestClock } from "effect/testing";
import { parseStage } from "../../adapters/sources/parse_stage.ts";
import { makeHttpIngestStage } from "../../adapters/sources/http_ingest.ts";
import type { Store } from "../../adapters/store/store.ts";
import { makeVllmEmbedStage } from "../../adapters/vllm/vllm_embedder.ts";
import { buildConfig, type CompiledPipeline } from "../../pipelines/loader.ts";
import { type Job, JobLedger, type JobLedgerShape } from "../../pipelines/ledger.ts";
import { PipelineRuntime } from "../../pipelines/runtime.ts";
import { layer as resilienceLayer, type Resilience } from "../../policies/resilience.ts";
import { chunkStage } from "../../stages/chunker.ts";
import type { StageContext } from "../../stages/context.ts";
import type { AnyStageDefinition, StageInputs } from "../../stages/contracts.ts";
import type { StageError } from "../../stages/errors.ts";
import type { StageRegistry } from "../../stages/stage_registry.ts";
import { scriptedRegistry, scriptedStages } from "./_runner_harness.ts";

/** Real work in flight: the driver leaves the clock alone while `busy > 0`. */
export interface Probe {
  busy: number;
}

/** A probe with nothing in flight. */
export const makeProbe = (): Probe => ({ busy: 0 });

const track = <A, E, R>(probe: Probe, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    probe.busy += 1;
    return Effect.ensuring(
      effect,
      Effect.sync(() => {
        probe.busy -= 1;
      }),
    );
  });

/** The ledger with every call counted as in flight until it returns. */
export const trackedLedger = (ledger: JobLedgerShape, probe: Probe): JobLedgerShape =>
  Object.fromEntries(
    Object.entries(ledger).map(([name, method]) => [
      name,
      (...args: ReadonlyArray<unknown>) =>
        track(probe, (method as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown>)(...args)),
    ]),
  ) as unknown as JobLedgerShape;

/** The stage with each run counted as in flight until it ends (its HTTP exchange included). */
export const trackedStage = (definition: AnyStageDefinition, probe: Probe): AnyStageDefinition => {
  // The union of stage types collapses here; the wrapper returns whatever the stage returns.
  const run = definition.run as (
    ctx: StageContext,
    inputs: StageInputs,
    config: unknown,
  ) => Effect.Effect<unknown, StageError>;
  return {
    ...definition,
    run: (ctx: StageContext, inputs: StageInputs, config: unknown) =>
      track(probe, run(ctx, inputs, config)),
  } as unknown as AnyStageDefinition;
};

/** The vLLM server the GPU scenarios embed with. */
export const vllmBaseUrl = "http://vllm.test:8000";

/**
 * The kit's real Ingest (HTTP), Parse and Chunk stages, the real vLLM Embed when `vllm` is set,
 * and scripted Embed, Index, Extract and KG otherwise.
 */
export const realRegistry = (
  probe: Probe,
  options: { readonly vllm?: boolean } = {},
): StageRegistry => {
  const { registry } = scriptedStages();
  // The real stages replace the scripted ones under the scripted implementation's name, the one
  // the pipelines were compiled with. Parsing and chunking are CPU work long enough to span
  // several scheduler turns: tracked too, so the clock never moves while they run.
  const real = [
    makeHttpIngestStage(),
    parseStage,
    chunkStage,
    ...(options.vllm === true ? [makeVllmEmbedStage({ baseUrl: vllmBaseUrl, model: "m" })] : []),
  ].map((d) => ({ ...trackedStage(d, probe), implementation: "scripted" }));
  return registry.with(real);
};

/** Layers for the runner: the tracked ledger of `store`, fresh resilience state, the registry. */
export const trackedRunnerLayer = (
  store: Store,
  registry: StageRegistry,
  probe: Probe,
): Layer.Layer<JobLedger | PipelineRuntime | Resilience> =>
  Layer.mergeAll(
    Layer.succeed(JobLedger, trackedLedger(store.ledger, probe)),
    resilienceLayer,
    Layer.succeed(PipelineRuntime, {
      stages: registry,
      namespace: "test",
      store: { namespace: "file", prefix: "/test" },
    }),
  );

/** The shipped policies and `auto` pipeline files. */
export const shippedFiles = async (): Promise<{ policies: string; auto: string }> => ({
  policies: await Deno.readTextFile("policies/resilience.yaml"),
  auto: await Deno.readTextFile("pipelines/auto.yaml"),
});

/** Policy names to put on stages of the shipped `auto` pipeline in place of its own. */
export interface PolicyOverrides {
  readonly ingest?: string;
  readonly embed?: string;
}

/**
 * Compiles the shipped `auto` pipeline against the given policy files (the first file defining a
 * name wins), with the ingest and embed stages under other policies where `overrides` says so.
 */
export const compileAuto = (
  auto: string,
  policyFiles: ReadonlyArray<{ file: string; text: string }>,
  overrides: PolicyOverrides = {},
): CompiledPipeline => {
  let text = auto;
  for (const [stage, policy] of Object.entries(overrides)) {
    const type = stage === "ingest" ? "Ingest" : "Embed";
    const at = new RegExp(`(- name: ${stage}\\n\\s+type: ${type}\\n\\s+policy:) \\S+`);
    if (!at.test(text)) throw new Error(`no ${stage} stage to put under ${policy}`);
    text = text.replace(at, `$1 ${policy}`);
  }
  const { config, problems } = buildConfig(policyFiles, [{ file: "pipelines/auto.yaml", text }], {
    registry: scriptedRegistry,
  });
  if (!config) throw new Error(problems.map((p) => p.message).join("\n"));
  return config.pipeline("auto")!;
};

/** Enqueues the ClinicalTrials.gov study at `url` for a tenant and returns its job. */
export const enqueueUrl = (
  pipeline: CompiledPipeline,
  tenantId: string,
  docKey: string,
  url = `https://clinicaltrials.gov/api/v2/studies/${docKey}`,
): Effect.Effect<Job, unknown, JobLedger> =>
  Effect.gen(function* () {
    const ledger = yield* JobLedger;
    const { job } = yield* ledger.enqueue({
      tenantId,
      request: { source: "clinicaltrials", docKey, location: { kind: "url", url } },
      pipeline: pipeline.name,
      pipelineVersion: pipeline.version,
    });
    return job;
  });

/**
 * Runs the effect in a fiber and advances the TestClock by `stepMs` whenever nothing real has
 * been in flight for two consecutive polls, until the effect ends. Sleeps wake at their own
 * deadlines within a step, so a step that divides every delay keeps all times exact.
 */
export const drive = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  probe: Probe,
  stepMs = 50,
): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect);
    let quiet = 0;
    while (fiber.pollUnsafe() === undefined) {
      yield* TestClock.withLive(Effect.sleep("1 millis"));
      // Behind every fiber that is ready to run: a busy machine may fire the timer above before
      // the job's next turn, which must not count as quiet.
      for (let i = 0; i < 3; i++) yield* Effect.yieldNow;
      quiet = probe.busy > 0 ? 0 : quiet + 1;
      // Three quiet polls: a fiber between two real operations has had turns to start the next.
      if (quiet < 3) continue;
      yield* TestClock.adjust(`${stepMs} millis`);
      quiet = 0;
    }
    return yield* Fiber.join(fiber);
  });
