/**
 * The stage laws that need no runner: one attempt's output against the declared schema, the kind
 * of its failures, and two attempts on the same input against each other. Each check returns what
 * broke, in words, or undefined.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { Cause, type Context, Effect, Exit } from "effect";
import type { StageContext } from "../stages/context.ts";
import type { AnyStageDefinition, StageInputs } from "../stages/contracts.ts";
import { isStageError, type StageError, toErrorRecord } from "../stages/errors.ts";
import { describeIssues } from "../stages/schema_issues.ts";

/** A law broke on one generated case: thrown inside a property so fast-check shrinks it. */
export class LawViolation extends Error {
  constructor(readonly law: string, message: string) {
    super(message);
    this.name = "LawViolation";
  }
}

/** One attempt of the definition, as the runner makes it (a throw becomes a defect). */
export const attemptExit = (
  definition: AnyStageDefinition,
  ctx: StageContext,
  inputs: StageInputs,
  config: unknown,
  services: Context.Context<never> | undefined,
): Promise<Exit.Exit<unknown, unknown>> => {
  const attempt = Effect.suspend(
    () => definition.run(ctx, inputs, config) as Effect.Effect<unknown, unknown>,
  );
  return Effect.runPromiseExit(
    services === undefined ? attempt : Effect.provideContext(attempt, services),
  );
};

const show = (value: unknown): string => {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return String(value);
  }
};

/** What is wrong with a successful attempt's output: its schema, or its `outputCount`. */
export const outputIssue = (
  definition: AnyStageDefinition,
  exit: Exit.Exit<unknown, unknown>,
): string | undefined => {
  if (!Exit.isSuccess(exit)) return undefined;
  const checked = definition.output.safeParse(exit.value);
  if (!checked.success) {
    return `the output does not match the declared output schema: ${
      describeIssues(checked.error.issues)
    }; output: ${show(exit.value)}`;
  }
  const count: unknown = definition.outputCount(checked.data);
  return typeof count === "number" && Number.isInteger(count) && count >= 0
    ? undefined
    : `outputCount gave ${show(count)} for the output, not a count (an integer ≥ 0)`;
};

/** The typed error an attempt failed with, when it failed with exactly that. */
export const stageErrorOf = (exit: Exit.Exit<unknown, unknown>): StageError | undefined => {
  if (Exit.isSuccess(exit)) return undefined;
  const [first, ...rest] = exit.cause.reasons;
  return rest.length === 0 && first?._tag === "Fail" && isStageError(first.error)
    ? first.error
    : undefined;
};

/** How an attempt failed when that was not with one of the kit's typed errors. */
export const untypedFailure = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit) || stageErrorOf(exit) !== undefined) return undefined;
  const reasons = exit.cause.reasons;
  const died = reasons.find((r) => r._tag === "Die");
  if (died !== undefined) {
    const defect = Cause.squash(exit.cause);
    return `the attempt died (a throw or a defect, which the runner turns into a Permanent ` +
      `"stage crashed"): ${defect instanceof Error ? defect.message : show(defect)}`;
  }
  const failed = reasons.find((r) => r._tag === "Fail");
  if (failed !== undefined && failed._tag === "Fail") {
    return `the attempt failed with ${show(failed.error)}, which is not a StageError ` +
      "(Transient, Permanent, InvalidInput, …): the runner cannot tell whether to retry it";
  }
  return "the attempt was interrupted without being asked to stop";
};

/** How two attempts on the same input differ, if they do. */
export const differentOutcomes = (
  a: Exit.Exit<unknown, unknown>,
  b: Exit.Exit<unknown, unknown>,
): string | undefined => {
  if (Exit.isSuccess(a) && Exit.isSuccess(b)) {
    return isDeepStrictEqual(a.value, b.value)
      ? undefined
      : `two attempts on the same input gave different outputs: ${show(a.value)} and then ${
        show(b.value)
      }`;
  }
  const errorA = stageErrorOf(a);
  const errorB = stageErrorOf(b);
  if (errorA !== undefined && errorB !== undefined) {
    const [ra, rb] = [toErrorRecord(errorA), toErrorRecord(errorB)];
    return isDeepStrictEqual(ra, rb)
      ? undefined
      : `two attempts on the same input failed differently: ${show(ra)} and then ${show(rb)}`;
  }
  const outcome = (e: Exit.Exit<unknown, unknown>) =>
    Exit.isSuccess(e) ? `succeeded with ${show(e.value)}` : "failed";
  return Exit.isSuccess(a) || Exit.isSuccess(b)
    ? `two attempts on the same input ended differently: the first ${outcome(a)}, the second ${
      outcome(b)
    }`
    : undefined;
};

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/**
 * Where a value read back from a checkpoint differs from the output that was written, if it does.
 * Object keys holding `undefined` are the only difference allowed (JSON drops them and a reader
 * sees them missing either way); anything JSON changes (a non-finite number, a `Date`, a `Map`,
 * `undefined` in an array) is reported with its path.
 */
export const checkpointMismatch = (
  written: unknown,
  read: unknown,
  path = "(root)",
): string | undefined => {
  if (written === null || typeof written !== "object") {
    const same = typeof written === "number"
      ? Number.isFinite(written) && written === read
      : ["string", "boolean"].includes(typeof written) || written === null
      ? written === read
      : false;
    return same ? undefined : `${path}: wrote ${String(written)}, read back ${show(read)}`;
  }
  if (Array.isArray(written)) {
    if (!Array.isArray(read) || read.length !== written.length) {
      return `${path}: wrote an array of ${written.length}, read back ${show(read)}`;
    }
    for (let i = 0; i < written.length; i++) {
      const found = checkpointMismatch(written[i], read[i], `${path}.${i}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isPlainObject(written)) {
    return `${path}: wrote a ${written.constructor?.name ?? "non-plain object"}, which JSON ` +
      `stores as ${show(read)}`;
  }
  if (read === null || typeof read !== "object" || Array.isArray(read)) {
    return `${path}: wrote an object, read back ${show(read)}`;
  }
  const entries = Object.entries(written).filter(([, v]) => v !== undefined);
  const readKeys = Object.keys(read);
  if (readKeys.length !== entries.length) {
    return `${path}: wrote keys ${entries.map(([k]) => k).join(", ")}, read back ${
      readKeys.join(", ")
    }`;
  }
  for (const [key, value] of entries) {
    const found = checkpointMismatch(
      value,
      (read as Record<string, unknown>)[key],
      `${path}.${key}`,
    );
    if (found !== undefined) return found;
  }
  return undefined;
};
