/**
 * Bytes to text, strictly: a file or body that is not valid UTF-8 is refused with the byte offset
 * of the first bad sequence, instead of being decoded with replacement characters that would put
 * text the source never sent into the index. A leading byte order mark is accepted and dropped.
 *
 * @module
 */

/**
 * The decoded text, or where the bytes stop being UTF-8.
 *
 * @category models
 */
export type Utf8Outcome =
  | { readonly ok: true; readonly text: string }
  | {
    readonly ok: false;
    /** Offset of the first byte of the first invalid sequence. */
    readonly offset: number;
    /** The bytes there (at most 4), as `0xC3 0x28`. */
    readonly bytes: string;
  };

// The second byte's range per lead byte (RFC 3629 §4): the narrowed ranges rule out overlong
// forms, surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..).
const secondByteRange = (lead: number): readonly [number, number] =>
  lead === 0xe0
    ? [0xa0, 0xbf]
    : lead === 0xed
    ? [0x80, 0x9f]
    : lead === 0xf0
    ? [0x90, 0xbf]
    : lead === 0xf4
    ? [0x80, 0x8f]
    : [0x80, 0xbf];

const sequenceLength = (lead: number): number =>
  lead < 0x80
    ? 1
    : lead >= 0xc2 && lead <= 0xdf
    ? 2
    : lead >= 0xe0 && lead <= 0xef
    ? 3
    : lead >= 0xf0 && lead <= 0xf4
    ? 4
    : 0;

/**
 * The offset of the first byte of the first invalid UTF-8 sequence, or `undefined` when all of
 * `bytes` is valid UTF-8. One pass.
 *
 * @example
 * ```ts
 * import { invalidUtf8Offset } from "./utf8_text.ts";
 *
 * invalidUtf8Offset(new Uint8Array([0x7b, 0xff, 0x7d])); // 1
 * ```
 *
 * @category combinators
 */
export const invalidUtf8Offset = (bytes: Uint8Array): number | undefined => {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    const length = sequenceLength(lead);
    if (length === 0 || i + length > bytes.length) return i;
    if (length > 1) {
      const [low, high] = secondByteRange(lead);
      if (bytes[i + 1] < low || bytes[i + 1] > high) return i;
      for (let k = 2; k < length; k++) {
        if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return i;
      }
    }
    i += length;
  }
  return undefined;
};

const hexBytes = (bytes: Uint8Array, offset: number): string =>
  [...bytes.subarray(offset, offset + 4)]
    .map((b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`)
    .join(" ");

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes UTF-8 bytes, dropping a leading byte order mark; invalid bytes give their offset.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./utf8_text.ts";
 *
 * decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x31])); // { ok: true, text: "1" }
 * ```
 *
 * @category constructors
 */
export const decodeUtf8 = (bytes: Uint8Array): Utf8Outcome => {
  try {
    return { ok: true, text: strict.decode(bytes) };
  } catch {
    const offset = invalidUtf8Offset(bytes) ?? 0;
    return { ok: false, offset, bytes: hexBytes(bytes, offset) };
  }
};
