/**
 * Finds the records to ingest in recorded response files: walks files and folders, recognises each
 * file's source from its shape, and lists one ingest request per record (one per study of a
 * ClinicalTrials.gov page, per work of an OpenAlex page, per label of an openFDA response).
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

const walk = async (path: string): Promise<ReadonlyArray<string>> => {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((entry) => !entry.name.startsWith("."))
      .map((entry): Promise<ReadonlyArray<string>> => {
        const child = join(path, entry.name);
        if (entry.isDirectory()) return walk(child);
        return Promise.resolve(entry.name.toLowerCase().endsWith(".json") ? [child] : []);
      }),
  );
  return nested.flat();
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
  forced?: SourceName,
  catalog?: SourceCatalog,
): Promise<ReadonlyArray<Discovered>> => {
  const fallback = forced ?? guessSource(file) ?? "clinicaltrials";
  const read = await Effect.runPromise(Effect.result(readJsonFile(file)));
  if (Result.isFailure(read)) return [wholeFile(file, fallback, read.failure.message)];
  const own = userShape(read.success, catalog, forced);
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
 * request per record, keyed by NCT id, OpenAlex work id or openFDA `set_id`. A key found twice is
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
    for (const discovered of await discoverFile(file, options.source, options.sources)) {
      const key = `${discovered.request.source}:${discovered.request.docKey}`;
      if (seen.has(key)) continue;
      seen.add(key);
      found.push(discovered);
    }
  }
  return found;
};
