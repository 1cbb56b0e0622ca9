/**
 * Checks on a stream of lineage events as a whole, beyond each event's schema: every CloudEvent
 * pairs with the OpenLineage event it describes (`olrunid` is its `run.runId`, `oleventtype` its
 * `eventType`), and every OpenLineage run has one START and one terminal event.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineagePairIssues } from "./lineage_pairs.ts";
 *
 * const runId = "01936893-9751-7a91-a2a0-a51101a3970c";
 * const issues = lineagePairIssues(
 *   [{ eventType: "START", run: { runId } }],
 *   [{ olrunid: runId, oleventtype: "COMPLETE" }],
 * );
 * // A START without its CloudEvent, and a CloudEvent without its OpenLineage event.
 * assert.equal(issues.length, 2);
 * ```
 *
 * @module
 */

/** A parsed event, as read from a JSONL file or the outbox. */
type Json = Readonly<Record<string, unknown>>;

const runIdOf = (event: Json): unknown => (event.run as Json | undefined)?.runId;

const countBy = (keys: ReadonlyArray<string>): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
};

/**
 * What keeps the two streams from pairing one to one: an OpenLineage event without its
 * CloudEvent, a CloudEvent without its OpenLineage event (by `olrunid` and `oleventtype`), or a
 * pair written a different number of times on each side. Empty when they pair.
 *
 * @param openlineage The OpenLineage run events.
 * @param cloudevents The CloudEvents (structured mode, with the `olrunid` and `oleventtype`
 * extension attributes).
 * @returns One sentence per unpaired run and event type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineagePairIssues } from "./lineage_pairs.ts";
 *
 * const runId = "01936893-9751-7a91-a2a0-a51101a3970c";
 * const openlineage = [{ eventType: "START", run: { runId } }];
 * const cloudevents = [{ olrunid: runId, oleventtype: "START" }];
 * assert.deepEqual(lineagePairIssues(openlineage, cloudevents), []);
 * ```
 *
 * @category testing
 */
export const lineagePairIssues = (
  openlineage: ReadonlyArray<Json>,
  cloudevents: ReadonlyArray<Json>,
): ReadonlyArray<string> => {
  const key = (runId: unknown, eventType: unknown) => `${String(runId)} ${String(eventType)}`;
  const ol = countBy(openlineage.map((e) => key(runIdOf(e), e.eventType)));
  const ce = countBy(cloudevents.map((e) => key(e.olrunid, e.oleventtype)));
  const issues: Array<string> = [];
  for (const k of new Set([...ol.keys(), ...ce.keys()])) {
    const [runId, eventType] = k.split(" ");
    const a = ol.get(k) ?? 0;
    const b = ce.get(k) ?? 0;
    if (a !== b) {
      issues.push(
        `run ${runId}: ${a} OpenLineage ${eventType} event(s) but ${b} CloudEvent(s) with ` +
          `olrunid ${runId} and oleventtype ${eventType}`,
      );
    }
  }
  return issues;
};

const terminal: ReadonlySet<unknown> = new Set(["COMPLETE", "FAIL", "ABORT"]);

/** Options of {@link runLifecycleIssues}. */
export interface RunLifecycleOptions {
  /**
   * Accept runs without a terminal event yet (a pipeline run paused at a gate stays open).
   * @default false
   */
  readonly allowOpenRuns?: boolean;
}

/**
 * What breaks the run lifecycle in a stream of OpenLineage events, run by run in stream order:
 * a run must start with exactly one START and end with exactly one COMPLETE, FAIL or ABORT, with
 * only RUNNING events between. Empty when every run does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runLifecycleIssues } from "./lineage_pairs.ts";
 *
 * const runId = "01936893-9751-7a91-a2a0-a51101a3970c";
 * const events = [
 *   { eventType: "START", run: { runId } },
 *   { eventType: "COMPLETE", run: { runId } },
 * ];
 * assert.deepEqual(runLifecycleIssues(events), []);
 * ```
 *
 * @category testing
 */
export const runLifecycleIssues = (
  openlineage: ReadonlyArray<Json>,
  options: RunLifecycleOptions = {},
): ReadonlyArray<string> => {
  const runs = new Map<string, Array<unknown>>();
  for (const event of openlineage) {
    const runId = String(runIdOf(event));
    runs.set(runId, [...(runs.get(runId) ?? []), event.eventType]);
  }
  const issues: Array<string> = [];
  for (const [runId, types] of runs) {
    const sequence = types.join(", ");
    const starts = types.filter((t) => t === "START").length;
    const ends = types.filter((t) => terminal.has(t)).length;
    const open = ends === 0 && options.allowOpenRuns === true;
    const middle = types.slice(1, open ? undefined : -1);
    const ok = types[0] === "START" && starts === 1 &&
      (open || (ends === 1 && terminal.has(types[types.length - 1]))) &&
      middle.every((t) => t === "RUNNING");
    if (!ok) issues.push(`run ${runId}: events ${sequence}; expected START, RUNNING…, one end`);
  }
  return issues;
};
