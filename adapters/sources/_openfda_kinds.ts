/**
 * The kinds of record openFDA's drug endpoints answer with, told apart by the fields each one
 * must have: a drug label (`/drug/label`, `set_id`), a Drugs@FDA application (`/drug/drugsfda`,
 * `application_number` with its `products` or `submissions`), a FAERS adverse event report
 * (`/drug/event`, `safetyreportid` and `patient`), and the term/count pairs a `count=` query answers
 * with, which are statistics about documents, not documents.
 *
 * @module
 */

/** A kind of openFDA record. */
export type OpenFdaKind = "label" | "drugsfda" | "event" | "count";

type Json = Readonly<Record<string, unknown>>;

const isObject = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** The key a `count=` result names its value by: `term` for fields, `time` for dates. */
export const countKeyOf = (u: unknown): "term" | "time" | undefined => {
  if (!isObject(u) || !("count" in u)) return undefined;
  const keys = Object.keys(u);
  if (keys.length !== 2) return undefined;
  return "term" in u ? "term" : "time" in u ? "time" : undefined;
};

/**
 * Which kind of openFDA record a value is, by the fields only that kind has; `undefined` when it
 * has none of them. Drugs@FDA applications carry an `openfda` block as labels do, so the
 * application fields are looked at first.
 */
export const openFdaKindOf = (u: unknown): OpenFdaKind | undefined => {
  if (!isObject(u)) return undefined;
  if ("application_number" in u && ("products" in u || "submissions" in u)) return "drugsfda";
  if ("safetyreportid" in u || ("patient" in u && "receivedate" in u)) return "event";
  if ("set_id" in u || "effective_time" in u || "spl_product_data_elements" in u) return "label";
  if (countKeyOf(u) !== undefined) return "count";
  return "openfda" in u ? "label" : undefined;
};

/** The FAERS document key for a `safetyreportid` (`faers-10003300`). */
export const faersKey = (safetyReportId: string): string => `faers-${safetyReportId}`;

/** The field that keys each kind, for messages. */
export const openFdaKeyField: Readonly<Record<Exclude<OpenFdaKind, "count">, string>> = {
  label: "set_id",
  drugsfda: "application_number",
  event: "safetyreportid",
};

/** What a record that is none of the document kinds was expected to be. */
export const openFdaExpected =
  "an openFDA drug label (set_id), Drugs@FDA application (application_number) or FAERS report (safetyreportid)";

/** Why a count response holds no documents. */
export const countRefusal = (key: "term" | "time"): string =>
  `openFDA count response (${key}/count pairs), not a document`;

/** Whether a response `meta` block is openFDA's (disclaimer, terms, paging under `results`). */
export const isOpenFdaMeta = (meta: unknown): boolean =>
  isObject(meta) &&
  ("disclaimer" in meta || "terms" in meta || "last_updated" in meta ||
    (isObject(meta.results) && "skip" in meta.results && "total" in meta.results));
