/**
 * OpenLineage run ids: UUIDv7 (RFC 9562), either random or derived from a timestamp and a string so
 * that any process can recompute the id of a run it did not start. The derived form follows the
 * OpenLineage clients' static UUID helper: the 48-bit timestamp is the instant in unix
 * milliseconds, and the 74 bits that are random in a plain UUIDv7 come from SHA-256 of the data.
 *
 * @example
 * ```ts
 * import { isUuidV7, runIdFor } from "./run_ids.ts";
 *
 * const id = runIdFor({
 *   namespace: "lineage-kit",
 *   job: "trials.parse",
 *   document: "NCT01234567",
 *   attempt: 1,
 *   createdAt: Date.UTC(2026, 0, 1),
 * });
 * console.assert(isUuidV7(id));
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";

const MAX_UNIX_MS = 2 ** 48 - 1;
const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * The parts that identify one attempt of one job on one document.
 *
 * @category models
 */
export interface RunIdInput {
  /** The OpenLineage job namespace. */
  readonly namespace: string;
  /** The OpenLineage job name (`<pipeline>` or `<pipeline>.<stage>`). */
  readonly job: string;
  /** The document id the run processes. */
  readonly document: string;
  /**
   * The tenant the job belongs to: two tenants' runs of one document never share an id. Ids
   * computed without one are those of earlier versions.
   */
  readonly tenant?: string;
  /** The attempt number; `1` and `"1"` name the same attempt. */
  readonly attempt: string | number;
  /** When the job (not the attempt) was created; becomes the id's timestamp. */
  readonly createdAt: Date | number;
}

/**
 * Builds a UUIDv7 whose timestamp is `instant` and whose other 74 bits come from SHA-256 of
 * `data` (UTF-8), so the same pair gives the same id in every process.
 *
 * @param instant a `Date` or unix milliseconds, between 1970 and the year 10889 (48 bits)
 * @param data any string; distinct strings give distinct ids with overwhelming probability
 * @returns the id, lowercase, in the 8-4-4-4-12 form
 * @throws {RangeError} when `instant` is not a valid time in the 48-bit millisecond range
 * @example
 * ```ts
 * import { staticUuidV7 } from "./run_ids.ts";
 *
 * const id = staticUuidV7(new Date("2026-01-01T00:00:00Z"), "payload");
 * console.assert(id === staticUuidV7(Date.UTC(2026, 0, 1), "payload"));
 * ```
 * @category constructors
 */
export function staticUuidV7(instant: Date | number, data: string): string {
  const digest = createHash("sha256").update(data, "utf8").digest();
  return assemble(unixMillis(instant), digest.subarray(0, 10));
}

/**
 * Derives the run id of one attempt of one job on one document: `staticUuidV7(createdAt, data)`
 * where `data` is `JSON.stringify([namespace, job, document, String(attempt)])`, so no choice of
 * separators in the parts can make two different inputs collide.
 *
 * @param input the job, document, attempt and job creation time
 * @returns a UUIDv7 that every process computes identically for the same input
 * @example
 * ```ts
 * import { runIdFor } from "./run_ids.ts";
 *
 * const input = { namespace: "ns", job: "p.s", document: "d", attempt: 2, createdAt: 0 };
 * console.assert(runIdFor(input) === runIdFor({ ...input, attempt: "2" }));
 * ```
 * @category constructors
 */
export function runIdFor(input: RunIdInput): string {
  const parts = [input.namespace, input.job, input.document, String(input.attempt)];
  const data = JSON.stringify(input.tenant === undefined ? parts : [...parts, input.tenant]);
  return staticUuidV7(input.createdAt, data);
}

/**
 * Builds a UUIDv7 with 74 random bits, for ids that need not be recomputed elsewhere.
 *
 * @param now the id's timestamp
 * @default now `Date.now()`
 * @returns a fresh UUIDv7
 * @example
 * ```ts
 * import { isUuidV7, randomUuidV7 } from "./run_ids.ts";
 *
 * console.assert(isUuidV7(randomUuidV7(Date.UTC(2026, 0, 1))));
 * ```
 * @category constructors
 */
export function randomUuidV7(now: Date | number = Date.now()): string {
  const random = crypto.getRandomValues(new Uint8Array(10));
  return assemble(unixMillis(now), random);
}

/**
 * Tells whether `value` is a UUID string with version 7 and the RFC 4122/9562 variant.
 *
 * @example
 * ```ts
 * import { isUuidV7 } from "./run_ids.ts";
 *
 * console.assert(isUuidV7("01936893-9751-7a91-a2a0-a51101a3970c"));
 * console.assert(!isUuidV7("41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7"));
 * ```
 * @category models
 */
export function isUuidV7(value: unknown): value is string {
  return typeof value === "string" && UUID_V7_PATTERN.test(value);
}

/**
 * Reads the unix-millisecond timestamp back out of a UUIDv7.
 *
 * @returns the timestamp, or `undefined` when `id` is not a UUIDv7
 * @example
 * ```ts
 * import { staticUuidV7, uuidV7Timestamp } from "./run_ids.ts";
 *
 * console.assert(uuidV7Timestamp(staticUuidV7(1_700_000_000_000, "x")) === 1_700_000_000_000);
 * ```
 * @category models
 */
export function uuidV7Timestamp(id: string): number | undefined {
  if (!isUuidV7(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

function unixMillis(instant: Date | number): number {
  const ms = Math.floor(instant instanceof Date ? instant.getTime() : instant);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_UNIX_MS) {
    throw new RangeError(`UUIDv7 timestamp out of range: ${String(instant)}`);
  }
  return ms;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Lays out 48 timestamp bits, then the 10 tail bytes with version and variant bits forced. */
function assemble(ms: number, tail: Uint8Array): string {
  const bytes = new Uint8Array(16);
  // 2^48 exceeds 32-bit integers, so the timestamp is split instead of shifted.
  const high = Math.floor(ms / 2 ** 16);
  bytes[0] = (high >>> 24) & 0xff;
  bytes[1] = (high >>> 16) & 0xff;
  bytes[2] = (high >>> 8) & 0xff;
  bytes[3] = high & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  bytes.set(tail.subarray(0, 10), 6);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  let hex = "";
  for (const b of bytes) hex += HEX[b];
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}
