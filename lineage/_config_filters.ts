/**
 * The `filters` section of `openlineage.yml`: `{type: exact, match}` and `{type: regex, regex}`.
 *
 * @module
 */
import { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { JobFilter } from "./job_filter.ts";
import type { ConfigPath } from "./_config_sources.ts";
import { decodeAt, missingKey, quotedWord, type Where } from "./_config_issues.ts";
import { strict, text } from "./_config_schema.ts";

const isRegex = (s: string): boolean => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
};

const filter = z.union([
  strict({ type: z.literal("exact"), match: text }),
  strict({
    type: z.literal("regex"),
    regex: text.refine(isRegex, "is not a valid regular expression"),
  }),
]);

/** Decodes `filters` (a list at `path`). */
export const decodeFilters = (
  value: unknown,
  path: ConfigPath,
  where: Where,
): { filters: JobFilter[]; problems: ConfigProblem[] } => {
  const list = decodeAt(z.array(z.unknown()), value, path, where);
  if (list.value === undefined) return { filters: [], problems: [...list.problems] };
  const out = { filters: [] as JobFilter[], problems: [] as ConfigProblem[] };
  list.value.forEach((item, i) => {
    const type = (item as { type?: unknown } | null)?.type;
    const schema = type === "exact"
      ? filter.options[0]
      : type === "regex"
      ? filter.options[1]
      : undefined;
    if (schema === undefined) {
      out.problems.push(
        type === undefined ? missingKey([...path, i, "type"], where) : {
          where: where([...path, i, "type"]),
          message: `unknown filter type${quotedWord(type)} (allowed: exact, regex)`,
        },
      );
      return;
    }
    const r = decodeAt<JobFilter>(schema, item, [...path, i], where);
    if (r.value) out.filters.push(r.value);
    out.problems.push(...r.problems);
  });
  return out;
};
