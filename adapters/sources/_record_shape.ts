/**
 * Recognises which source a recorded response file came from by its shape, and where its records
 * sit inside it (JSON pointers). Shared by discovery and the ingest stage so both agree on what a
 * file holds.
 *
 * @module
 */
import type { SourceName } from "../../stages/ir.ts";

/** One record inside a file: its pointer, its document key when readable, or why not. */
export interface RecordRef {
  readonly pointer: string;
  readonly docKey: string | undefined;
  readonly problem: string | undefined;
}

/** What a file holds: the source it belongs to and its records. */
export interface FileShape {
  readonly source: SourceName;
  readonly kind: "single" | "list";
  readonly records: ReadonlyArray<RecordRef>;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** Names a JSON value's type the way the validation messages do ("number", "null", "array" …). */
export const describeValue = (u: unknown): string =>
  u === null ? "null" : Array.isArray(u) ? "array" : typeof u;

/** The reference tokens of a JSON pointer (`/studies/1` → `["studies", "1"]`). */
export const pointerSegments = (pointer: string): ReadonlyArray<string> =>
  pointer === ""
    ? []
    : pointer.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));

/** Turns a JSON pointer (`/studies/1`) into a field path (`studies[1]`). */
export const pointerToPath = (pointer: string): string => pathOf(pointerSegments(pointer));

/** Renders path segments as `a.b[2].c`; numeric segments become indexes. */
export const pathOf = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.reduce<string>((path, segment) => {
    const text = String(segment);
    if (typeof segment === "number" || /^\d+$/.test(text)) return `${path}[${text}]`;
    return path === "" ? text : `${path}.${text}`;
  }, "");

/** The value a JSON pointer names, or `undefined` when the pointer leads nowhere. */
export const resolvePointer = (
  root: unknown,
  pointer: string,
): { readonly value: unknown } | undefined => {
  let current: unknown = root;
  for (const key of pointerSegments(pointer)) {
    if (Array.isArray(current) && /^\d+$/.test(key) && Number(key) < current.length) {
      current = current[Number(key)];
    } else if (isObject(current) && Object.hasOwn(current, key)) {
      current = current[key];
    } else {
      return undefined;
    }
  }
  return { value: current };
};

interface SourceRules {
  readonly source: SourceName;
  readonly isSingle: (value: Json) => boolean;
  /** The property holding the records of a list response, when the value is one. */
  readonly listKey: (value: Json) => string | undefined;
  /** Reads a record's key, or says why it cannot (relative to the record). */
  readonly readKey: (record: unknown) => { readonly key: string } | { readonly problem: string };
}

const readString = (
  record: unknown,
  path: ReadonlyArray<string>,
  accept: (s: string) => string | undefined,
  expected: string,
): { readonly key: string } | { readonly problem: string } => {
  let current: unknown = record;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  const key = typeof current === "string" ? accept(current) : undefined;
  return key === undefined
    ? { problem: `${pathOf(path)}: expected ${expected}, received ${describeValue(current)}` }
    : { key };
};

const nonEmpty = (s: string): string | undefined => (s.trim() === "" ? undefined : s.trim());
const openAlexWorkPrefix = "https://openalex.org/";

const looksLikeFdaLabel = (u: unknown): boolean =>
  isObject(u) && ("openfda" in u || "set_id" in u || "effective_time" in u);

const rules: ReadonlyArray<SourceRules> = [
  {
    source: "clinicaltrials",
    isSingle: (value) => isObject(value.protocolSection),
    listKey: (value) => (Array.isArray(value.studies) ? "studies" : undefined),
    readKey: (record) =>
      readString(record, ["protocolSection", "identificationModule", "nctId"], nonEmpty, "string"),
  },
  {
    source: "openfda",
    isSingle: (value) => typeof value.set_id === "string" && looksLikeFdaLabel(value),
    listKey: (value) =>
      Array.isArray(value.results) &&
        ((isObject(value.meta) && isObject(value.meta.results)) ||
          value.results.some(looksLikeFdaLabel))
        ? "results"
        : undefined,
    readKey: (record) => readString(record, ["set_id"], nonEmpty, "string"),
  },
  {
    source: "openalex",
    isSingle: (value) =>
      typeof value.id === "string" && value.id.startsWith(`${openAlexWorkPrefix}W`),
    listKey: (value) =>
      Array.isArray(value.results) && isObject(value.meta) ? "results" : undefined,
    readKey: (record) =>
      readString(
        record,
        ["id"],
        (s) => (/^https:\/\/openalex\.org\/W\d+$/.test(s)
          ? s.slice(openAlexWorkPrefix.length)
          : undefined),
        "an OpenAlex work id (https://openalex.org/W…)",
      ),
  },
];

const refOf = (record: unknown, pointer: string, rule: SourceRules): RecordRef => {
  const read = rule.readKey(record);
  if ("key" in read) return { pointer, docKey: read.key, problem: undefined };
  const where = pointerToPath(pointer);
  return {
    pointer,
    docKey: undefined,
    problem: where === "" ? read.problem : `${where}.${read.problem}`,
  };
};

const shapeFor = (value: Json, rule: SourceRules): FileShape | undefined => {
  if (rule.isSingle(value)) {
    return { source: rule.source, kind: "single", records: [refOf(value, "", rule)] };
  }
  const key = rule.listKey(value);
  if (key === undefined) return undefined;
  const items = value[key] as ReadonlyArray<unknown>;
  return {
    source: rule.source,
    kind: "list",
    records: items.map((item, i) => refOf(item, `/${key}/${i}`, rule)),
  };
};

/**
 * Recognises a parsed response file: a single record or a list page of ClinicalTrials.gov, OpenAlex
 * or openFDA. With `source`, only that source's shapes are accepted.
 */
export const detectShape = (value: unknown, source?: SourceName): FileShape | undefined => {
  if (!isObject(value)) return undefined;
  for (const rule of rules) {
    if (source !== undefined && rule.source !== source) continue;
    const shape = shapeFor(value, rule);
    if (shape !== undefined) return shape;
  }
  return undefined;
};

/** A short description of a value's top level, for "matches no source" messages. */
export const describeTopLevel = (value: unknown): string =>
  isObject(value)
    ? `an object with keys ${Object.keys(value).slice(0, 8).join(", ") || "(none)"}`
    : `a JSON ${describeValue(value)}`;
