/**
 * Property tests of a stage definition: {@link checkStageLaws} generates inputs with fast-check
 * and checks the laws every stage must keep for the runner to be right about it: its outputs
 * match its schema, it is deterministic, it fails only with typed errors that the runner retries
 * exactly when they say so, its checkpoint makes a re-run skip it, and its retried attempts give
 * well-formed, paired lineage. The last three run the stage through the real runner on an
 * in-memory store.
 *
 * A broken law rejects with {@link StageLawBroken}, which names the law and carries fast-check's
 * report: the seed, the shrunk counter-example and what went wrong on it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { z } from "zod";
 * import { defineStage } from "../stages/contracts.ts";
 * import { documentSchema } from "../stages/ir_schemas.ts";
 * import { documentArbitrary } from "./ir_arbitraries.ts";
 * import { checkStageLaws } from "./stage_laws.ts";
 *
 * const sectionCount = defineStage({
 *   type: "SectionCount",
 *   input: { Parse: documentSchema },
 *   output: z.object({ sections: z.number().int().min(0) }),
 *   run: (_ctx, { Parse: doc }) => Effect.succeed({ sections: doc.sections.length }),
 * });
 * const report = await checkStageLaws(sectionCount, {
 *   arbitrary: documentArbitrary().map((doc) => ({ Parse: doc })),
 *   runs: 10,
 *   runnerRuns: 2,
 * });
 * assert.deepEqual(report.laws.map((l) => l.law), [
 *   "output-schema",
 *   "deterministic",
 *   "typed-failures",
 *   "checkpointed-once",
 *   "paired-lineage",
 * ]);
 * ```
 *
 * @module
 */
import fc, { type Arbitrary, type IAsyncProperty, type RunDetails } from "fast-check";
import type { Context } from "effect";
import type { z } from "zod";
import type { StageContext } from "../stages/context.ts";
import type { AnyStageDefinition, InputSchemas, StageDefinition } from "../stages/contracts.ts";
import { taggedError, type TaggedErrorClass } from "../stages/errors.ts";
import { describeIssues } from "../stages/schema_issues.ts";
import type { Store } from "../adapters/store/store.ts";
import { testStageContext } from "./stage_runner.ts";
import { LawViolation } from "./_stage_law_checks.ts";
import { type LawRunner, openLawRunner } from "./_stage_law_runner.ts";
import {
  checkpointLaw,
  deterministicLaw,
  InvalidLawInput,
  type LawSubject,
  outputSchemaLaw,
  pairedLineageLaw,
  typedFailuresLaw,
} from "./_stage_law_properties.ts";
import { makeCloudEventValidator, makeOpenLineageValidator } from "./openlineage_validator.ts";

/**
 * A law {@link checkStageLaws} checks, in the order it checks them.
 *
 * @category models
 */
export type StageLaw =
  | "output-schema"
  | "deterministic"
  | "typed-failures"
  | "checkpointed-once"
  | "paired-lineage";

/**
 * What each law asks of a stage, as failure messages state it.
 *
 * @category models
 */
export const stageLawDescriptions: Readonly<Record<StageLaw, string>> = {
  "output-schema": "every output matches the declared output schema, and outputCount counts it",
  "deterministic": "the same input gives the same output, or the same error",
  "typed-failures": "a failure is a typed StageError (never a throw or a defect), and the " +
    "runner retries it exactly when isRetryable says so",
  "checkpointed-once": "the output is checkpointed as produced, and a re-run resumes after it: " +
    "the stage is not called again and none of its events is written again",
  "paired-lineage": "under retries every attempt is one OpenLineage run with one START and one " +
    "terminal event, and every CloudEvent pairs with its OpenLineage event",
};

// Each law's property takes one generated value (a tuple for paired-lineage).
type LawProperty = IAsyncProperty<[unknown]>;

const allLaws: ReadonlyArray<StageLaw> = Object.keys(stageLawDescriptions) as Array<StageLaw>;

/**
 * The upstream outputs a stage reads, by stage type, as an arbitrary generates them.
 *
 * @category models
 */
export type UpstreamInputs<I extends InputSchemas> = { readonly [K in keyof I]: z.output<I[K]> };

/**
 * What {@link checkStageLaws} checks a stage with.
 *
 * @category models
 */
export interface StageLawOptions<I extends InputSchemas, R> {
  /** Generates the upstream outputs the stage reads (`{}` for a stage that reads none). */
  readonly arbitrary: Arbitrary<UpstreamInputs<I>>;
  /** The stage's `config:` as YAML would write it (decoded by its schema). @default {} */
  readonly config?: unknown;
  /** Generated cases per law checked outside the runner. @default 25 */
  readonly runs?: number;
  /** Generated cases per law checked through the runner (each one is a job). @default 8 */
  readonly runnerRuns?: number;
  /** fast-check's seed, to replay a reported failure. @default random */
  readonly seed?: number;
  /** The laws to check. @default every law, in {@link StageLaw} order */
  readonly laws?: ReadonlyArray<StageLaw>;
  /**
   * The attempts the runner's policy allows the stage (2–10): its first attempts fail on purpose
   * with `Transient` fewer times than this. @default 3
   */
  readonly maxAttempts?: number;
  /** Fields of the context of attempts made outside the runner. @default testStageContext() */
  readonly context?: Partial<StageContext>;
  /** The services the stage's attempts need (its `R`). @default none */
  readonly services?: Context.Context<R>;
  /**
   * An open store for the jobs of the laws that use the runner, left open (several checks may
   * share one). @default a new in-memory store, closed when the check ends
   */
  readonly store?: Store;
}

/**
 * The laws a stage kept, with how many generated cases each was checked on.
 *
 * @category models
 */
export interface StageLawReport {
  /** The stage, as `type/implementation`. */
  readonly stage: string;
  /** Each law checked, in order. */
  readonly laws: ReadonlyArray<{ readonly law: StageLaw; readonly runs: number }>;
}

/** The base class of {@link StageLawBroken}, typed explicitly for JSR: extend or use {@link StageLawBroken}. */
export const StageLawBrokenBase: TaggedErrorClass<"StageLawBroken", {
  readonly message: string;
  readonly stage: string;
  readonly law: StageLaw;
  readonly counterexample: unknown;
  readonly seed: number;
}> = taggedError("StageLawBroken");

/**
 * A stage broke a law: `law` names it, `counterexample` is the shrunk input it broke on (for
 * `paired-lineage`, the inputs and the number of attempts made to fail), `seed` replays the run and
 * `message` holds fast-check's full report.
 *
 * @category errors
 */
export class StageLawBroken extends StageLawBrokenBase {}

const decodeConfig = (definition: AnyStageDefinition, config: unknown): unknown => {
  const decoded = definition.config.safeParse(config ?? {});
  if (!decoded.success) {
    throw new TypeError(
      `config rejected by ${definition.type}/${definition.implementation}: ${
        describeIssues(decoded.error.issues)
      }`,
    );
  }
  return decoded.data;
};

const lazy = <A>(make: () => Promise<A>): () => Promise<A> => {
  let made: Promise<A> | undefined;
  return () => (made ??= make());
};

/**
 * Checks the stage laws on generated inputs; resolves with what was checked, rejects with
 * {@link StageLawBroken} on the first law a case breaks (after fast-check shrank the case), and
 * with a `TypeError` when the options are wrong (a `config` the stage rejects, an arbitrary that
 * generates inputs its input schemas reject, a gate). One in-memory store serves the laws that
 * run the stage through the runner.
 *
 * @param stage a definition made with `defineStage`
 * @param options the arbitrary of its inputs, its config, and how many cases
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import fc from "fast-check";
 * import { Effect } from "effect";
 * import { z } from "zod";
 * import { defineStage } from "../stages/contracts.ts";
 * import { checkStageLaws, StageLawBroken } from "./stage_laws.ts";
 *
 * const dice = defineStage({
 *   type: "Dice",
 *   output: z.number(),
 *   run: () => Effect.sync(() => Math.random()),
 * });
 * const broken = await checkStageLaws(dice, { arbitrary: fc.constant({}), runs: 5 }).catch((e) => e);
 * assert.ok(broken instanceof StageLawBroken);
 * assert.equal(broken.law, "deterministic");
 * ```
 *
 * @category testing
 */
export const checkStageLaws = async <Out, Cfg, I extends InputSchemas, R>(
  stage: StageDefinition<Out, Cfg, I, R>,
  options: StageLawOptions<I, R>,
): Promise<StageLawReport> => {
  const definition = stage as unknown as AnyStageDefinition;
  const name = `${definition.type}/${definition.implementation}`;
  if (definition.control === "gate") throw new TypeError(`${name} is a gate: it has no attempts`);
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 2 || maxAttempts > 10) {
    throw new TypeError(`maxAttempts must be an integer from 2 to 10, got ${maxAttempts}`);
  }
  const config = decodeConfig(definition, options.config);
  const opened: Array<LawRunner> = [];
  const subject: LawSubject = {
    definition,
    config,
    context: testStageContext(options.context),
    services: options.services as Context.Context<never> | undefined,
    maxAttempts,
    runner: lazy(async () => {
      const runner = await openLawRunner({
        definition,
        config: options.config ?? {},
        maxAttempts,
        tenantId: options.context?.tenantId ?? "test",
        ...(options.store === undefined ? {} : { store: options.store }),
        ...(options.services === undefined
          ? {}
          : { services: options.services as Context.Context<never> }),
      });
      opened.push(runner);
      return runner;
    }),
    validators: lazy(async () => ({
      openlineage: await makeOpenLineageValidator(),
      cloudevents: await makeCloudEventValidator(),
    })),
  };
  const arbitrary = options.arbitrary as Arbitrary<Readonly<Record<string, unknown>>>;
  const runs = options.runs ?? 25;
  const runnerRuns = options.runnerRuns ?? 8;
  const properties: Record<StageLaw, () => { property: LawProperty; runs: number }> = {
    "output-schema": () => ({
      property: fc.asyncProperty(arbitrary, outputSchemaLaw(subject)),
      runs,
    }),
    "deterministic": () => ({
      property: fc.asyncProperty(arbitrary, deterministicLaw(subject)),
      runs,
    }),
    "typed-failures": () => ({
      property: fc.asyncProperty(arbitrary, typedFailuresLaw(subject)),
      runs,
    }),
    "checkpointed-once": () => ({
      property: fc.asyncProperty(arbitrary, checkpointLaw(subject)),
      runs: runnerRuns,
    }),
    "paired-lineage": () => ({
      property: fc.asyncProperty(
        fc.tuple(arbitrary, fc.integer({ min: 1, max: maxAttempts - 1 })),
        pairedLineageLaw(subject),
      ),
      runs: runnerRuns,
    }),
  } as unknown as Record<StageLaw, () => { property: LawProperty; runs: number }>;
  const checked: Array<{ law: StageLaw; runs: number }> = [];
  try {
    for (const law of allLaws.filter((l) => (options.laws ?? allLaws).includes(l))) {
      const { property, runs: numRuns } = properties[law]();
      const details = await fc.check(property, {
        numRuns,
        ...(options.seed === undefined ? {} : { seed: options.seed }),
      });
      if (details.failed) throw brokenLaw(name, law, details);
      checked.push({ law, runs: numRuns });
    }
  } finally {
    await Promise.all(opened.map((r) => r.close()));
  }
  return { stage: name, laws: checked };
};

const brokenLaw = (stage: string, law: StageLaw, details: RunDetails<[unknown]>): Error => {
  const report = fc.defaultReportMessage(details) ?? "";
  const error = details.errorInstance;
  if (error instanceof InvalidLawInput) {
    return new TypeError(`${stage}: ${error.message}\n${report}`);
  }
  const broken = error instanceof LawViolation ? error.law as StageLaw : law;
  const what = error instanceof Error ? error.message : String(error);
  return new StageLawBroken({
    message: `${stage} broke the law "${broken}" (${stageLawDescriptions[broken]}):\n` +
      `${what}\n${report}`,
    stage,
    law: broken,
    counterexample: details.counterexample?.[0],
    seed: details.seed,
  });
};
