/**
 * Text the store can hold, and input text made safe to quote in a message. PostgreSQL `text` and
 * `jsonb` cannot hold U+0000, and `jsonb` refuses the `\uD800`-style escape of a lone surrogate, so
 * one such character anywhere in a write makes the store reject it. Error messages are stored too
 * (ledger rows, lineage events), so input quoted in a message is escaped first.
 *
 * @module
 */

/**
 * The first character the store cannot hold, with its offset.
 *
 * @category models
 */
export interface UnstorableChar {
  /** Offset in UTF-16 code units. */
  readonly index: number;
  /** The code unit, e.g. 0 or 0xD800. */
  readonly code: number;
  /** What is wrong with it. */
  readonly kind: "nul" | "lone surrogate";
}

const isHigh = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number): boolean => code >= 0xdc00 && code <= 0xdfff;

/**
 * The first NUL or lone surrogate in a string, or `undefined`; one pass, no allocation.
 *
 * @example
 * ```ts
 * import { firstUnstorableChar } from "./storable_text.ts";
 *
 * firstUnstorableChar("a\u0000b"); // { index: 1, code: 0, kind: "nul" }
 * ```
 *
 * @category combinators
 */
export const firstUnstorableChar = (text: string): UnstorableChar | undefined => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return { index: i, code, kind: "nul" };
    if (isHigh(code)) {
      if (i + 1 < text.length && isLow(text.charCodeAt(i + 1))) {
        i += 1;
        continue;
      }
      return { index: i, code, kind: "lone surrogate" };
    }
    if (isLow(code)) return { index: i, code, kind: "lone surrogate" };
  }
  return undefined;
};

const hex4 = (code: number): string => code.toString(16).toUpperCase().padStart(4, "0");

/**
 * `U+0000`-style name of a code unit.
 *
 * @category combinators
 */
export const codePointName = (code: number): string => `U+${hex4(code)}`;

/**
 * Says what an unstorable character is, for messages.
 *
 * @category combinators
 */
export const describeUnstorable = (found: UnstorableChar): string =>
  found.kind === "nul"
    ? `a NUL character (U+0000) at character ${found.index}`
    : `a lone surrogate (${codePointName(found.code)}) at character ${found.index}`;

/**
 * Input text as a message may quote it: control characters and lone surrogates as `\uXXXX`, and
 * at most `max` characters (the rest elided with `…`).
 *
 * @example
 * ```ts
 * import { displayText } from "./storable_text.ts";
 *
 * displayText("a\u0000b"); // "a\\u0000b"
 * ```
 *
 * @category combinators
 */
export const displayText = (text: string, max = 80): string => {
  const cut = text.length > max ? text.slice(0, max) : text;
  let out = "";
  for (let i = 0; i < cut.length; i++) {
    const code = cut.charCodeAt(i);
    const pairs = isHigh(code) && i + 1 < cut.length && isLow(cut.charCodeAt(i + 1));
    if (pairs) {
      out += cut.slice(i, i + 2);
      i += 1;
    } else if (code < 0x20 || code === 0x7f || isHigh(code) || isLow(code)) {
      out += `\\u${hex4(code).toLowerCase()}`;
    } else {
      out += cut[i];
    }
  }
  return text.length > max ? `${out}…` : out;
};
