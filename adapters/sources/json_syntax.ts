/**
 * Where JSON text breaks: V8 reports no position for some syntax errors (a trailing comma gives
 * only "Unexpected token"), so the offset comes from a scan that stops where the JSON grammar is
 * first broken. The scan keeps its open brackets in an array, not on the call stack, so a file of
 * a million `[` is reported, not a stack overflow; it is one pass over the text.
 *
 * @module
 */

import { displayText } from "../../stages/storable_text.ts";

/**
 * V8's reason for a `JSON.parse` failure without the position (the caller gives line and column)
 * or the quoted input V8 appends, and with control characters escaped: messages are stored, and
 * the input may hold a NUL.
 *
 * @example
 * ```ts
 * import { jsonSyntaxReason } from "./json_syntax.ts";
 *
 * try {
 *   JSON.parse("[1,]");
 * } catch (error) {
 *   console.log(jsonSyntaxReason(error)); // "Unexpected token ']'"
 * }
 * ```
 *
 * @category combinators
 */
export const jsonSyntaxReason = (error: unknown): string =>
  displayText(
    (error instanceof Error ? error.message : String(error))
      .replace(/ in JSON at position \d+.*$/s, "")
      .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, ""),
    200,
  );

/**
 * 1-based line and column of a character offset in a text.
 *
 * @category combinators
 */
export const lineColumnAt = (
  text: string,
  offset: number,
): { readonly line: number; readonly column: number } => {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
};

const jsonNumber = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const jsonLiteral = /true|false|null/y;
const hex4 = /[0-9a-fA-F]{4}/y;

/** Offset just past a string starting at `start` (a `"`), or the offset where it breaks, negated - 1. */
const scanString = (text: string, start: number): number => {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -i - 1;
    if (c !== 0x5c) {
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === "u") {
      hex4.lastIndex = i + 2;
      if (!hex4.test(text)) return -i - 1;
      i += 6;
    } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
      i += 2;
    } else {
      return -i - 1;
    }
  }
  return -text.length - 1;
};

const skipSpace = (text: string, from: number): number => {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i += 1;
  }
  return i;
};

type State = "value" | "key" | "after";

/**
 * The offset of the first JSON syntax error in a text, or `undefined` when it is valid JSON.
 *
 * @example
 * ```ts
 * import { jsonErrorOffset } from "./json_syntax.ts";
 *
 * jsonErrorOffset('{"a": [1, 2,]}'); // 12
 * ```
 *
 * @category combinators
 */
export const jsonErrorOffset = (text: string): number | undefined => {
  const open: Array<0x7b | 0x5b> = [];
  let state: State = "value";
  let i = 0;
  for (;;) {
    i = skipSpace(text, i);
    const c = text.charCodeAt(i);
    if (state === "key") {
      if (c !== 0x22) return i;
      const end = scanString(text, i);
      if (end < 0) return Math.min(-end - 1, text.length);
      i = skipSpace(text, end);
      if (text.charCodeAt(i) !== 0x3a) return i;
      i += 1;
      state = "value";
    } else if (state === "value") {
      if (c === 0x7b || c === 0x5b) {
        open.push(c);
        i = skipSpace(text, i + 1);
        const close = c === 0x7b ? 0x7d : 0x5d;
        if (text.charCodeAt(i) === close) {
          open.pop();
          i += 1;
          state = "after";
        } else {
          state = c === 0x7b ? "key" : "value";
        }
      } else if (c === 0x22) {
        const end = scanString(text, i);
        if (end < 0) return Math.min(-end - 1, text.length);
        i = end;
        state = "after";
      } else {
        const pattern = c === 0x2d || (c >= 0x30 && c <= 0x39) ? jsonNumber : jsonLiteral;
        pattern.lastIndex = i;
        if (!pattern.test(text)) return Math.min(i, text.length);
        i = pattern.lastIndex;
        state = "after";
      }
    } else {
      const top = open[open.length - 1];
      if (top === undefined) return i < text.length ? i : undefined;
      if (c === 0x2c) {
        i += 1;
        state = top === 0x7b ? "key" : "value";
      } else if (c === (top === 0x7b ? 0x7d : 0x5d)) {
        open.pop();
        i += 1;
      } else {
        return Math.min(i, text.length);
      }
    }
  }
};
