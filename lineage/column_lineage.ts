/**
 * Column-level lineage a stage declares: for each field it writes, the input fields the value is
 * derived from. A stage definition may carry it as `columnLineage`; the runner passes it on with
 * the attempt, and the stage's COMPLETE event records it as the `columnLineage` facet of every
 * output, each input field looked up in every dataset the attempt read.
 *
 * @example
 * ```ts
 * import { columnLineageOf } from "./column_lineage.ts";
 *
 * const stage = { type: "Parse", columnLineage: { title: ["briefTitle", "officialTitle"] } };
 * console.log(columnLineageOf(stage)); // { columnLineage: { title: ["briefTitle", "officialTitle"] } }
 * ```
 *
 * @module
 */

/**
 * Output field → the input fields it is derived from.
 *
 * @category models
 */
export type ColumnLineageSpec = Readonly<Record<string, ReadonlyArray<string>>>;

const isSpec = (value: unknown): value is ColumnLineageSpec =>
  value !== null && typeof value === "object" && !Array.isArray(value) &&
  Object.values(value).every((from) =>
    Array.isArray(from) && from.every((f) => typeof f === "string" && f !== "")
  );

/**
 * The column lineage a stage definition declares (its `columnLineage` field), ready to spread
 * into a stage attempt; nothing when it declares none or something of another shape.
 *
 * @category constructors
 */
export const columnLineageOf = (
  definition: object,
): { readonly columnLineage?: ColumnLineageSpec } => {
  const declared = (definition as { columnLineage?: unknown }).columnLineage;
  return isSpec(declared) && Object.keys(declared).length > 0 ? { columnLineage: declared } : {};
};
