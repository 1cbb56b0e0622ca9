/**
 * zod issues of the lineage configuration as problems: one grammar for every message, each at
 * the place the offending value was written. Values are never echoed except enum words: a
 * mistyped API key must not end up in a terminal or a CI log.
 *
 * @module
 */
import type { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { ConfigPath } from "./_config_sources.ts";

/** Where a path was written (a file position or a variable name). */
export type Where = (path: ConfigPath) => string;

/** `transport.auth.apiKey`, `filters[0].regex`. */
export const labelOf = (path: ConfigPath): string =>
  path.reduce<string>(
    (acc, k) => typeof k === "number" ? `${acc}[${k}]` : acc === "" ? k : `${acc}.${k}`,
    "",
  );

const kindOf = (v: unknown): string => {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return typeof v === "number" ? "a number" : typeof v === "boolean" ? "a boolean" : "a string";
};

const EXPECTED: Readonly<Record<string, string>> = {
  object: "a mapping",
  record: "a mapping",
  array: "a list",
  boolean: "true or false",
  int: "an integer",
};

/**
 * ` "word"` for a value that is a plain word, else nothing: a key pasted in the wrong field has
 * digits or symbols, and is not repeated.
 */
export const quotedWord = (value: unknown): string =>
  typeof value === "string" && /^[A-Za-z_-]{1,20}$/.test(value) ? ` ${JSON.stringify(value)}` : "";

const gotWord = (value: unknown): string => {
  const word = quotedWord(value);
  return word === "" ? "" : ` (got${word})`;
};

const within = (path: ConfigPath): string => path.length === 0 ? "" : ` in ${labelOf(path)}`;

/** The problem for a key that should be there and is not. */
export const missingKey = (path: ConfigPath, where: Where): ConfigProblem => ({
  where: where(path),
  message: `missing required key ${JSON.stringify(path[path.length - 1])}${
    within(path.slice(0, -1))
  }`,
});

const bound = (issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string => {
  const small = issue.code === "too_small";
  const limit = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === "string" && small && limit === 1) return "must not be empty";
  const op = small ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
  return `must be ${op} ${limit}`;
};

/** One zod issue, found while decoding the value at `base`, as problems. */
export const issueProblems = (
  issue: z.core.$ZodIssue,
  base: ConfigPath,
  where: Where,
): ReadonlyArray<ConfigProblem> => {
  const path = [...base, ...issue.path.map((k) => typeof k === "number" ? k : String(k))];
  const label = labelOf(path);
  const at = (message: string) => [{ where: where(path), message }];
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        where: where([...path, key]),
        message: `unknown key ${JSON.stringify(key)}${within(path)} ${issue.message}`,
      }));
    case "invalid_type":
      return input === undefined ? [missingKey(path, where)] : at(
        `${label} must be ${EXPECTED[issue.expected] ?? `a ${issue.expected}`} (got ${
          kindOf(input)
        })`,
      );
    case "invalid_value": {
      const got = gotWord(input);
      return at(
        `${label} must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}${got}`,
      );
    }
    case "too_small":
    case "too_big":
      return at(`${label} ${bound(issue)}`);
    case "custom":
      return issue.params?.missing === true ? [missingKey(path, where)] : at(
        issue.params?.sentence === true ? issue.message : `${label} ${issue.message}`,
      );
    default:
      return at(`${label} is invalid`);
  }
};

/** Decodes `value` (found at `base`) with `schema`: the value, or its problems. */
export const decodeAt = <T>(
  schema: z.ZodType<T>,
  value: unknown,
  base: ConfigPath,
  where: Where,
): { readonly value?: T; readonly problems: ReadonlyArray<ConfigProblem> } => {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { value: result.data, problems: [] };
  return { problems: result.error.issues.flatMap((i) => issueProblems(i, base, where)) };
};
