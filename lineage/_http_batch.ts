/**
 * Reading a batch endpoint's answer: a 2xx (or 207 Multi-Status) whose JSON body may list one
 * result per event, either as an array or under `results`, each a status number or an object with
 * `status` (a number, or a word such as "success") or `code`, optionally with its `index`.
 *
 * @module
 */
import type { OutboxRow } from "./outbox.ts";
import { delivered, type SettledEvent, type Settlement } from "./settlement.ts";
import { classifyStatus } from "./_http_policy.ts";
import { type RequestContext, sinkError, type Target } from "./_http_request.ts";

const SUCCESS_WORDS = new Set(["success", "succeeded", "ok", "created", "accepted"]);

const statusOf = (item: unknown): number | undefined => {
  if (typeof item === "number") return item;
  if (item === null || typeof item !== "object") return undefined;
  const record = item as Record<string, unknown>;
  for (const key of ["status", "code", "statusCode"]) {
    const value = record[key];
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^\d{3}$/.test(value)) return Number(value);
    if (typeof value === "string" && SUCCESS_WORDS.has(value.toLowerCase())) return 201;
  }
  return undefined;
};

const indexOf = (item: unknown, position: number): number => {
  const index = (item as Record<string, unknown> | null)?.index;
  return typeof index === "number" && Number.isInteger(index) ? index : position;
};

/**
 * Per-event statuses from a batch answer body, aligned with the events sent; undefined when the
 * body lists none (then the status of the whole answer speaks for every event). An event the
 * body does not mention, or whose status cannot be read, is undefined: not settled.
 */
export const perEventStatuses = (
  body: string,
  count: number,
): ReadonlyArray<number | undefined> | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as Record<string, unknown> | null)?.results;
  if (!Array.isArray(list)) return undefined;
  const statuses: Array<number | undefined> = Array.from({ length: count }, () => undefined);
  list.forEach((item, position) => {
    const index = indexOf(item, position);
    if (index >= 0 && index < count) statuses[index] = statusOf(item);
  });
  return statuses;
};

/**
 * Settles a batch from per-event statuses: 2xx delivered, a refused event rejected, anything else
 * (or no status) left pending, with an error saying how many.
 */
export const settleFromStatuses = (
  ctx: RequestContext,
  target: Target,
  events: ReadonlyArray<OutboxRow>,
  statuses: ReadonlyArray<number | undefined>,
): Settlement => {
  const settled: SettledEvent[] = [];
  const open: string[] = [];
  events.forEach((row, i) => {
    const status = statuses[i];
    const verdict = status === undefined ? "retry" : classifyStatus(status);
    if (verdict === "ok") settled.push({ seq: row.seq, outcome: delivered });
    else if (verdict === "reject") {
      const reason = `HTTP ${status} for this event in a batch`;
      settled.push({ seq: row.seq, outcome: { _tag: "Rejected", status, reason } });
    } else open.push(status === undefined ? "no status" : `HTTP ${status}`);
  });
  if (open.length === 0) return { settled };
  const reason = `${open.length} of ${events.length} events in the batch were not accepted ` +
    `(first: ${open[0]}); they stay pending`;
  return { settled, error: sinkError(ctx, target, reason, true) };
};
