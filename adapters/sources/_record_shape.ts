/**
 * Recognises which source a recorded response file came from by its shape, and where its records
 * sit inside it (JSON pointers). Shared by discovery and the ingest stage so both agree on what a
 * file holds.
 *
 * A file is only taken for a source when it has that source's required fields: a list response
 * needs its source's envelope or at least one record with the source's key field, so an openFDA
 * count response is never read as an OpenAlex page. Every check here reads a fixed handful of
 * paths, never walks the file, so any nesting is safe.
 *
 * @module
 */
import type { SourceName } from "../../stages/ir.ts";
import {
  countKeyOf,
  countRefusal,
  faersKey,
  isOpenFdaMeta,
  openFdaExpected,
  openFdaKindOf,
} from "./_openfda_kinds.ts";
import { displayText, firstUnstorableChar } from "../../stages/storable_text.ts";

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
  /**
   * Why a response of this source holds no documents at all (an openFDA count response); its
   * `records` are then empty.
   */
  readonly refusal?: string;
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

/**
 * Renders path segments as `a.b[2].c`; numeric segments become indexes. Keys come from the input,
 * so control characters and lone surrogates are escaped and long keys shortened: a path is quoted
 * in stored messages.
 */
export const pathOf = (segments: ReadonlyArray<PropertyKey>): string => {
  let path = "";
  for (const segment of segments) {
    const text = String(segment);
    if (typeof segment === "number" || /^\d+$/.test(text)) path += `[${text}]`;
    else path += path === "" ? displayText(text, 60) : `.${displayText(text, 60)}`;
  }
  return path;
};

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

/** A record's key, or what is wrong: `at` is the field's path inside the record. */
type KeyRead =
  | { readonly key: string }
  | { readonly problem: string; readonly at: ReadonlyArray<string> };

interface SourceRules {
  readonly source: SourceName;
  readonly isSingle: (value: Json) => boolean;
  /** The property holding the records of a list response, when the value is one. */
  readonly listKey: (value: Json) => string | undefined;
  /** Why a response of this source holds no documents, when it is such a response. */
  readonly refusal?: (value: Json) => string | undefined;
  /** Reads a record's key, or says why it cannot (relative to the record). */
  readonly readKey: (record: unknown) => KeyRead;
}

/** Document keys become job ids and ledger rows: short, and text the store can hold. */
export const maxKeyLength = 200;

/**
 * Why a document key read from a record cannot be one (too long, or text the store cannot hold),
 * or `undefined` when it can.
 */
export const keyProblem = (key: string, expected: string): string | undefined =>
  key.length > maxKeyLength || firstUnstorableChar(key) !== undefined
    ? `expected ${expected} of at most ${maxKeyLength} characters the store can hold, ` +
      `received "${displayText(key, 40)}"`
    : undefined;

const readString = (
  record: unknown,
  path: ReadonlyArray<string>,
  accept: (s: string) => string | undefined,
  expected: string,
): KeyRead => {
  let current: unknown = record;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  const key = typeof current === "string" ? accept(current) : undefined;
  if (key === undefined) {
    return { at: path, problem: `expected ${expected}, received ${describeValue(current)}` };
  }
  const problem = keyProblem(key, expected);
  return problem === undefined ? { key } : { at: path, problem };
};

const nonEmpty = (s: string): string | undefined => (s.trim() === "" ? undefined : s.trim());
const openAlexWorkPrefix = "https://openalex.org/";
const openAlexWorkId = /^https:\/\/openalex\.org\/W\d+$/;

const readOpenFdaKey = (record: unknown): KeyRead => {
  switch (openFdaKindOf(record)) {
    case "label":
      return readString(record, ["set_id"], nonEmpty, "string");
    case "drugsfda":
      return readString(record, ["application_number"], nonEmpty, "string");
    case "event": {
      const read = readString(record, ["safetyreportid"], nonEmpty, "string");
      return "key" in read ? { key: faersKey(read.key) } : read;
    }
    case "count":
      return {
        at: [],
        problem: `an openFDA count result (${countKeyOf(record)}/count pair), not a document`,
      };
    default:
      return { at: [], problem: `expected ${openFdaExpected}, received ${describeValue(record)}` };
  }
};

const isOpenFdaDocument = (u: unknown): boolean => {
  const kind = openFdaKindOf(u);
  return kind !== undefined && kind !== "count";
};

// openFDA answers a `count=` query with `results: [{term, count}, …]` (or `time` for dates).
const openFdaCountRefusal = (value: Json): string | undefined => {
  if (!Array.isArray(value.results) || value.results.length === 0) return undefined;
  const key = countKeyOf(value.results[0]);
  return key !== undefined && value.results.every((r) => countKeyOf(r) === key)
    ? countRefusal(key)
    : undefined;
};

const isOpenAlexMeta = (meta: unknown): boolean =>
  isObject(meta) && typeof meta.count === "number" &&
  ("per_page" in meta || "db_response_time_ms" in meta);

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
    isSingle: (value) => {
      const kind = openFdaKindOf(value);
      return (kind === "label" && typeof value.set_id === "string") ||
        (kind === "drugsfda" && typeof value.application_number === "string") ||
        (kind === "event" && typeof value.safetyreportid === "string");
    },
    listKey: (value) =>
      Array.isArray(value.results) &&
        (isOpenFdaMeta(value.meta) || value.results.some(isOpenFdaDocument))
        ? "results"
        : undefined,
    refusal: openFdaCountRefusal,
    readKey: readOpenFdaKey,
  },
  {
    source: "openalex",
    isSingle: (value) =>
      typeof value.id === "string" && value.id.startsWith(`${openAlexWorkPrefix}W`),
    listKey: (value) =>
      Array.isArray(value.results) && isObject(value.meta) &&
        (isOpenAlexMeta(value.meta) ||
          value.results.some((r) =>
            isObject(r) && typeof r.id === "string" && openAlexWorkId.test(r.id)
          ))
        ? "results"
        : undefined,
    readKey: (record) =>
      readString(
        record,
        ["id"],
        (s) => (openAlexWorkId.test(s) ? s.slice(openAlexWorkPrefix.length) : undefined),
        "an OpenAlex work id (https://openalex.org/W…)",
      ),
  },
];

const refOf = (record: unknown, pointer: string, rule: SourceRules): RecordRef => {
  const read = rule.readKey(record);
  if ("key" in read) return { pointer, docKey: read.key, problem: undefined };
  const where = pathOf([...pointerSegments(pointer), ...read.at]);
  return {
    pointer,
    docKey: undefined,
    problem: where === "" ? read.problem : `${where}: ${read.problem}`,
  };
};

const shapeFor = (value: Json, rule: SourceRules): FileShape | undefined => {
  if (rule.isSingle(value)) {
    return { source: rule.source, kind: "single", records: [refOf(value, "", rule)] };
  }
  const key = rule.listKey(value);
  if (key === undefined) return undefined;
  const refusal = rule.refusal?.(value);
  if (refusal !== undefined) return { source: rule.source, kind: "list", records: [], refusal };
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
export const describeTopLevel = (value: unknown): string => {
  if (!isObject(value)) return `a JSON ${describeValue(value)}`;
  const keys = Object.keys(value).slice(0, 8).map((k) => displayText(k, 40));
  return `an object with keys ${keys.join(", ") || "(none)"}`;
};
