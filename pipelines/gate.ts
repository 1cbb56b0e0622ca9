/**
 * Gate helpers: the pause signal, conditions in words, and when a paused job is due.
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "../stages/errors.ts";

import type { Condition, GateSpec } from "./topology.ts";

/** A gate's condition does not hold: the job pauses there (not a failure). */
export const GatePausedBase: TaggedErrorClass<"GatePaused", { readonly gate: string }> =
  taggedError(
    "GatePaused",
  );
// Named with an explicit type so the published declaration needs no inference (JSR).
/** The job paused at the named `gate` because its condition does not hold; not a failure. */
export class GatePaused extends GatePausedBase {}

/** A condition in words, for events and messages: `pdf_ir_ready equals true`. */
export const describeCondition = (c: Condition): string => {
  if ("all" in c) return `all(${c.all.map(describeCondition).join(", ")})`;
  if ("any" in c) return `any(${c.any.map(describeCondition).join(", ")})`;
  return c.op === "exists" ? `${c.field} exists` : `${c.field} ${c.op} ${JSON.stringify(c.value)}`;
};

/** Milliseconds a paused job has left before its gate times out (negative: overdue). */
export const gateTimeLeftMs = (gate: GateSpec, pausedAt: Date, nowMs: number): number =>
  pausedAt.getTime() + gate.timeoutSeconds * 1000 - nowMs;
