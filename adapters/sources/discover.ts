/**
 * Finds the records to ingest in recorded response files: walks files and folders, recognises each
 * file's source from its shape, and lists one ingest request per record (one per study of a
 * ClinicalTrials.gov page, per work of an OpenAlex page, per label, Drugs@FDA application or FAERS
 * report of an openFDA response).
 *
 * Bad input never stops discovery. A record whose id cannot be read still gets a request (keyed
 * `<file>#<index>`) so its job exists and fails alone when parsed; a file that is not JSON or
 * matches no source becomes one request keyed by its path, which fails at ingest with the reason.
 *
 * @module
 */
import { detectPdfShape } from "./pdf_sources.ts";
import { readdir, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { cwd } from "node:process";
import { Effect, Result } from "effect";
import {
  type IngestRequest,
  recordFormatOf,
  type SourceName,
  sourceNames,
} from "../../stages/ir.ts";
import { describeTopLevel, detectShape, type FileShape } from "./_record_shape.ts";
import type { SourceCatalog } from "../../stages/source_contract.ts";
import { readJsonFile } from "./file_ingest.ts";
import type { InputLimitsOptions } from "./input_limits.ts";

/** One record found, with the reason it will fail when discovery already knows it. */
export type Discovered =
  | { readonly request: IngestRequest }
  | { readonly request: IngestRequest; readonly problem: string };

/** Options of {@link discoverRecords}. */
export interface DiscoverOptions {
  /** Read every file as this source instead of recognising it. */
  readonly source?: SourceName;
  /**
   * The sources the run knows: those beyond the built-in ones recognise their files with their
   * own `detect`. @default the built-in sources only
   */
  readonly sources?: SourceCatalog;
  /**
   * The limits files are read under (the ingest stage's, so both refuse the same files).
   * @default defaultInputLimits
   */
  readonly limits?: InputLimitsOptions;
}

const builtin = new Set<string>(sourceNames);

// A registered (non built-in) source that recognises the value, or the one forced.
const userShape = (
  value: unknown,
  catalog: SourceCatalog | undefined,
  forced: SourceName | undefined,
): FileShape | undefined => {
  if (catalog === undefined) return undefined;
  const names = forced === undefined ? catalog.names.filter((n) => !builtin.has(n)) : [forced];
  for (const name of names) {
    const source = catalog.get(name);
    if (source === undefined || builtin.has(name) || source.detect === undefined) continue;
    const found = source.detect(value);
    if (found !== undefined) {
      return {
        source: name,
        kind: found.kind,
        records: found.records.map((r) => ({
          pointer: r.pointer,
          docKey: r.docKey,
          problem: r.problem,
        })),
      };
    }
  }
  return undefined;
};

const sourceHints: ReadonlyArray<readonly [RegExp, SourceName]> = [
  [/clinicaltrials|ctgov|^nct\d/, "clinicaltrials"],
  [/openalex[-_]pdf/, "openalex-pdf"],
  [/openalex|^w\d+\.json$/, "openalex"],
  [/openfda|^fda$|druglabel|^label_/, "openfda"],
  [/europepmc|^pmc/, "europepmc"],
  [/unpaywall/, "unpaywall"],
];

/** The source a file's path suggests (innermost name first), for files whose content cannot tell. */
export const guessSource = (file: string): SourceName | undefined => {
  const segments = file.toLowerCase().split(/[\\/]/).reverse();
  for (const segment of segments) {
    const hint = sourceHints.find(([pattern]) => pattern.test(segment));
    if (hint !== undefined) return hint[1];
  }
  return undefined;
};

// The source the innermost folder naming one names (file names do not count: `W1.json` says
// OpenAlex, not which use of it).
const folderSource = (file: string): SourceName | undefined => {
  const folders = file.toLowerCase().split(/[\\/]/).slice(0, -1).reverse();
  for (const folder of folders) {
    const hint = sourceHints.find(([pattern]) => pattern.test(folder));
    if (hint !== undefined) return hint[1];
  }
  return undefined;
};

/** A file's path as shown in keys and messages: relative to the working directory when inside it. */
export const displayPath = (file: string): string => {
  const absolute = resolve(file);
  const rel = relative(cwd(), absolute);
  const shown = rel === "" || rel.startsWith("..") || isAbsolute(rel) ? absolute : rel;
  return shown.split(sep).join("/");
};

// Folders are visited from a work list, not by recursion, so a deep tree costs no stack.
const walk = async (path: string): Promise<ReadonlyArray<string>> => {
  if (!(await stat(path)).isDirectory()) return [path];
  const files: Array<string> = [];
  const folders: Array<string> = [path];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const child = join(folder, entry.name);
      if (entry.isDirectory()) folders.push(child);
      else if (entry.name.toLowerCase().endsWith(".json")) files.push(child);
    }
  }
  return files;
};

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const filesOf = async (path: string): Promise<ReadonlyArray<string>> => {
  try {
    return (await walk(path)).map(displayPath).sort(byCodePoint);
  } catch {
    // Unreadable paths still become a request, so the run reports them as a failed job.
    return [displayPath(path)];
  }
};

const wholeFile = (file: string, source: SourceName, problem: string): Discovered => ({
  request: { source, docKey: file, location: { kind: "file", file, pointer: "" } },
  problem,
});

const fromShape = (file: string, shape: FileShape): ReadonlyArray<Discovered> =>
  shape.records.map((ref, index) => {
    const request: IngestRequest = {
      source: shape.source,
      docKey: ref.docKey ?? `${file}#${index}`,
      location: { kind: "file", file, pointer: ref.pointer },
    };
    return ref.problem === undefined
      ? { request }
      : { request, problem: `${file}: ${ref.problem}` };
  });

const discoverFile = async (
  file: string,
  options: DiscoverOptions,
): Promise<ReadonlyArray<Discovered>> => {
  const forced = options.source;
  const fallback = forced ?? guessSource(file) ?? "clinicaltrials";
  const read = await Effect.runPromise(Effect.result(readJsonFile(file, options.limits)));
  if (Result.isFailure(read)) return [wholeFile(file, fallback, read.failure.message)];
  const own = userShape(read.success, options.sources, forced);
  if (own !== undefined) return fromShape(file, own);
  const format = forced && recordFormatOf(forced);
  const shape = forced !== undefined && !builtin.has(forced)
    ? undefined
    : detectShape(read.success, format) ?? detectPdfShape(read.success, format);
  if (shape !== undefined) {
    // Sources that share a record format (openalex, openalex-pdf) are told apart by `--source`
    // or the innermost folder named for one of them.
    const named = folderSource(file);
    const source = forced ??
      (named !== undefined && recordFormatOf(named) === shape.source ? named : shape.source);
    // A response that holds no documents (an openFDA count) is one request, failed with the reason.
    if (shape.refusal !== undefined) return [wholeFile(file, source, `${file}: ${shape.refusal}`)];
    return fromShape(file, { ...shape, source });
  }
  const expected = forced === undefined ? "a known source" : `source "${forced}"`;
  return [
    wholeFile(
      file,
      fallback,
      `${file}: not a record or list response of ${expected} (found ${
        describeTopLevel(read.success)
      })`,
    ),
  ];
};

/**
 * Lists the records in the given files and folders (`.json` files, sorted by path), one ingest
 * request per record, keyed by NCT id, OpenAlex work id, openFDA `set_id`, Drugs@FDA
 * `application_number` or `faers-<safetyreportid>`. A key found twice is
 * kept once (the first, in path order). Never rejects: problems travel with their requests.
 *
 * @param paths files or folders to read
 * @param options `source` forces every file to be read as that source
 * @returns the discovered requests, in file order then record order
 * @example
 * ```ts
 * import { discoverRecords } from "./discover.ts";
 * const found = await discoverRecords(["data/records"]);
 * console.log(found.map((d) => d.request.docKey));
 * ```
 * @category constructors
 */
export const discoverRecords = async (
  paths: ReadonlyArray<string>,
  options: DiscoverOptions = {},
): Promise<ReadonlyArray<Discovered>> => {
  const files = [...new Set((await Promise.all(paths.map(filesOf))).flat())];
  const found: Array<Discovered> = [];
  const seen = new Set<string>();
  for (const file of files) {
    for (const discovered of await discoverFile(file, options)) {
      const key = `${discovered.request.source}:${discovered.request.docKey}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push(discovered);
    }
  }
  return found;
};
