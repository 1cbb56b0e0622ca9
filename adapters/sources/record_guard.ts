/**
 * The checks a parsed record passes before it becomes a stage output (and so a checkpoint, an
 * index row or a graph node): nesting depth, string and key length, and characters the store
 * cannot hold. The walk keeps its own stack of frames, never the call stack, and visits each value
 * once, so a record nested a million levels deep is refused in linear time instead of overflowing
 * a stage's stack later.
 *
 * @module
 */
import { InvalidInput } from "../../stages/errors.ts";
import { inputLimitKeys, type InputLimits } from "./input_limits.ts";
import {
  describeUnstorable,
  displayText,
  firstUnstorableChar,
} from "../../stages/storable_text.ts";
import { pathOf, pointerSegments } from "./_record_shape.ts";

/**
 * What is wrong with a record, and where (path segments from the record's root).
 *
 * @category models
 */
export interface RecordProblem {
  /** Keys and indexes from the record's root to the offending value. */
  readonly segments: ReadonlyArray<string | number>;
  /** What is wrong, e.g. "a NUL character (U+0000) at character 3, which the store cannot hold". */
  readonly detail: string;
}

interface Frame {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

const segmentsOf = (frame: Frame): ReadonlyArray<string | number> => {
  const segments: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) segments.push(f.key);
  return segments.reverse();
};

const stringProblem = (text: string, what: string, limits: InputLimits): string | undefined => {
  if (text.length > limits.maxStringLength) {
    return `${what} of ${text.length} characters, longer than the limit of ` +
      `${limits.maxStringLength} (${inputLimitKeys.maxStringLength})`;
  }
  const bad = firstUnstorableChar(text);
  return bad === undefined
    ? undefined
    : `${what} holding ${describeUnstorable(bad)}, which the store cannot hold`;
};

const childrenOf = (frame: Frame, stack: Array<Frame>): void => {
  const { value, depth } = frame;
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--) {
      stack.push({ value: value[i], depth: depth + 1, parent: frame, key: i });
    }
    return;
  }
  const keys = Object.keys(value as object);
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i];
    stack.push({
      value: (value as Record<string, unknown>)[key],
      depth: depth + 1,
      parent: frame,
      key,
    });
  }
};

/**
 * The first problem in a record, in document order, or `undefined` when it passes. The record's
 * root is level 1 of its nesting.
 *
 * @example
 * ```ts
 * import { firstRecordProblem } from "./record_guard.ts";
 * import { defaultInputLimits } from "./input_limits.ts";
 *
 * firstRecordProblem({ a: ["ok", "b\u0000"] }, defaultInputLimits);
 * // { segments: ["a", 1], detail: "a string holding a NUL character (U+0000) at character 1, …" }
 * ```
 *
 * @category combinators
 */
export const firstRecordProblem = (
  record: unknown,
  limits: InputLimits,
): RecordProblem | undefined => {
  const stack: Array<Frame> = [{ value: record, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (typeof frame.key === "string") {
      const detail = stringProblem(frame.key, "a key", limits);
      if (detail !== undefined) {
        // The key itself is the problem: name the object holding it, and the key escaped.
        const at = frame.parent === undefined ? [] : segmentsOf(frame.parent);
        return { segments: at, detail: `${detail} (key "${displayText(frame.key, 40)}")` };
      }
    }
    const { value } = frame;
    if (typeof value === "string") {
      const detail = stringProblem(value, "a string", limits);
      if (detail !== undefined) return { segments: segmentsOf(frame), detail };
    } else if (typeof value === "object" && value !== null) {
      const level = frame.depth + 1;
      if (level > limits.maxDepth) {
        return {
          segments: segmentsOf(frame),
          detail: `nested ${level} levels deep, deeper than the limit of ${limits.maxDepth} ` +
            `(${inputLimitKeys.maxDepth})`,
        };
      }
      childrenOf(frame, stack);
    }
  }
  return undefined;
};

/**
 * Whether a parsed file or body holds more values than `max` (every object member and array item
 * counted once); stops counting as soon as it knows.
 *
 * @category combinators
 */
export const exceedsValueCount = (root: unknown, max: number): boolean => {
  const stack: Array<unknown> = [root];
  let count = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null) continue;
    const children = Array.isArray(value) ? value : Object.values(value);
    count += children.length;
    if (count > max) return true;
    for (const child of children) {
      if (typeof child === "object" && child !== null) stack.push(child);
    }
  }
  return false;
};

// A path of a record nested thousands of levels deep is itself thousands of segments long: keep
// its head and tail so the message stays readable (and small enough to store).
const shortPath = (path: string): string =>
  path.length <= 240 ? path : `${path.slice(0, 160)}…${path.slice(-60)}`;

/**
 * Checks a record against the limits; a problem becomes `InvalidInput` naming the file (or URL)
 * and the field path, the record's pointer included.
 *
 * @param where the file or URL the record came from
 * @param pointer the record's JSON pointer inside it (`""` for the whole file)
 * @category constructors
 */
export const guardRecord = (
  where: string,
  pointer: string,
  record: unknown,
  limits: InputLimits,
): InvalidInput | undefined => {
  const problem = firstRecordProblem(record, limits);
  if (problem === undefined) return undefined;
  const path = shortPath(pathOf([...pointerSegments(pointer), ...problem.segments]));
  const message = path === ""
    ? `${where}: ${problem.detail}`
    : `${where}: ${path}: ${problem.detail}`;
  return new InvalidInput({ message, path: path === "" ? where : path });
};
