import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import type { Store } from "../../adapters/store/store.ts";
import { insertOutbox } from "../../adapters/store/sql_outbox.ts";
import type { OutboxEvent, OutboxRow, OutboxStore } from "../../lineage/outbox.ts";
import { flush, flushWithDeadline, type SinkReport } from "../../lineage/relay.ts";
import type { RelaySink } from "../../lineage/settlement.ts";
import { backends } from "../_stores.ts";

const EVENTS = 120;

const events = (job: number): OutboxEvent[] =>
  Array.from({ length: EVENTS / 4 }, (_, i) => ({
    channel: "openlineage",
    runId: `run-${job}`,
    payload: { job, i },
  }));

/** One destination seen from two relays: both sinks write into `received`. */
const destination = () => {
  const received: Array<{ job: number; i: number }> = [];
  const sink = (): RelaySink => ({
    name: "jsonl:openlineage:/shared/openlineage.jsonl",
    channels: ["openlineage"],
    maxBatch: 7,
    deliver: (rows: ReadonlyArray<OutboxRow>) =>
      // A hand-over takes a while, as a real one does, so the two relays overlap.
      Effect.promise(() => new Promise((r) => setTimeout(r, 2))).pipe(
        Effect.map(() => {
          for (const row of rows) received.push(row.payload as { job: number; i: number });
        }),
      ),
  });
  return { received, sink };
};

const onStore = <A, E>(store: Store, effect: Effect.Effect<A, E, OutboxStore>) =>
  Effect.runPromise(effect.pipe(Effect.provide(store.layer)));

const delivered = (reports: ReadonlyArray<ReadonlyArray<SinkReport>>) =>
  reports.reduce((n, r) => n + r[0].delivered, 0);

describe.each(backends)("two relays on one $name outbox", (backend) => {
  it("hand each event to a shared sink once: one relay at a time holds the sink", async () => {
    const { stores, close } = await backend.openPair();
    try {
      for (let job = 0; job < 4; job++) {
        await insertOutbox(stores[0].client, `job-${job}`, events(job));
      }
      const { received, sink } = destination();
      const reports = await Promise.all([
        onStore(stores[0], flush([sink()], { batchSize: 10 })),
        onStore(stores[1], flushWithDeadline([sink()], { batchSize: 10, maxWaitMs: 60_000 })),
      ]);
      const keys = received.map((e) => `${e.job}/${e.i}`);
      expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
      expect(received).toHaveLength(EVENTS);
      expect(delivered(reports)).toBe(EVENTS);
      // Each relay handed its events over in outbox order.
      expect(received.map((e) => e.job * 1000 + e.i)).toEqual(
        [...received.map((e) => e.job * 1000 + e.i)].sort((a, b) => a - b),
      );
      expect(reports.map((r) => r[0].pending)).toEqual([0, 0]);
    } finally {
      await close();
    }
  });

  it("wait while another relay holds the sink, and take it over once a dead holder's lease expires", async () => {
    const { stores, close } = await backend.openPair();
    try {
      await insertOutbox(stores[0].client, "job-0", events(0));
      const { received, sink } = destination();
      const lease = (expires: string) =>
        stores[0].client.query(
          `insert into lk_leases (name, holder, expires_at) values ($1, 'other', ${expires})
           on conflict (name) do update set holder = 'other', expires_at = ${expires}`,
          [`outbox:${sink().name}`],
        );
      await lease("now() + interval '1 hour'");
      const [held] = await onStore(
        stores[1],
        flushWithDeadline([sink()], { maxWaitMs: 300 }),
      );
      expect(held).toMatchObject({ delivered: 0, pending: EVENTS / 4 });
      expect(held.error).toMatch(/not finished within 300 ms/);
      expect(received).toEqual([]);
      await lease("now() - interval '1 second'");
      const [taken] = await onStore(stores[1], flush([sink()]));
      expect(taken).toMatchObject({ delivered: EVENTS / 4, pending: 0 });
      expect(received).toHaveLength(EVENTS / 4);
      // The lease was given back at the end of the flush.
      expect(await stores[0].client.query("select * from lk_leases")).toEqual([]);
    } finally {
      await close();
    }
  });
});
