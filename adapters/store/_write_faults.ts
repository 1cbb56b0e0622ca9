/**
 * Telling a store write the database refused for the data in it from one that may pass on retry.
 * A row too large for an index, text PostgreSQL cannot hold or a value nested past its stack limit
 * is refused the same way every time: retrying it only delays the job's failure.
 *
 * @module
 */
import { Permanent, Transient } from "../../stages/errors.ts";
import { firstUnstorableChar } from "../../stages/storable_text.ts";

// PostgreSQL's own words (server and PGlite) for a value it refuses to store or index.
const dataFaults: ReadonlyArray<RegExp> = [
  /index row (?:requires|size) \d+/,
  /unsupported Unicode escape sequence/,
  /invalid byte sequence for encoding/,
  /Unicode low surrogate must follow a high surrogate/,
  /stack depth limit exceeded/,
  /string is too long for tsvector/,
  /word is too long to be indexed/,
  /expected \d+ dimensions, not \d+/,
];

/** Whether the database's message says it refused the data itself (so a retry cannot pass). */
export const isDataFault = (reason: string): boolean =>
  dataFaults.some((pattern) => pattern.test(reason));

/**
 * The stage error for a failed write: `Permanent` when the database refused the data itself,
 * `Transient` otherwise.
 */
export const writeFailure = (what: string, cause: unknown): Permanent | Transient => {
  const reason = (cause as Error | null)?.message ?? String(cause);
  const message = `${what} failed: ${reason}`;
  return isDataFault(reason) ? new Permanent({ message }) : new Transient({ message });
};

const encoder = new TextEncoder();

/**
 * What is wrong with a text value a write would index, or `undefined`: longer than `maxBytes` in
 * UTF-8, or holding a character the store cannot hold.
 */
export const unindexableText = (text: string, maxBytes: number): string | undefined => {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short text needs no encoding to be measured.
  const bytes = text.length * 3 <= maxBytes ? text.length : encoder.encode(text).length;
  if (bytes > maxBytes) return `${bytes} bytes, more than the ${maxBytes} an index entry may hold`;
  const bad = firstUnstorableChar(text);
  return bad === undefined
    ? undefined
    : `holds a ${
      bad.kind === "nul" ? "NUL character" : "lone surrogate"
    } at character ${bad.index}`;
};
