/**
 * Pieces every source parser shares: validating a raw record against its zod schema with errors
 * that name the file and field, and numbering sections and blocks deterministically.
 *
 * @module
 */
import { Effect } from "effect";
import type { z } from "zod";
import { InvalidInput } from "../../stages/errors.ts";
import type { RawPayload } from "../../stages/ir.ts";
import type { SectionDraft } from "../../stages/document_sections.ts";
export { buildSections, type SectionDraft } from "../../stages/document_sections.ts";
import { pathOf, pointerSegments } from "./_record_shape.ts";

const whereOf = (payload: RawPayload): string =>
  payload.location.kind === "file"
    ? payload.location.file
    : payload.location.kind === "url"
    ? payload.location.url
    : `the ${payload.source} record ${payload.docKey}`;

const pointerOf = (payload: RawPayload): string =>
  payload.location.kind === "file" ? payload.location.pointer : "";

/** Renders the first zod issue as `InvalidInput`, its path prefixed with the record's place in its file. */
export const invalidRecord = (payload: RawPayload, error: z.ZodError): InvalidInput => {
  const [first] = error.issues;
  const path = pathOf([...pointerSegments(pointerOf(payload)), ...(first?.path ?? [])]);
  const detail = (first?.message ?? "invalid record").replace(/^Invalid input: /, "");
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : "";
  const where = path === "" ? whereOf(payload) : `${whereOf(payload)}: ${path}`;
  return new InvalidInput({ message: `${where}: ${detail}${more}`, path });
};

/** `InvalidInput` for a problem at `at` (path segments inside the record), with the file and path. */
export const invalidAt = (
  payload: RawPayload,
  at: ReadonlyArray<PropertyKey>,
  detail: string,
): InvalidInput => {
  const path = pathOf([...pointerSegments(pointerOf(payload)), ...at]);
  const where = path === "" ? whereOf(payload) : `${whereOf(payload)}: ${path}`;
  return new InvalidInput({ message: `${where}: ${detail}`, path });
};

/** Validates a raw record against a schema, failing with a located `InvalidInput`. */
export const validateRecord = <S extends z.ZodType>(
  schema: S,
  payload: RawPayload,
): Effect.Effect<z.output<S>, InvalidInput> => {
  const result = schema.safeParse(payload.record);
  return result.success
    ? Effect.succeed(result.data)
    : Effect.fail(invalidRecord(payload, result.error));
};

/** Splits free text into paragraphs at blank lines, trimming each and dropping empty ones. */
export const paragraphs = (text: string | null | undefined): ReadonlyArray<string> =>
  (text ?? "").split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > 0);

/** Text blocks from paragraphs of free text. */
export const textBlocks = (text: string | null | undefined): SectionDraft["blocks"] =>
  paragraphs(text).map((p) => ({ type: "text", text: p }));

/** Keeps the first occurrence of each key, in order. */
export const uniqueBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string): ReadonlyArray<A> => {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
};
