import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import {
  freeHeapPercent,
  makeLineageBreaker,
  withLineageBreaker,
} from "../../lineage/circuit_breaker.ts";
import type { OutboxRow } from "../../lineage/outbox.ts";
import type { LineageSink } from "../../lineage/sink.ts";
import { settleWith } from "../../lineage/settlement.ts";

const rows: OutboxRow[] = [1, 2].map((seq) => ({
  seq,
  jobId: "j",
  channel: "openlineage",
  runId: "r",
  payload: { eventType: "START" },
}));

const recording = (delayMs = 0) => {
  const got: number[] = [];
  const sink: LineageSink = {
    name: "test",
    channels: ["openlineage"],
    deliver: (events) =>
      Effect.andThen(
        Effect.sleep(delayMs),
        Effect.sync(() => got.push(...events.map((e) => e.seq))),
      ),
  };
  return { sink, got };
};

describe("makeLineageBreaker()", () => {
  it("simpleMemory is open at or below memoryThreshold percent of free heap", () => {
    let free = 50;
    const b = makeLineageBreaker(
      { type: "simpleMemory", memoryThreshold: 20, checkIntervalMs: 1000 },
      { freeMemory: () => free },
    );
    expect(b.state()).toEqual({ open: false });
    free = 20;
    expect(b.state()).toEqual({
      open: true,
      reason: "free heap 20.00% is at or below memoryThreshold 20%",
    });
    expect(freeHeapPercent()).toBeGreaterThan(0);
  });

  it("static takes its values in order and stays open once they are used up", () => {
    const b = makeLineageBreaker({
      type: "static",
      values: [false, true, false],
      checkIntervalMs: 1,
    });
    expect([b.state(), b.state(), b.state(), b.state()].map((s) => s.open)).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });
});

describe("withLineageBreaker()", () => {
  it("hands nothing over while open: the events stay unsettled, to wait in the outbox", async () => {
    let free = 5;
    const breaker = makeLineageBreaker(
      { type: "simpleMemory", memoryThreshold: 10, checkIntervalMs: 1000 },
      { freeMemory: () => free },
    );
    const { sink, got } = recording();
    const guarded = withLineageBreaker(sink, breaker);
    const held = await Effect.runPromise(settleWith(guarded)(rows));
    expect(held.settled).toEqual([]);
    expect(held.error?.message).toBe(
      "circuit breaker open (free heap 5.00% is at or below memoryThreshold 10%): events wait in " +
        "the outbox",
    );
    expect(held.error?.retryable).toBe(true);
    free = 60;
    const sent = await Effect.runPromise(settleWith(guarded)(rows));
    expect([sent.settled.length, got]).toEqual([2, [1, 2]]);
  });

  it("cancels a hand-over that outlives the timeout, or during which the breaker opens", async () => {
    const slow = recording(200);
    const timed = withLineageBreaker(
      slow.sink,
      makeLineageBreaker({ type: "timeout", timeoutMs: 20, checkIntervalMs: 1000 }),
    );
    const r = await Effect.runPromise(settleWith(timed)(rows));
    expect([r.settled, r.error?.message, slow.got]).toEqual([
      [],
      "delivery took longer than the circuit breaker's 0.02 s: its events wait in the outbox",
      [],
    ]);
    const opening = recording(200);
    const watched = withLineageBreaker(
      opening.sink,
      makeLineageBreaker({ type: "static", values: [false, true], checkIntervalMs: 10 }),
    );
    const w = await Effect.runPromise(settleWith(watched)(rows));
    expect([w.settled, w.error?.message, opening.got]).toEqual([
      [],
      "circuit breaker open (static breaker): events wait in the outbox",
      [],
    ]);
  });
});
