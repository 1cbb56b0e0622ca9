/**
 * zod issues as one line of text, for stage failures that name what a value got wrong.
 *
 * @module
 */

/** One schema issue: where in the value, and what. */
export interface SchemaIssue {
  /** The path into the value. */
  readonly path: ReadonlyArray<PropertyKey>;
  /** What is wrong there. */
  readonly message: string;
}

/**
 * Issues in one line, `path: message; …`, at most three named.
 *
 * @example
 * ```ts
 * import { describeIssues } from "./schema_issues.ts";
 *
 * describeIssues([{ path: ["chunks", 0, "text"], message: "expected string" }]);
 * // "chunks.0.text: expected string"
 * ```
 *
 * @category combinators
 */
export const describeIssues = (issues: ReadonlyArray<SchemaIssue>): string =>
  issues.slice(0, 3).map((i) =>
    `${i.path.length === 0 ? "(root)" : i.path.map(String).join(".")}: ${i.message}`
  ).join("; ") + (issues.length > 3 ? ` (and ${issues.length - 3} more)` : "");
