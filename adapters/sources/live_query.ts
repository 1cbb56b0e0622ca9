/**
 * What a live discovery may be asked, checked with zod before any request: free text (`query`),
 * an API filter (`filter`, where the API has one) or specific keys (`ids`, each in its source's
 * key form), and a `limit`. A query a source cannot answer is `InvalidInput` naming the field.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { InvalidInput } from "../../stages/errors.ts";
import type { SourceQuery } from "../../stages/source_contract.ts";
import { pathOf } from "./_record_shape.ts";

/**
 * What one source's live API accepts.
 *
 * @category models
 */
export interface LiveQuerySpec {
  /** The API's name, for messages ("ClinicalTrials.gov"). */
  readonly api: string;
  /** Whether it takes a `filter` in its own syntax. */
  readonly takesFilter: boolean;
  /** The form of its document keys. */
  readonly idPattern: RegExp;
  /** The key form in words, for messages ("an NCT number, NCT and 8 digits"). */
  readonly idForm: string;
  /** Turns an accepted spelling of a key into the key (`https://openalex.org/W1` → `W1`). */
  readonly normaliseId?: (id: string) => string;
}

/**
 * The largest `limit` a discovery takes: records are held in memory and stored with their jobs.
 *
 * @category constructors
 */
export const maxLiveLimit = 10_000;

/**
 * The `limit` used when none is given: the number of `ids`, else this.
 *
 * @category constructors
 */
export const defaultLiveLimit = 20;

const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max);

const schemaFor = (spec: LiveQuerySpec) =>
  z.strictObject({
    query: text(2000).optional(),
    ids: z.array(text(200)).min(1, "must list at least one key").max(maxLiveLimit).optional(),
    filter: text(4000).optional(),
    limit: z.number().int().min(1).max(maxLiveLimit),
  }).superRefine((q, ctx) => {
    const issue = (path: ReadonlyArray<string | number>, message: string) =>
      ctx.addIssue({ code: "custom", path: [...path], message });
    if (q.filter !== undefined && !spec.takesFilter) {
      issue(["filter"], `${spec.api} takes no filter; use query or ids`);
    }
    if (q.ids !== undefined && (q.query !== undefined || q.filter !== undefined)) {
      issue(["ids"], "ids cannot be combined with query or filter");
    }
    if (q.ids === undefined && q.query === undefined && q.filter === undefined) {
      issue([], "give query, ids or filter");
    }
    const seen = new Set<string>();
    (q.ids ?? []).forEach((id, i) => {
      const key = spec.normaliseId?.(id) ?? id;
      if (!spec.idPattern.test(key)) issue(["ids", i], `expected ${spec.idForm}, received "${id}"`);
      else if (seen.has(key)) issue(["ids", i], `${key} is listed twice`);
      seen.add(key);
    });
    if (q.ids !== undefined && q.ids.length > q.limit) {
      issue(["limit"], `${q.limit} is fewer than the ${q.ids.length} ids given`);
    }
  });

/**
 * The problems of a query for a source, one line each naming the field (empty when it is fine).
 *
 * @example
 * ```ts
 * import { sourceQueryProblems } from "./live_query.ts";
 *
 * const spec = { api: "ClinicalTrials.gov", takesFilter: false, idPattern: /^NCT\d{8}$/, idForm: "an NCT number" };
 * sourceQueryProblems(spec, { ids: ["NCT1"], limit: 5 });
 * // ['ids[0]: expected an NCT number, received "NCT1"']
 * ```
 *
 * @category combinators
 */
export const sourceQueryProblems = (
  spec: LiveQuerySpec,
  query: unknown,
): ReadonlyArray<string> => {
  const checked = schemaFor(spec).safeParse(query);
  return checked.success
    ? []
    : checked.error.issues.map((i) =>
      `${i.path.length === 0 ? "query" : pathOf(i.path)}: ${i.message}`
    );
};

/**
 * The query with keys normalised, or `InvalidInput` naming each bad field.
 *
 * @category combinators
 */
export const checkSourceQuery = (
  spec: LiveQuerySpec,
  query: SourceQuery,
): Effect.Effect<SourceQuery, InvalidInput> => {
  const problems = sourceQueryProblems(spec, query);
  if (problems.length > 0) {
    return Effect.fail(
      new InvalidInput({
        message: `${spec.api} discovery: ${problems.join("; ")}`,
        path: "query",
      }),
    );
  }
  const trimmed = (s: string | undefined) => s?.trim();
  return Effect.succeed({
    limit: query.limit,
    ...(query.query === undefined ? {} : { query: trimmed(query.query) }),
    ...(query.filter === undefined ? {} : { filter: trimmed(query.filter) }),
    ...(query.ids === undefined
      ? {}
      : { ids: query.ids.map((id) => spec.normaliseId?.(id.trim()) ?? id.trim()) }),
  });
};
