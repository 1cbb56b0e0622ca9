/**
 * Configuration problems: one finding in one file at one line and column, rendered in the kit's
 * single grammar `file:line:column: message`, and the error that carries all of them at once.
 *
 * @module
 */
import { type Cause, Data } from "effect";
import { z } from "zod";

/** One thing wrong with a configuration file, at the position of the offending YAML node. */
export interface Problem {
  /** The file the problem is in, as the caller named it. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** What is wrong, as a sentence without the position. */
  readonly message: string;
}

/**
 * Renders a problem as `file:line:column: message`.
 *
 * @example
 * ```ts
 * formatProblem({ file: "pipelines/x.yaml", line: 14, column: 5, message: "cycle: a → b → a" });
 * // "pipelines/x.yaml:14:5: cycle: a → b → a"
 * ```
 */
export const formatProblem = (p: Problem): string =>
  `${p.file}:${p.line}:${p.column}: ${p.message}`;

/** The fields of a {@link ConfigError}. */
export interface ConfigErrorFields {
  /** Every problem found, not only the first. */
  readonly problems: ReadonlyArray<Problem>;
}

// Named with an explicit type so the published declaration needs no inference (JSR).
/** The base class of {@link ConfigError}, typed explicitly for JSR: extend or use {@link ConfigError}. */
export const ConfigErrorBase: new (
  args: ConfigErrorFields,
) => Cause.YieldableError & { readonly _tag: "ConfigError" } & ConfigErrorFields = Data
  .TaggedError("ConfigError");

/** Loading the configuration failed; `problems` lists every finding, not only the first. */
export class ConfigError extends ConfigErrorBase {
  /** Every problem as `file:line:column: message`, one per line. */
  override get message(): string {
    return this.problems.map(formatProblem).join("\n");
  }
}

/** Orders problems by file (in the order given), then line, then column; stable otherwise. */
export const sortProblems = (
  problems: ReadonlyArray<Problem>,
  files: ReadonlyArray<string> = [],
): ReadonlyArray<Problem> => {
  const rank = (file: string): number => {
    const i = files.indexOf(file);
    return i === -1 ? files.length : i;
  };
  return [...problems].sort((a, b) =>
    rank(a.file) - rank(b.file) || a.line - b.line || a.column - b.column
  );
};

/** A path into a decoded YAML value: mapping keys and sequence indexes. */
export type ValuePath = ReadonlyArray<string | number>;

/** A problem message that still needs its position: the path of the node it is about. */
export interface PathMessage {
  /** The path of the node the message is about. */
  readonly path: ValuePath;
  /** What is wrong with that node. */
  readonly message: string;
}

/**
 * Turns one zod issue into messages without position. `base` is how many leading path segments
 * the caller names in its own prefix (`stage "embed"`), so the rest is spelt as a field label.
 * Schemas in the kit give enum issues a full sentence as their message and strict objects an
 * `(allowed: …)` suffix; a custom issue is a full sentence too, unless its `params.field` is
 * true: then it is a predicate about the field at its path. Every other message is written here.
 */
export const describeIssue = (
  issue: z.core.$ZodIssue,
  base: number,
): ReadonlyArray<PathMessage> => {
  const path = issue.path.map(toSegment);
  const relative = path.slice(base);
  const label = fieldLabel(relative);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: `unknown key ${quote(key)}${within(label)} ${issue.message}`,
      }));
    case "invalid_type":
      return [{ path, message: typeMessage(issue, relative, path.length === 0) }];
    case "too_small":
    case "too_big":
      return [{ path, message: `${subject(label)} ${boundMessage(issue)} (got ${got(issue)})` }];
    case "invalid_format":
      return [{ path, message: `${subject(label)} ${formatMessage(issue)} (got ${got(issue)})` }];
    case "invalid_value":
      return [{ path, message: missingKey(issue, relative) ?? issue.message }];
    case "custom":
      return [{
        path,
        message: issue.params?.field === true
          ? `${subject(label)} ${issue.message}`
          : issue.message,
      }];
    default:
      return [{ path, message: `${subject(label)} is invalid` }];
  }
};

/**
 * A mapping that rejects unknown keys, naming the allowed ones (the suffix
 * {@link describeIssue} appends to `unknown key "…"`).
 */
export const strictMapping = <T extends z.core.$ZodLooseShape>(
  shape: T,
): z.ZodObject<{ -readonly [K in keyof T]: T[K] }, z.core.$strict> =>
  z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `(allowed: ${Object.keys(shape).join(", ")})`
        : undefined,
  });

/**
 * One of a fixed list of strings; anything else reads `unknown <noun> "x" (<word>: a, b, c)`.
 * Use `known` for names of things that exist (stage types, sources) and `allowed` for options.
 */
export const oneOf = <const T extends ReadonlyArray<string>>(
  noun: string,
  values: T,
  word: "known" | "allowed" = "allowed",
): z.ZodEnum<{ [K in T[number]]: K }> =>
  z.enum(values, {
    error: (issue) =>
      issue.input === undefined
        ? undefined
        : `unknown ${noun} ${describeValue(issue.input)} (${word}: ${values.join(", ")})`,
  }) as unknown as z.ZodEnum<{ [K in T[number]]: K }>;

const toSegment = (key: PropertyKey): string | number =>
  typeof key === "number" ? key : String(key);

const fieldLabel = (path: ValuePath): string =>
  path.reduce<string>(
    (acc, key) => typeof key === "number" ? `${acc}[${key}]` : acc === "" ? key : `${acc}.${key}`,
    "",
  );

const quote = (s: string): string => JSON.stringify(s);

const subject = (label: string, atRoot = false): string =>
  label !== "" ? quote(label) : atRoot ? "the document" : "the entry";

const within = (label: string): string => label === "" ? "" : ` in ${label}`;

// A key the YAML does not have decodes to `undefined`: say which key is missing.
const missingKey = (
  issue: { readonly input?: unknown },
  relative: ValuePath,
): string | undefined => {
  const key = relative[relative.length - 1];
  return issue.input === undefined && typeof key === "string"
    ? `missing required key ${quote(key)}${within(fieldLabel(relative.slice(0, -1)))}`
    : undefined;
};

const typeMessage = (
  issue: z.core.$ZodIssueInvalidType,
  relative: ValuePath,
  atRoot: boolean,
): string => {
  const what = `must be ${expected(issue.expected)} (got ${describeValue(issue.input)})`;
  return missingKey(issue, relative) ?? `${subject(fieldLabel(relative), atRoot)} ${what}`;
};

const expected = (what: string): string => {
  switch (what) {
    case "object":
    case "record":
    case "map":
      return "a mapping";
    case "array":
      return "a list";
    case "int":
      return "an integer";
    default:
      return `a ${what}`;
  }
};

const boundMessage = (issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string => {
  const small = issue.code === "too_small";
  const limit = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === "array") {
    return small ? `must have at least ${items(limit)}` : `must have at most ${items(limit)}`;
  }
  if (issue.origin === "string") {
    return small
      ? `must be at least ${limit} characters long`
      : `must be at most ${limit} characters long`;
  }
  const op = small ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
  return `must be ${op} ${limit}`;
};

const items = (n: number): string => n === 1 ? "1 item" : `${n} items`;

const formatMessage = (issue: z.core.$ZodIssueInvalidStringFormat): string =>
  issue.format === "regex" && issue.pattern !== undefined
    ? `must match ${issue.pattern.replace(/^\/|\/[a-z]*$/g, "")}`
    : `must be a valid ${issue.format}`;

const got = (issue: { readonly input?: unknown }): string =>
  Array.isArray(issue.input) ? `${issue.input.length} items` : describeValue(issue.input);

/** Describes a decoded YAML value for a message: `"abc"`, `3`, `null`, `a list`, `a mapping`. */
export const describeValue = (value: unknown): string => {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a mapping";
  return JSON.stringify(value);
};
