/**
 * One property per stage law: what each law runs on a generated case and when it throws a
 * {@link LawViolation}. The laws that need the runner share one {@link LawRunner} (one store).
 *
 * @module
 */
import type { Context, Exit } from "effect";
import type { StageContext } from "../stages/context.ts";
import type { AnyStageDefinition, InputSchemas, StageInputs } from "../stages/contracts.ts";
import { isRetryable, type StageError } from "../stages/errors.ts";
import type { IngestRequest } from "../stages/ir.ts";
import { describeIssues } from "../stages/schema_issues.ts";
import type { OutboxRow } from "../lineage/outbox.ts";
import {
  attemptExit,
  checkpointMismatch,
  differentOutcomes,
  LawViolation,
  outputIssue,
  stageErrorOf,
  untypedFailure,
} from "./_stage_law_checks.ts";
import { LAW_PIPELINE, type LawRunner } from "./_stage_law_runner.ts";
import { lineagePairIssues, runLifecycleIssues } from "./lineage_pairs.ts";
import type { CloudEventValidator, OpenLineageValidator } from "./openlineage_validator.ts";

/** An input the stage's own input schema rejects: the arbitrary is wrong, not the stage. */
export class InvalidLawInput extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidLawInput";
  }
}

/** What the properties run with. */
export interface LawSubject {
  /** The stage under test. */
  readonly definition: AnyStageDefinition;
  /** Its decoded `config:`. */
  readonly config: unknown;
  /** The context of attempts made outside the runner. */
  readonly context: StageContext;
  /** The services its attempts need. */
  readonly services: Context.Context<never> | undefined;
  /** The attempts the runner's policy allows. */
  readonly maxAttempts: number;
  /** The runner, opened on first use. */
  readonly runner: () => Promise<LawRunner>;
  /** The validators, loaded on first use. */
  readonly validators: () => Promise<{
    readonly openlineage: OpenLineageValidator;
    readonly cloudevents: CloudEventValidator;
  }>;
}

type Upstream = Readonly<Record<string, unknown>>;

const request: IngestRequest = {
  source: "test",
  docKey: "doc-1",
  location: { kind: "inline", record: {} },
};

/** The generated upstream outputs as the runner hands them over: parsed by the input schemas. */
export const parsedInputs = (definition: AnyStageDefinition, upstream: Upstream): StageInputs => {
  const inputs: Record<string, unknown> = { request };
  for (const [type, schema] of Object.entries(definition.input as InputSchemas)) {
    const parsed = schema.safeParse(upstream[type]);
    if (!parsed.success) {
      throw new InvalidLawInput(
        `the arbitrary generated a ${type} input that the stage's input schema rejects: ${
          describeIssues(parsed.error.issues)
        }`,
      );
    }
    inputs[type] = parsed.data;
  }
  return inputs as StageInputs;
};

// Each attempt gets its own copy, so an attempt that mutates its input cannot hide a difference.
const attempt = (s: LawSubject, upstream: Upstream): Promise<Exit.Exit<unknown, unknown>> =>
  attemptExit(
    s.definition,
    s.context,
    structuredClone(parsedInputs(s.definition, upstream)),
    s.config,
    s.services,
  );

/** Every output matches the declared output schema and `outputCount` counts it. */
export const outputSchemaLaw = (s: LawSubject) => async (upstream: Upstream): Promise<void> => {
  const issue = outputIssue(s.definition, await attempt(s, upstream));
  if (issue !== undefined) throw new LawViolation("output-schema", issue);
};

/** The same input gives the same output, or the same error. */
export const deterministicLaw = (s: LawSubject) => async (upstream: Upstream): Promise<void> => {
  const first = await attempt(s, upstream);
  const second = await attempt(s, upstream);
  const issue = differentOutcomes(first, second);
  if (issue !== undefined) throw new LawViolation("deterministic", issue);
};

const runnerFailure = async (s: LawSubject, upstream: Upstream, error: StageError) => {
  const runner = await s.runner();
  const job = await runner.enqueue({
    inputs: upstream,
    transientFailures: 0,
    failDownstreamOnce: false,
  });
  const outcome = await runner.run(job.jobId);
  await runner.newEvents();
  const attempts = isRetryable(error) ? s.maxAttempts : 1;
  const calls = runner.invocations(job.docId);
  const got = outcome.error;
  const ok = outcome.status === "failed" && got?.stage === runner.stageName &&
    got.type === error._tag && got.attempts === attempts && calls === attempts;
  if (!ok) {
    throw new LawViolation(
      "typed-failures",
      `the stage failed with ${error._tag} (${
        isRetryable(error) ? "retryable" : "not retryable"
      }), so the runner should give up after ${attempts} attempt(s) with that error; it called ` +
        `the stage ${calls} time(s) and the job ended ${outcome.status}${
          got === undefined ? "" : ` at ${got.stage} with ${got.type}: ${got.message}`
        }`,
    );
  }
};

/** Failures are typed StageErrors, retried by the runner exactly when `isRetryable` says so. */
export const typedFailuresLaw = (s: LawSubject) => async (upstream: Upstream): Promise<void> => {
  const exit = await attempt(s, upstream);
  const untyped = untypedFailure(exit);
  if (untyped !== undefined) throw new LawViolation("typed-failures", untyped);
  const error = stageErrorOf(exit);
  if (error !== undefined) await runnerFailure(s, upstream, error);
};

const ofStage = (runner: LawRunner, rows: ReadonlyArray<OutboxRow>) =>
  rows.filter((r) =>
    r.channel === "openlineage"
      ? (r.payload.job as { name?: unknown } | undefined)?.name ===
        `${LAW_PIPELINE}.${runner.stageName}`
      : String(r.payload.source).endsWith(`/${runner.stageName}`)
  );

/**
 * The output is checkpointed as produced, and a re-run after a downstream failure resumes after
 * it: the stage is not called again and writes no event again; a run of the finished job writes
 * nothing at all.
 */
export const checkpointLaw = (s: LawSubject) => async (upstream: Upstream): Promise<void> => {
  const runner = await s.runner();
  const broke = (message: string) => new LawViolation("checkpointed-once", message);
  const job = await runner.enqueue({
    inputs: upstream,
    transientFailures: 0,
    failDownstreamOnce: true,
  });
  const first = await runner.run(job.jobId);
  await runner.newEvents();
  // A stage that fails on this input checkpoints nothing; the typed-failures law covers it.
  if (first.status === "failed" && first.error?.stage === runner.stageName) return;
  if (first.status !== "failed" || first.error?.stage !== "downstream") {
    throw broke(`the first run should fail downstream of the stage, it ended ${first.status}`);
  }
  const calls = runner.invocations(job.docId);
  const produced = runner.outputs(job.docId).at(-1);
  const written = s.definition.output.parse(produced);
  const read = (await runner.checkpoints(job.jobId)).get(runner.stageName);
  const mismatch = checkpointMismatch(written, read);
  if (mismatch !== undefined) {
    throw broke(`the checkpoint read back is not the output the stage produced: ${mismatch}`);
  }
  const second = await runner.run(job.jobId);
  const again = ofStage(runner, await runner.newEvents());
  if (
    second.status !== "succeeded" || runner.invocations(job.docId) !== calls || again.length > 0
  ) {
    throw broke(
      `re-running after the downstream failure should resume after the checkpoint; the run ` +
        `ended ${second.status}, the stage was called ${runner.invocations(job.docId) - calls} ` +
        `more time(s) and ${again.length} of its events were written again`,
    );
  }
  const third = await runner.run(job.jobId);
  const events = await runner.newEvents();
  if (third.status !== "skipped" || runner.invocations(job.docId) !== calls || events.length > 0) {
    throw broke(
      `running the finished job again should do nothing; it ended ${third.status}, the stage ` +
        `was called ${runner.invocations(job.docId) - calls} more time(s) and ${events.length} ` +
        "event(s) were written",
    );
  }
};

const runsOf = (events: ReadonlyArray<Readonly<Record<string, unknown>>>) => {
  const runs = new Map<string, Array<unknown>>();
  for (const e of events) {
    const runId = String((e.run as { runId?: unknown }).runId);
    runs.set(runId, [...(runs.get(runId) ?? []), e.eventType]);
  }
  return [...runs.values()].map((types) => types.at(-1));
};

/**
 * With the first `k` attempts failing `Transient`, every attempt is one OpenLineage run (one
 * START, one terminal event), the retried ones end FAIL, and every CloudEvent pairs with its
 * OpenLineage event; every event of the job validates.
 */
export const pairedLineageLaw =
  (s: LawSubject) => async ([upstream, k]: readonly [Upstream, number]): Promise<void> => {
    const runner = await s.runner();
    const broke = (message: string) => new LawViolation("paired-lineage", message);
    const job = await runner.enqueue({
      inputs: upstream,
      transientFailures: k,
      failDownstreamOnce: false,
    });
    const outcome = await runner.run(job.jobId);
    const rows = await runner.newEvents();
    const ol = rows.filter((r) => r.channel === "openlineage").map((r) => r.payload);
    const ce = rows.filter((r) => r.channel === "cloudevents").map((r) => r.payload);
    const issues = [...runLifecycleIssues(ol), ...lineagePairIssues(ol, ce)];
    if (issues.length > 0) throw broke(issues.join("; "));
    const { openlineage, cloudevents } = await s.validators();
    const invalid = [
      ...ol.flatMap((e) =>
        openlineage.validate(e).map((i) => `OpenLineage ${i.path}: ${i.message}`)
      ),
      ...ce.flatMap((e) =>
        cloudevents.validate(e).map((i) => `CloudEvent ${i.path}: ${i.message}`)
      ),
    ];
    if (invalid.length > 0) {
      throw broke(`invalid events: ${[...new Set(invalid)].slice(0, 5).join("; ")}`);
    }
    const ends = runsOf(
      ofStage(runner, rows).filter((r) => r.channel === "openlineage").map((r) => r.payload),
    );
    const succeeded = outcome.status === "succeeded";
    const calls = runner.invocations(job.docId);
    const expected = succeeded
      ? [...Array(k).fill("FAIL"), "COMPLETE"]
      : Array(k + calls).fill("FAIL");
    if (JSON.stringify(ends) !== JSON.stringify(expected)) {
      throw broke(
        `with ${k} injected Transient failure(s) the stage's runs should end ${
          expected.join(", ")
        }; ` +
          `they ended ${ends.join(", ")} (job ${outcome.status})`,
      );
    }
  };
