/**
 * Record files as a hostile or broken upstream would send them, made from the recorded records:
 * cut short, a field of the wrong type, an array where an object belongs, a NUL or a lone
 * surrogate in a string or key, nesting thousands of levels deep, a string past the length limit,
 * bytes that are not UTF-8, a file of NUL bytes. Beside them, valid records (some with a byte
 * order mark). Every file holds one document with a key no other file uses, so each job maps back
 * to its file, and each hostile file says what its failure message must name.
 *
 * Shared by the property test (`tests/cli/poison_input.test.ts`) and the soak run
 * (`deno task fuzz`).
 */
import { resolve } from "node:path";
import * as fc from "fast-check";
import { defaultInputLimits } from "../adapters/sources/input_limits.ts";

/** A record file to write, and what a run must make of it. */
export interface RecordFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly expect:
    | { readonly kind: "valid"; readonly docId: string }
    | {
      readonly kind: "hostile";
      readonly mutation: string;
      /** Text the failed job's message must hold, after the file's path. */
      readonly mark: string;
    };
}

type Json = unknown;
type Segment = string | number;

interface Base {
  readonly name: string;
  readonly source: "clinicaltrials" | "openalex" | "openfda";
  readonly record: Json;
  /** Gives the record the unique key `n`; returns its document id. */
  readonly rekey: (record: Record<string, Json>, n: number) => string;
  /** A field the parser checks, its value replaced by a number. */
  readonly typed: ReadonlyArray<Segment>;
  /** An object the parser reads, replaced by an array. */
  readonly object: ReadonlyArray<Segment>;
}

const repoRoot = new URL("..", import.meta.url).pathname;
const load = (path: string): Json => JSON.parse(Deno.readTextFileSync(resolve(repoRoot, path)));

const ctRekey = (record: Record<string, Json>, n: number): string => {
  const nctId = `NCT9${String(n).padStart(7, "0")}`;
  const section = record.protocolSection as Record<string, Record<string, Json>>;
  section.identificationModule.nctId = nctId;
  return `clinicaltrials:${nctId}`;
};

const bases: ReadonlyArray<Base> = [
  ...["NCT00763412", "NCT03630471", "NCT06171568"].map((id): Base => ({
    name: id,
    source: "clinicaltrials",
    record: load(`data/records/clinicaltrials/${id}.json`),
    rekey: ctRekey,
    typed: ["protocolSection", "identificationModule", "briefTitle"],
    object: ["protocolSection", "identificationModule"],
  })),
  ...[
    "data/records/openalex/W2741809807.json",
    "data/records/openalex/test_journal_article.response-0.json",
  ].map((path): Base => ({
    name: "openalex",
    source: "openalex",
    record: load(path),
    rekey: (record, n) => {
      record.id = `https://openalex.org/W9${n}`;
      return `openalex:W9${n}`;
    },
    typed: ["title"],
    object: ["open_access"],
  })),
  ...["10003300", "10003332"].map((id): Base => ({
    name: `faers_${id}`,
    source: "openfda",
    record: load(`tests/fixtures/openfda/faers_event_${id}.json`),
    rekey: (record, n) => {
      record.safetyreportid = `9${n}`;
      return `openfda:faers-9${n}`;
    },
    typed: ["patient", "reaction"],
    object: ["patient"],
  })),
];

/** Renders path segments as the kit's messages do: `a.b[2].c`. */
const pathText = (segments: ReadonlyArray<Segment>): string =>
  segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");

// Every string value in a record, by path; collected from a work list (records nest shallowly,
// but the helper is used on hostile ones too).
const stringLeaves = (record: Json): ReadonlyArray<ReadonlyArray<Segment>> => {
  const found: Array<ReadonlyArray<Segment>> = [];
  const work: Array<readonly [Json, ReadonlyArray<Segment>]> = [[record, []]];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const [value, path] = item;
    if (typeof value === "string") found.push(path);
    else if (Array.isArray(value)) value.forEach((v, i) => work.push([v, [...path, i]]));
    else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) work.push([v, [...path, k]]);
    }
  }
  return found.sort((a, b) => pathText(a).localeCompare(pathText(b)));
};

const objectPaths = (record: Json): ReadonlyArray<ReadonlyArray<Segment>> => {
  const found: Array<ReadonlyArray<Segment>> = [];
  const work: Array<readonly [Json, ReadonlyArray<Segment>]> = [[record, []]];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const [value, path] = item;
    if (value === null || typeof value !== "object") continue;
    if (!Array.isArray(value) && path.length > 0 && Object.keys(value).length > 0) found.push(path);
    const entries = Array.isArray(value)
      ? value.map((v, i) => [i, v] as const)
      : Object.entries(value);
    for (const [k, v] of entries) work.push([v, [...path, k]]);
  }
  return found.sort((a, b) => pathText(a).localeCompare(pathText(b)));
};

const update = (record: Json, path: ReadonlyArray<Segment>, change: (v: Json) => Json): void => {
  let parent = record as Record<Segment, Json>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<Segment, Json>;
  const last = path[path.length - 1];
  parent[last] = change(parent[last]);
};

const encoder = new TextEncoder();
const text = (value: Json): string => JSON.stringify(value, null, 1);

/** What a mutation makes of a re-keyed record: the file's bytes and the mark its error holds. */
type Mutate = (record: Json, base: Base) => { readonly bytes: Uint8Array; readonly mark: string };

const nested = (depth: number, objects: boolean): string =>
  objects
    ? `${'{"a":'.repeat(depth)}0${"}".repeat(depth)}`
    : `${"[".repeat(depth)}${"]".repeat(depth)}`;

const limit = defaultInputLimits;

const mutations: ReadonlyArray<readonly [string, fc.Arbitrary<Mutate>]> = [
  [
    "truncated",
    fc.double({ min: 0.05, max: 0.95, noNaN: true }).map((at): Mutate => (record) => {
      const full = text(record);
      return {
        bytes: encoder.encode(full.slice(0, Math.floor(full.lastIndexOf("}") * at))),
        mark: "invalid JSON",
      };
    }),
  ],
  [
    "wrong type",
    fc.constant((record: Json, base: Base) => {
      update(record, base.typed, () => 42);
      const expected = base.typed[base.typed.length - 1] === "reaction" ? "array" : "string";
      return {
        bytes: encoder.encode(text(record)),
        mark: `${pathText(base.typed)}: expected ${expected}, received number`,
      };
    }),
  ],
  [
    "array for object",
    fc.constant((record: Json, base: Base) => {
      update(record, base.object, (v) => [v]);
      return {
        bytes: encoder.encode(text(record)),
        mark: `${pathText(base.object)}: expected object, received array`,
      };
    }),
  ],
  [
    "NUL in a string",
    fc.tuple(fc.nat(), fc.nat()).map(([which, at]): Mutate => (record) => {
      const leaves = stringLeaves(record);
      const path = leaves[which % leaves.length];
      let index = 0;
      update(record, path, (v) => {
        const s = v as string;
        index = at % (s.length + 1);
        return `${s.slice(0, index)}\u0000${s.slice(index)}`;
      });
      return {
        bytes: encoder.encode(text(record)),
        mark: `${pathText(path)}: a string holding a NUL character (U+0000) at character ${index}`,
      };
    }),
  ],
  [
    "NUL in a key",
    fc.nat().map((which): Mutate => (record) => {
      const objects = objectPaths(record);
      const path = objects[which % objects.length];
      update(record, path, (v) => ({ ...(v as object), "bad\u0000key": 1 }));
      return {
        bytes: encoder.encode(text(record)),
        mark: `${pathText(path)}: a key holding a NUL character`,
      };
    }),
  ],
  [
    "lone surrogate",
    fc.nat().map((which): Mutate => (record) => {
      const leaves = stringLeaves(record);
      const path = leaves[which % leaves.length];
      update(record, path, (v) => `\uD800x${v as string}`);
      return {
        bytes: encoder.encode(text(record)),
        mark: `${pathText(path)}: a string holding a lone surrogate (U+D800) at character 0`,
      };
    }),
  ],
  [
    "deep nesting",
    fc.tuple(fc.integer({ min: 65, max: 20_000 }), fc.boolean()).map(
      ([depth, objects]): Mutate => (record) => {
        const full = text(record);
        const end = full.lastIndexOf("}");
        const bytes = encoder.encode(`${full.slice(0, end)}, "deep": ${nested(depth, objects)}}`);
        return { bytes, mark: "nested 65 levels deep, deeper than the limit of 64 (max_depth)" };
      },
    ),
  ],
  [
    "huge string",
    fc.nat().map((which): Mutate => (record) => {
      const leaves = stringLeaves(record);
      const path = leaves[which % leaves.length];
      update(record, path, () => "y".repeat(limit.maxStringLength + 1));
      return {
        bytes: encoder.encode(text(record)),
        mark: `${pathText(path)}: a string of ${
          limit.maxStringLength + 1
        } characters, longer than the limit`,
      };
    }),
  ],
  [
    "invalid UTF-8",
    fc.nat().map((which): Mutate => (record) => {
      const full = text(record);
      const starts = [...full.matchAll(/": "/g)].map((m) => m.index + 4);
      const at = starts[which % starts.length];
      const head = encoder.encode(full.slice(0, at));
      const bytes = new Uint8Array([...head, 0xff, ...encoder.encode(full.slice(at))]);
      return { bytes, mark: `byte ${head.length}: invalid UTF-8 (0xFF` };
    }),
  ],
  [
    "NUL bytes",
    fc.integer({ min: 1, max: 300 }).map((size): Mutate => () => ({
      bytes: new Uint8Array(size),
      mark: "1:1: invalid JSON: Unexpected token '\\u0000'",
    })),
  ],
];

/** The mutations, by name, for reports. */
export const mutationNames: ReadonlyArray<string> = mutations.map(([name]) => name);

let counter = 0;

/** One record file: valid (sometimes with a byte order mark) or hostile. */
const recordFile: fc.Arbitrary<RecordFile> = fc.tuple(
  fc.nat({ max: bases.length - 1 }),
  fc.oneof(
    fc.constant(undefined),
    fc.boolean().map((bom) => ({ bom })),
    ...mutations.map(([name, arbitrary]) => arbitrary.map((mutate) => ({ name, mutate }))),
  ),
).map(([which, kind]): RecordFile => {
  const base = bases[which];
  const record = structuredClone(base.record) as Record<string, Json>;
  counter += 1;
  const docId = base.rekey(record, counter);
  const name = `${String(counter).padStart(6, "0")}_${base.name}.json`;
  if (kind === undefined || "bom" in kind) {
    const body = text(record);
    const withBom = kind !== undefined && kind.bom;
    return {
      name,
      bytes: encoder.encode(withBom ? `\uFEFF${body}` : body),
      expect: { kind: "valid", docId },
    };
  }
  const { bytes, mark } = kind.mutate(record, base);
  return { name, bytes, expect: { kind: "hostile", mutation: kind.name, mark } };
});

/**
 * A batch of record files: at least one valid and one hostile, so every run checks both.
 *
 * @param size how many files, at most
 */
export const recordBatch = (size: number): fc.Arbitrary<ReadonlyArray<RecordFile>> =>
  fc.array(recordFile, { minLength: 2, maxLength: size }).filter((files) =>
    files.some((f) => f.expect.kind === "valid") && files.some((f) => f.expect.kind === "hostile")
  );
