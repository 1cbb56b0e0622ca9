/**
 * The steps from bytes to a JSON value every input goes through, under the input limits: the byte
 * count, UTF-8 (refused with the offset of the first bad byte; a byte order mark is dropped), the
 * syntax (refused with line and column), and the number of values. Each failure is `InvalidInput`
 * naming the file or URL; file ingest and HTTP ingest both use them, so both refuse the same input
 * with the same words.
 *
 * @module
 */
import { InvalidInput } from "../../stages/errors.ts";
import { inputLimitKeys, type InputLimits } from "./input_limits.ts";
import { jsonErrorOffset, jsonSyntaxReason, lineColumnAt } from "./json_syntax.ts";
import { exceedsValueCount } from "./record_guard.ts";
import { decodeUtf8 } from "./utf8_text.ts";

/**
 * A step's result: its value, or the `InvalidInput` that stops the document.
 *
 * @category models
 */
export type InputOutcome<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly error: InvalidInput };

const invalid = <A>(message: string, path: string): InputOutcome<A> => ({
  ok: false,
  error: new InvalidInput({ message, path }),
});

/**
 * Refuses an input of more than `max_bytes` bytes (checked on the size alone, before reading).
 *
 * @param where the file or URL, as messages name it
 * @category combinators
 */
export const checkByteCount = (
  where: string,
  bytes: number,
  limits: InputLimits,
): InputOutcome<number> =>
  bytes > limits.maxBytes
    ? invalid(
      `${where}: ${bytes} bytes, larger than the limit of ${limits.maxBytes} bytes ` +
        `(${inputLimitKeys.maxBytes})`,
      where,
    )
    : { ok: true, value: bytes };

/**
 * Decodes UTF-8 bytes (within `max_bytes`) to text, refusing invalid UTF-8 with its byte offset.
 *
 * @example
 * ```ts
 * import { bytesToText } from "./json_input.ts";
 * import { defaultInputLimits } from "./input_limits.ts";
 *
 * bytesToText("f.json", new Uint8Array([0x5b, 0xc3, 0x28, 0x5d]), defaultInputLimits);
 * // { ok: false, error: InvalidInput("f.json: byte 1: invalid UTF-8 (0xC3 0x28 0x5D)") }
 * ```
 *
 * @category combinators
 */
export const bytesToText = (
  where: string,
  bytes: Uint8Array,
  limits: InputLimits,
): InputOutcome<string> => {
  const size = checkByteCount(where, bytes.length, limits);
  if (!size.ok) return size;
  const decoded = decodeUtf8(bytes);
  if (decoded.ok) return { ok: true, value: decoded.text };
  const at = `${where}: byte ${decoded.offset}`;
  return invalid(`${at}: invalid UTF-8 (${decoded.bytes})`, at);
};

/**
 * Parses JSON text, failing with `file:line:column: invalid JSON: …` on a syntax error.
 *
 * @category combinators
 */
export const parseJsonText = (file: string, text: string): InputOutcome<unknown> => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const { line, column } = lineColumnAt(text, jsonErrorOffset(text) ?? text.length);
    const where = `${file}:${line}:${column}`;
    return invalid(`${where}: invalid JSON: ${jsonSyntaxReason(error)}`, where);
  }
};

/**
 * Refuses a parsed input holding more than `max_fields` values.
 *
 * @category combinators
 */
export const checkValueCount = (
  where: string,
  value: unknown,
  limits: InputLimits,
): InputOutcome<unknown> =>
  exceedsValueCount(value, limits.maxFields)
    ? invalid(
      `${where}: more than ${limits.maxFields} values, above the limit ` +
        `(${inputLimitKeys.maxFields})`,
      where,
    )
    : { ok: true, value };

/**
 * All the steps: bytes → text → JSON value, under the limits.
 *
 * @category combinators
 */
export const decodeJsonBytes = (
  where: string,
  bytes: Uint8Array,
  limits: InputLimits,
): InputOutcome<unknown> => {
  const text = bytesToText(where, bytes, limits);
  if (!text.ok) return text;
  const parsed = parseJsonText(where, text.value);
  return parsed.ok ? checkValueCount(where, parsed.value, limits) : parsed;
};
