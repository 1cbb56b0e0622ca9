/**
 * The Ingest stage for recorded API responses on disk: reads the file a request points at, parses
 * it, and picks out the one record its JSON pointer names.
 *
 * Before anything of a file becomes a stage output it is held to the {@link InputLimits}: its size
 * is checked before it is read, its bytes must be UTF-8 (a leading byte order mark is dropped), it
 * must parse, and it may hold at most `max_fields` values; the one record a request names must then
 * pass {@link guardRecord} (depth, string length, characters the store cannot hold). Each failure
 * is `InvalidInput` naming the file and the byte offset, line and column, or field path, so it
 * fails that document's job alone and is never retried.
 *
 * Parsed files are kept in a small in-process cache keyed by path, modification time, size and
 * limits, so a list response holding five records is read and parsed once per run, not five times.
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
import { type InputLimits, type InputLimitsOptions, resolveInputLimits } from "./input_limits.ts";
import { checkByteCount, decodeJsonBytes } from "./json_input.ts";
import { guardRecord } from "./record_guard.ts";

/** A parsed JSON file, or why it could not be read or parsed. */
export type ReadOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: InvalidInput | Permanent };

const cacheLimit = 64;
const cache = new Map<string, { readonly stamp: string; readonly outcome: Promise<ReadOutcome> }>();

export { jsonErrorOffset, lineColumnAt } from "./json_syntax.ts";
export { parseJsonText } from "./json_input.ts";

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

const readAndParse = async (
  file: string,
  size: number,
  limits: InputLimits,
): Promise<ReadOutcome> => {
  // Refused before reading: a 10 GB file must not be loaded to find out it is too large.
  const checked = checkByteCount(file, size, limits);
  if (!checked.ok) return checked;
  try {
    return decodeJsonBytes(file, await readFile(file), limits);
  } catch (error) {
    return { ok: false, error: readFailure(file, error) };
  }
};

const load = async (file: string, limits: InputLimits): Promise<ReadOutcome> => {
  let stamp: string;
  let size: number;
  try {
    const info = await stat(file);
    size = info.size;
    stamp = [info.mtimeMs, info.size, ...Object.values(limits)].join(":");
  } catch (error) {
    return { ok: false, error: readFailure(file, error) };
  }
  const hit = cache.get(file);
  if (hit !== undefined && hit.stamp === stamp) return hit.outcome;
  const outcome = readAndParse(file, size, limits);
  cache.delete(file);
  cache.set(file, { stamp, outcome });
  if (cache.size > cacheLimit) cache.delete(cache.keys().next().value as string);
  return outcome;
};

/**
 * Reads and parses a JSON file through the shared cache, under the input limits (defaults for
 * those not given). Never throws: unreadable, oversized or malformed files fail with
 * `InvalidInput` (or `Permanent` for I/O errors that are not about the input).
 */
export const readJsonFile = (
  file: string,
  limits: InputLimitsOptions = {},
): Effect.Effect<unknown, InvalidInput | Permanent> =>
  Effect.promise(() => load(file, resolveInputLimits(limits))).pipe(
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
  if (shape?.refusal !== undefined) {
    return Effect.fail(new InvalidInput({ message: `${file}: ${shape.refusal}`, path: file }));
  }
  if (shape?.kind === "single") return Effect.succeed(root);
  const found = shape === undefined ? describeTopLevel(root) : `a ${request.source} list response`;
  const message = `${file}: not a record of source "${request.source}" (found ${found})`;
  return Effect.fail(new InvalidInput({ message, path: file }));
};

/**
 * Builds the Ingest stage for `file` locations: the record at `location.pointer` in
 * `location.file`, read and checked under the given input limits (defaults for those left out).
 *
 * @example
 * ```ts
 * import { makeFileIngestStage } from "./file_ingest.ts";
 *
 * const stage = makeFileIngestStage({ maxBytes: 8 * 1024 * 1024 });
 * console.log(stage.implementation); // "file-ingest"
 * ```
 *
 * @throws {RangeError} when a limit is not a positive integer.
 * @category constructors
 */
export const makeFileIngestStage = (
  limits: InputLimitsOptions = {},
): StageDefinition<RawPayload, Record<string, never>, Record<never, never>> => {
  const resolved = resolveInputLimits(limits);
  return defineStage({
    type: "Ingest",
    implementation: "file-ingest",
    description: "reads one record from a recorded response file",
    output: rawPayloadSchema,
    run: (_ctx, { request }) => readRecord(request, resolved),
  });
};

/**
 * Reads the one record a `file` request names, or hands on an `inline` one, each checked against
 * the input limits first.
 *
 * @category constructors
 */
export const readRecord = (
  request: IngestRequest,
  limits: InputLimitsOptions = {},
): Effect.Effect<RawPayload, InvalidInput | Permanent> => {
  const resolved = resolveInputLimits(limits);
  const { location } = request;
  const payload = (record: unknown): RawPayload => ({
    source: request.source,
    docKey: request.docKey,
    location,
    record,
  });
  if (location.kind === "inline") {
    const problem = guardRecord(
      `the ${request.source} record ${request.docKey}`,
      "",
      location.record,
      resolved,
    );
    return problem === undefined ? Effect.succeed(payload(location.record)) : Effect.fail(problem);
  }
  if (location.kind !== "file") {
    return Effect.fail(
      new Permanent({
        message: `${request.docKey}: file ingest cannot read a "${location.kind}" location`,
      }),
    );
  }
  const guard = (record: unknown) => {
    const problem = guardRecord(location.file, location.pointer, record, resolved);
    return problem === undefined ? Effect.succeed(record) : Effect.fail(problem);
  };
  // A whole-file record is checked before its shape is read: a NUL in its id names the field,
  // rather than the file matching no source.
  return readJsonFile(location.file, resolved).pipe(
    Effect.flatMap((root) =>
      location.pointer === ""
        ? Effect.flatMap(guard(root), (r) => selectRecord(request, location.file, "", r))
        : Effect.flatMap(selectRecord(request, location.file, location.pointer, root), guard)
    ),
    Effect.map(payload),
  );
};

/**
 * Ingest stage for `file` locations with the default input limits.
 *
 * @category constructors
 */
export const fileIngestStage: StageDefinition<
  RawPayload,
  Record<string, never>,
  Record<never, never>
> = makeFileIngestStage();
