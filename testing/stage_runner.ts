/**
 * Running one stage definition outside a pipeline, as the runner runs one attempt: its `config:`
 * decoded by its own schema, its declared inputs handed in, and its output checked against its
 * output schema. For unit tests of a stage, the kit's and your own.
 *
 * @module
 */
import { Effect } from "effect";
import type { StageContext } from "../stages/context.ts";
import type { InputSchemas, StageDefinition, StageInputs } from "../stages/contracts.ts";
import { Permanent, type StageError } from "../stages/errors.ts";
import type { IngestRequest } from "../stages/ir.ts";
import { describeIssues } from "../stages/schema_issues.ts";

/**
 * The context a test attempt runs with unless told otherwise: tenant `test`, job `job-test`,
 * document `test:doc-1`, first attempt.
 *
 * @category testing
 */
export const testStageContext = (overrides: Partial<StageContext> = {}): StageContext => ({
  tenantId: "test",
  jobId: "job-test",
  docId: "test:doc-1",
  correlationId: "correlation-test",
  pipeline: { name: "test", version: "1" },
  stage: "stage",
  attempt: 1,
  metadata: {},
  ...overrides,
});

/** What {@link runStageOnce} runs a stage with. */
export interface RunStageOnceOptions<I extends InputSchemas> {
  /** The job's ingest request. @default an inline request for `test:doc-1` */
  readonly request?: IngestRequest;
  /** The upstream outputs the definition reads, by stage type. */
  readonly inputs?: { readonly [K in keyof I]?: unknown };
  /** The stage's `config:` as written in YAML (decoded by the definition's schema). @default {} */
  readonly config?: unknown;
  /** Fields of the attempt's context. */
  readonly context?: Partial<StageContext>;
}

/**
 * Runs one attempt of a stage: decodes `config` with the definition's schema (a config it
 * rejects is a defect of the test), runs the stage, and fails with `Permanent` when the output
 * does not match the definition's output schema.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { extractStage } from "../stages/extract.ts";
 * import { runStageOnce } from "./stage_runner.ts";
 *
 * const extraction = await Effect.runPromise(runStageOnce(extractStage, {
 *   inputs: {
 *     Parse: {
 *       id: "notes:1",
 *       source: "notes",
 *       title: "Note",
 *       sections: [],
 *       metadata: {},
 *       provenance: { source: "notes", location: { kind: "inline", record: {} }, parser: "x" },
 *     },
 *   },
 * }));
 * console.log(extraction.entities.length); // 0
 * ```
 *
 * @category testing
 */
export const runStageOnce = <Out, Cfg, I extends InputSchemas, R>(
  definition: StageDefinition<Out, Cfg, I, R>,
  options: RunStageOnceOptions<I> = {},
): Effect.Effect<Out, StageError, R> =>
  Effect.suspend(() => {
    const config = definition.config.safeParse(options.config ?? {});
    if (!config.success) {
      return Effect.die(
        new Error(
          `config rejected by ${definition.type}/${definition.implementation}: ${
            describeIssues(config.error.issues)
          }`,
        ),
      );
    }
    const request: IngestRequest = options.request ??
      { source: "test", docKey: "doc-1", location: { kind: "inline", record: {} } };
    const inputs = { request, ...(options.inputs ?? {}) } as unknown as StageInputs<I>;
    const ctx = testStageContext(options.context);
    return Effect.flatMap(definition.run(ctx, inputs, config.data), (output) => {
      const checked = definition.output.safeParse(output);
      return checked.success ? Effect.succeed(checked.data) : Effect.fail(
        new Permanent({
          message: `${definition.type}/${definition.implementation} produced an output that ` +
            `does not match its schema: ${describeIssues(checked.error.issues)}`,
        }),
      );
    });
  });
