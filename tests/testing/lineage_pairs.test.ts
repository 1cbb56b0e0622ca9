import { describe, expect, it } from "vitest";
import { lineagePairIssues, runLifecycleIssues } from "../../testing/mod.ts";

const A = "01936893-9751-7a91-a2a0-a51101a3970c";
const B = "01936893-9751-7a91-a2a0-a51101a3970d";
const ol = (runId: string, eventType: string) => ({ eventType, run: { runId } });
const ce = (runId: string, eventType: string) => ({ olrunid: runId, oleventtype: eventType });

describe("lineagePairIssues()", () => {
  it("finds nothing when every event has its partner, repeated pairs included", () => {
    expect(
      lineagePairIssues(
        [ol(A, "START"), ol(A, "RUNNING"), ol(A, "RUNNING"), ol(A, "COMPLETE")],
        [ce(A, "RUNNING"), ce(A, "START"), ce(A, "COMPLETE"), ce(A, "RUNNING")],
      ),
    ).toEqual([]);
  });

  it("names each run and event type that does not pair one to one", () => {
    expect(
      lineagePairIssues(
        [ol(A, "START"), ol(A, "COMPLETE"), ol(B, "START")],
        [ce(A, "START"), ce(A, "FAIL"), ce(B, "START"), ce(B, "START")],
      ),
    ).toEqual([
      `run ${A}: 1 OpenLineage COMPLETE event(s) but 0 CloudEvent(s) with olrunid ${A} and oleventtype COMPLETE`,
      `run ${B}: 1 OpenLineage START event(s) but 2 CloudEvent(s) with olrunid ${B} and oleventtype START`,
      `run ${A}: 0 OpenLineage FAIL event(s) but 1 CloudEvent(s) with olrunid ${A} and oleventtype FAIL`,
    ]);
  });
});

describe("runLifecycleIssues()", () => {
  it("accepts START, RUNNING…, one end per run", () => {
    expect(
      runLifecycleIssues([
        ol(A, "START"),
        ol(B, "START"),
        ol(A, "RUNNING"),
        ol(B, "ABORT"),
        ol(A, "FAIL"),
      ]),
    ).toEqual([]);
  });

  it("reports runs without a START first, with two ends, or with events after the end", () => {
    expect(
      runLifecycleIssues([ol(A, "COMPLETE"), ol(B, "START"), ol(B, "FAIL"), ol(B, "COMPLETE")]),
    ).toEqual([
      `run ${A}: events COMPLETE; expected START, RUNNING…, one end`,
      `run ${B}: events START, FAIL, COMPLETE; expected START, RUNNING…, one end`,
    ]);
  });

  it("reports a run without an end unless open runs are allowed", () => {
    const paused = [ol(A, "START"), ol(A, "RUNNING")];
    expect(runLifecycleIssues(paused)).toEqual([
      `run ${A}: events START, RUNNING; expected START, RUNNING…, one end`,
    ]);
    expect(runLifecycleIssues(paused, { allowOpenRuns: true })).toEqual([]);
  });
});
