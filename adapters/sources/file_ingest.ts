/**
 * The Ingest stage for recorded API responses on disk: reads the file a request points at, parses
 * it, and picks out the one record its JSON pointer names.
 *
 * Parsed files are kept in a small in-process cache keyed by path, modification time and size, so a
 * list response holding five records is read and parsed once per run, not five times.
 *
 * @module
 */
import { detectPdfShape } from "./pdf_sources.ts";
import { readFile, stat } from "node:fs/promises";
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { rawPayloadSchema } from "../../stages/ir_schemas.ts";
import { InvalidInput, Permanent } from "../../stages/errors.ts";
import { type IngestRequest, type RawPayload, recordFormatOf } from "../../stages/ir.ts";
import { describeTopLevel, detectShape, pointerToPath, resolvePointer } from "./_record_shape.ts";

/** A parsed JSON file, or why it could not be read or parsed. */
export type ReadOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: InvalidInput | Permanent };

const cacheLimit = 64;
const cache = new Map<string, { readonly stamp: string; readonly outcome: Promise<ReadOutcome> }>();

/** 1-based line and column of a character offset in a text. */
export const lineColumnAt = (
  text: string,
  offset: number,
): { readonly line: number; readonly column: number } => {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lastBreak = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: before.length - lastBreak };
};

// V8 reports no position for some errors (a trailing comma gives only "Unexpected token"), so
// the offset comes from a small scan that stops where the JSON grammar is first broken.
const jsonNumber = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const jsonLiteral = /true|false|null/y;

/** The offset of the first JSON syntax error in a text, or `undefined` when it is valid JSON. */
export const jsonErrorOffset = (text: string): number | undefined => {
  let i = 0;
  const broken = (): never => {
    throw i;
  };
  const skipSpace = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i])) i += 1;
  };
  const expect = (c: string): void => {
    skipSpace();
    if (text[i] !== c) broken();
    i += 1;
  };
  const string = (): void => {
    expect('"');
    while (i < text.length && text[i] !== '"') {
      if (text[i] < " ") broken();
      if (text[i] !== "\\") i += 1;
      else if (/^u[0-9a-fA-F]{4}/.test(text.slice(i + 1, i + 6))) i += 6;
      else if ('"\\/bfnrt'.includes(text[i + 1] ?? "x")) i += 2;
      else broken();
    }
    expect('"');
  };
  const token = (pattern: RegExp): void => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) broken();
    i = pattern.lastIndex;
  };
  const sequence = (close: string, item: () => void): void => {
    i += 1;
    skipSpace();
    if (text[i] === close) {
      i += 1;
      return;
    }
    for (;;) {
      item();
      skipSpace();
      if (text[i] === close) {
        i += 1;
        return;
      }
      expect(",");
    }
  };
  const member = (): void => {
    string();
    expect(":");
    value();
  };
  const value = (): void => {
    skipSpace();
    const c = text[i];
    if (c === "{") sequence("}", member);
    else if (c === "[") sequence("]", value);
    else if (c === '"') string();
    else token(c === "-" || (c >= "0" && c <= "9") ? jsonNumber : jsonLiteral);
  };
  try {
    value();
    skipSpace();
    if (i < text.length) broken();
    return undefined;
  } catch (offset) {
    return Math.min(offset as number, text.length);
  }
};

const syntaxReason = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error))
    .replace(/ in JSON at position \d+.*$/s, "")
    // V8 appends the offending text, sometimes elided with "...": the position says it better.
    .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, "");

/** Parses JSON text, failing with `file:line:column: invalid JSON: …` on a syntax error. */
export const parseJsonText = (file: string, text: string): ReadOutcome => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const { line, column } = lineColumnAt(text, jsonErrorOffset(text) ?? text.length);
    const where = `${file}:${line}:${column}`;
    const message = `${where}: invalid JSON: ${syntaxReason(error)}`;
    return { ok: false, error: new InvalidInput({ message, path: where }) };
  }
};

const readFailure = (file: string, error: unknown): InvalidInput | Permanent => {
  const code = (error as { code?: unknown } | null)?.code;
  const reason = code === "ENOENT"
    ? "no such file"
    : code === "EISDIR"
    ? "is a directory"
    : error instanceof Error
    ? error.message
    : String(error);
  const message = `${file}: cannot read: ${reason}`;
  return code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR"
    ? new InvalidInput({ message, path: file })
    : new Permanent({ message });
};

const readAndParse = async (file: string): Promise<ReadOutcome> => {
  try {
    const text = await readFile(file, "utf8");
    return parseJsonText(file, text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch (error) {
    return { ok: false, error: readFailure(file, error) };
  }
};

const load = async (file: string): Promise<ReadOutcome> => {
  let stamp: string;
  try {
    const info = await stat(file);
    stamp = `${info.mtimeMs}:${info.size}`;
  } catch (error) {
    return { ok: false, error: readFailure(file, error) };
  }
  const hit = cache.get(file);
  if (hit !== undefined && hit.stamp === stamp) return hit.outcome;
  const outcome = readAndParse(file);
  cache.delete(file);
  cache.set(file, { stamp, outcome });
  if (cache.size > cacheLimit) cache.delete(cache.keys().next().value as string);
  return outcome;
};

/**
 * Reads and parses a JSON file through the shared cache. Never throws: unreadable or malformed
 * files fail with `InvalidInput` (or `Permanent` for I/O errors that are not about the input).
 */
export const readJsonFile = (file: string): Effect.Effect<unknown, InvalidInput | Permanent> =>
  Effect.promise(() => load(file)).pipe(
    Effect.flatMap((outcome) =>
      outcome.ok ? Effect.succeed(outcome.value) : Effect.fail(outcome.error)
    ),
  );

const selectRecord = (
  request: IngestRequest,
  file: string,
  pointer: string,
  root: unknown,
): Effect.Effect<unknown, InvalidInput> => {
  if (pointer !== "") {
    const found = resolvePointer(root, pointer);
    const path = pointerToPath(pointer);
    return found === undefined
      ? Effect.fail(new InvalidInput({ message: `${file}: ${path}: no such record`, path }))
      : Effect.succeed(found.value);
  }
  const format = recordFormatOf(request.source);
  const shape = detectShape(root, format) ?? detectPdfShape(root, format);
  if (shape?.kind === "single") return Effect.succeed(root);
  const found = shape === undefined ? describeTopLevel(root) : `a ${request.source} list response`;
  const message = `${file}: not a record of source "${request.source}" (found ${found})`;
  return Effect.fail(new InvalidInput({ message, path: file }));
};

/**
 * Ingest stage for `file` locations: the record at `location.pointer` in `location.file`.
 *
 * @category constructors
 */
export const fileIngestStage: StageDefinition<
  RawPayload,
  Record<string, never>,
  Record<never, never>
> = defineStage({
  type: "Ingest",
  implementation: "file-ingest",
  description: "reads one record from a recorded response file",
  output: rawPayloadSchema,
  run: (_ctx, { request }) => readRecord(request),
});

/**
 * Reads the one record a `file` request names (or hands on an `inline` one).
 *
 * @category constructors
 */
export const readRecord = (
  request: IngestRequest,
): Effect.Effect<RawPayload, InvalidInput | Permanent> => {
  const { location } = request;
  if (location.kind === "inline") {
    return Effect.succeed({
      source: request.source,
      docKey: request.docKey,
      location,
      record: location.record,
    });
  }
  if (location.kind !== "file") {
    return Effect.fail(
      new Permanent({
        message: `${request.docKey}: file ingest cannot read a "${location.kind}" location`,
      }),
    );
  }
  return readJsonFile(location.file).pipe(
    Effect.flatMap((root) => selectRecord(request, location.file, location.pointer, root)),
    Effect.map((record): RawPayload => ({
      source: request.source,
      docKey: request.docKey,
      location,
      record,
    })),
  );
};
