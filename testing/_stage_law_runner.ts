/**
 * The real runner around one stage under test, for the laws that need it: an in-memory store, a
 * pipeline of upstream feeds → the stage → a downstream stage, compiled by the loader against a
 * registry holding the stage, and jobs run with `runJob` while a TestClock drives the backoff.
 * The stage is wrapped so that a job's first attempts can fail with `Transient` on purpose and so
 * that its real invocations are counted.
 *
 * @module
 */
import { Clock, type Context, Effect, Fiber, Layer } from "effect";
import { TestClock } from "effect/testing";
import { z } from "zod";
import { openEmbeddedStore, type Store } from "../adapters/store/store.ts";
import { type AnyStageDefinition, defineStage } from "../stages/contracts.ts";
import { Permanent, Transient } from "../stages/errors.ts";
import { makeStageRegistry } from "../stages/stage_registry.ts";
import { buildConfig, type CompiledPipeline } from "../pipelines/loader.ts";
import { type Job, JobLedger } from "../pipelines/ledger.ts";
import { type JobOutcome, runJob } from "../pipelines/runner.ts";
import { PipelineRuntime } from "../pipelines/runtime.ts";
import { layer as resilienceLayer, type Resilience } from "../policies/resilience.ts";
import { type OutboxRow, OutboxStore } from "../lineage/outbox.ts";

/** What one generated case asks of the runner. */
export interface LawCase {
  /** The upstream outputs the stage reads, by stage type. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** How many of the job's first attempts fail with `Transient` before the stage is called. */
  readonly transientFailures: number;
  /** Fail the stage after the one under test once, so that a re-run resumes after it. */
  readonly failDownstreamOnce: boolean;
}

/** What {@link openLawRunner} builds the pipeline from. */
export interface LawRunnerOptions {
  /** The stage under test. */
  readonly definition: AnyStageDefinition;
  /** Its `config:` as YAML would write it. */
  readonly config: unknown;
  /** The attempts its policy allows. */
  readonly maxAttempts: number;
  /** The tenant of the jobs. */
  readonly tenantId: string;
  /** The services the stage's attempts need. */
  readonly services?: Context.Context<never>;
  /** A store to run the jobs in, left open. @default a new in-memory store, closed by `close` */
  readonly store?: Store;
}

/** The runner, a pipeline around the stage, and what the stage did per document. */
export interface LawRunner {
  /** The stage's name in the pipeline (its OpenLineage job is `stage-laws.{name}`). */
  readonly stageName: string;
  /** Enqueues a job for the case. */
  readonly enqueue: (lawCase: LawCase) => Promise<Job>;
  /** Runs the job as it stands in the ledger now, to its end, under a TestClock. */
  readonly run: (jobId: string) => Promise<JobOutcome>;
  /** Outbox events written since the previous call. */
  readonly newEvents: () => Promise<ReadonlyArray<OutboxRow>>;
  /** The job's checkpoints, by stage name. */
  readonly checkpoints: (jobId: string) => Promise<ReadonlyMap<string, unknown>>;
  /** How often the real stage was called for the document. */
  readonly invocations: (docId: string) => number;
  /** The outputs the real stage succeeded with for the document, in call order. */
  readonly outputs: (docId: string) => ReadonlyArray<unknown>;
  /** Closes the store, unless it was given. */
  readonly close: () => Promise<void>;
}

export const LAW_PIPELINE = "stage-laws";
const FEED = "stage-laws-feed";
const TAIL_TYPE = "StageLawsDownstream";

const snake = (type: string): string =>
  type.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_").toLowerCase();

const policiesYaml = (maxAttempts: number): string => `
policies:
  once:
    max_attempts: 1
    backoff_strategy: none
    backoff_initial_seconds: 0
    backoff_max_seconds: 0
    backoff_jitter_seconds: 0
    timeout_seconds: 600
  laws:
    max_attempts: ${maxAttempts}
    backoff_strategy: exponential
    backoff_initial_seconds: 1
    backoff_max_seconds: 4
    backoff_jitter_seconds: 0
    timeout_seconds: 600
`;

const pipelineYaml = (
  definition: AnyStageDefinition,
  config: unknown,
  stageName: string,
): string => {
  const feeds = Object.keys(definition.input).map((type) => ({
    type,
    name: `upstream_${snake(type)}`,
  }));
  const stageConfig = { impl: definition.implementation, ...(config as Record<string, unknown>) };
  return [
    `version: "1"`,
    `name: ${LAW_PIPELINE}`,
    `description: the stage under test between upstream feeds and a downstream stage`,
    `applicable_sources: []`,
    `stages:`,
    ...feeds.map((f) =>
      `  - { name: ${f.name}, type: ${f.type}, policy: once, config: { impl: ${FEED} } }`
    ),
    `  - name: ${stageName}`,
    `    type: ${definition.type}`,
    `    policy: laws`,
    ...(feeds.length === 0 ? [] : [`    depends_on: [${feeds.map((f) => f.name).join(", ")}]`]),
    `    config: ${JSON.stringify(stageConfig)}`,
    `  - { name: downstream, type: ${TAIL_TYPE}, policy: once, depends_on: [${stageName}] }`,
  ].join("\n");
};

/** Opens the store and compiles the pipeline around the stage. */
export const openLawRunner = async (options: LawRunnerOptions): Promise<LawRunner> => {
  const { definition } = options;
  const stageName = `under_test_${snake(definition.type)}`;
  const cases = new Map<string, LawCase>();
  const attempts = new Map<string, number>();
  const calls = new Map<string, number>();
  const outputs = new Map<string, Array<unknown>>();
  const failedDownstream = new Set<string>();
  const feeds = Object.keys(definition.input).map((type) =>
    defineStage({
      type,
      implementation: FEED,
      output: z.unknown(),
      run: (ctx) => Effect.sync(() => cases.get(ctx.docId)?.inputs[type]),
    })
  );
  const underTest: AnyStageDefinition = {
    ...definition,
    run: (ctx, inputs, config) =>
      Effect.suspend(() => {
        const n = (attempts.get(ctx.docId) ?? 0) + 1;
        attempts.set(ctx.docId, n);
        if (n <= (cases.get(ctx.docId)?.transientFailures ?? 0)) {
          return Effect.fail(new Transient({ message: `injected failure ${n} (stage laws)` }));
        }
        calls.set(ctx.docId, (calls.get(ctx.docId) ?? 0) + 1);
        return Effect.tap(
          definition.run(ctx, inputs, config),
          (output) =>
            Effect.sync(() => outputs.set(ctx.docId, [...(outputs.get(ctx.docId) ?? []), output])),
        );
      }),
  };
  const downstream = defineStage({
    type: TAIL_TYPE,
    implementation: "stage-laws-downstream",
    output: z.object({}),
    run: (ctx) =>
      Effect.suspend(() => {
        const fail = cases.get(ctx.docId)?.failDownstreamOnce === true &&
          !failedDownstream.has(ctx.docId);
        if (!fail) return Effect.succeed({});
        failedDownstream.add(ctx.docId);
        return Effect.fail(new Permanent({ message: "downstream failure (stage laws)" }));
      }),
  });
  const registry = makeStageRegistry([...feeds, underTest, downstream]);
  const built = buildConfig(
    [{ file: "stage-laws/policies.yaml", text: policiesYaml(options.maxAttempts) }],
    [{
      file: "stage-laws/pipeline.yaml",
      text: pipelineYaml(definition, options.config, stageName),
    }],
    { registry },
  );
  const pipeline: CompiledPipeline | undefined = built.config?.pipeline(LAW_PIPELINE);
  if (pipeline === undefined) {
    throw new TypeError(
      `cannot run ${definition.type}/${definition.implementation} in a pipeline: ${
        built.problems.map((p) => p.message).join("; ")
      }`,
    );
  }
  const store: Store = options.store ?? await openEmbeddedStore();
  // Jobs and the outbox cursor of this runner only, should the store be shared.
  const id = crypto.randomUUID().slice(0, 8);
  const sink = `stage-laws-${id}`;
  const jobs = new Set<string>();
  const layer = Layer.mergeAll(
    store.layer,
    resilienceLayer,
    Layer.succeed(PipelineRuntime, {
      stages: registry,
      namespace: "stage-laws",
      store: { namespace: "file", prefix: "/stage-laws" },
      ...(options.services === undefined ? {} : { services: options.services }),
    }),
  );
  // Virtual time moves forward across runs, as it would between real re-runs.
  let now = Date.parse("2026-01-01T00:00:00Z");
  const run = <A, E>(
    effect: Effect.Effect<A, E, JobLedger | OutboxStore | PipelineRuntime | Resilience>,
  ) => Effect.runPromise(effect.pipe(Effect.provide(layer)));
  const driven = (jobId: string) =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now);
      const job = yield* Effect.flatMap(Effect.service(JobLedger), (l) => l.get(jobId));
      if (job === undefined) return yield* Effect.die(new Error(`no job ${jobId}`));
      const fiber = yield* Effect.forkChild(runJob(job, pipeline));
      // Real I/O (the store) progresses during the live sleep; the clock then runs backoffs due.
      while (fiber.pollUnsafe() === undefined) {
        yield* TestClock.withLive(Effect.sleep("1 millis"));
        yield* TestClock.adjust("250 millis");
      }
      const outcome = yield* Fiber.join(fiber);
      now = (yield* Clock.currentTimeMillis) + 1_000;
      return outcome;
    }).pipe(Effect.provide(TestClock.layer()));
  return {
    stageName,
    enqueue: (lawCase) =>
      run(Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const docKey = `${id}-${cases.size + 1}`;
        cases.set(`${LAW_PIPELINE}:${docKey}`, lawCase);
        const { job } = yield* ledger.enqueue({
          tenantId: options.tenantId,
          request: { source: LAW_PIPELINE, docKey, location: { kind: "inline", record: {} } },
          pipeline: pipeline.name,
          pipelineVersion: pipeline.version,
        });
        jobs.add(job.jobId);
        return job;
      })),
    run: (jobId) => run(driven(jobId)),
    newEvents: () =>
      run(Effect.gen(function* () {
        const outbox = yield* OutboxStore;
        const rows = yield* outbox.pending(sink, 100_000);
        if (rows.length > 0) {
          yield* outbox.acknowledge(sink, rows[rows.length - 1].seq, rows.length);
        }
        return rows;
      })),
    checkpoints: (jobId) =>
      run(Effect.flatMap(Effect.service(JobLedger), (l) => l.checkpoints(jobId))),
    invocations: (docId) => calls.get(docId) ?? 0,
    outputs: (docId) => outputs.get(docId) ?? [],
    close: () => (options.store === undefined ? store.close() : Promise.resolve()),
  };
};
