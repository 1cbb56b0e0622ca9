import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Effect } from "effect";
import {
  insertOutbox,
  makeSqlOutboxStore,
  pruneOutbox,
} from "../../../adapters/store/sql_outbox.ts";
import { type Store, storeFromClient } from "../../../adapters/store/store.ts";
import type { OutboxEvent } from "../../../lineage/outbox.ts";
import { hasDeliveryLog } from "../../../lineage/delivery_log.ts";
import { storeFootprint } from "../../../adapters/store/store_footprint.ts";
import { backends } from "../../_stores.ts";

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect);

const events = (n: number, channel: OutboxEvent["channel"] = "openlineage") =>
  Array.from({ length: n }, (_, i): OutboxEvent => ({ channel, runId: "r", payload: { n: i } }));

describe.each(backends)("outbox retention on $name", (backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
  });

  const remaining = async () =>
    (await store.client.query<{ seq: string | number }>("select seq from lk_outbox order by seq"))
      .map((r) => Number(r.seq));

  it("prunes only what every sink had: never a pending or dead-lettered event", async () => {
    await insertOutbox(store.client, null, [...events(4), ...events(1, "cloudevents")]);
    const [a, b, c, d, e] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    // Sink "ol" takes OpenLineage events: two delivered, one dead-lettered, one still pending.
    await run(outbox.settle("ol", {
      delivered: [a, b],
      deadLetters: [{ seq: c, runId: "r", jobId: null, status: 400, reason: "refused" }],
    }));
    await run(outbox.compact("ol", ["openlineage"]));
    // Sink "ce" takes CloudEvents and has not had its event yet.
    await run(outbox.compact("ce", ["cloudevents"]));
    expect(await pruneOutbox(store.client, 0)).toBe(2);
    expect(await remaining()).toEqual([c, d, e]);
    // The pending events are still handed out.
    expect((await run(outbox.pendingFor("ol", ["openlineage"], 10))).map((r) => r.seq)).toEqual(
      [d],
    );
    expect((await run(outbox.pendingFor("ce", ["cloudevents"], 10))).map((r) => r.seq)).toEqual(
      [e],
    );
  });

  it("keeps delivered events younger than the retention", async () => {
    await insertOutbox(store.client, null, events(2));
    const [a, b] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.settle("ol", { delivered: [a, b] }));
    await run(outbox.compact("ol", ["openlineage"]));
    expect(await run(outbox.prune!(60_000))).toBe(0);
    expect(await remaining()).toEqual([a, b]);
    expect(await store.prune(0)).toBe(2);
  });

  it("a sink that starts taking another channel gets that channel's events the others had", async () => {
    await insertOutbox(store.client, null, [...events(2), ...events(2, "cloudevents")]);
    const [a, b, c, d] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.settle("all", { delivered: [a, b, c, d] }));
    await run(outbox.compact("all", ["openlineage", "cloudevents"]));
    await run(outbox.settle("ol", { delivered: [a] }));
    await run(outbox.compact("ol", ["openlineage"]));
    // Every sink had the CloudEvents or does not take them: they are delivered.
    expect((await run(outbox.pendingFor("ol", ["openlineage"], 10))).map((r) => r.seq)).toEqual(
      [b],
    );
    await run(outbox.compact("ol", ["openlineage", "cloudevents"]));
    expect(
      (await run(outbox.pendingFor("ol", ["openlineage", "cloudevents"], 10))).map((r) => r.seq),
    ).toEqual([b, c, d]);
    expect(await pruneOutbox(store.client, 0)).toBe(1);
    expect(await remaining()).toEqual([b, c, d]);
  });

  it("a sink seen for the first time still gets the events the others had", async () => {
    await insertOutbox(store.client, null, events(3));
    const [a, b, c] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.settle("old", { delivered: [a, b, c] }));
    await run(outbox.compact("old", ["openlineage"]));
    // The new sink takes one event per scan: after its first, the others stay pending for it.
    expect((await run(outbox.pendingFor("new", ["openlineage"], 1))).map((r) => r.seq)).toEqual(
      [a],
    );
    await run(outbox.settle("new", { delivered: [a] }));
    expect((await run(outbox.pendingFor("new", ["openlineage"], 10))).map((r) => r.seq)).toEqual(
      [b, c],
    );
    expect(await pruneOutbox(store.client, 0)).toBe(0);
  });

  it("counts an event delivered when the last sink to take it has it, whichever sink that is", async () => {
    await insertOutbox(store.client, null, [...events(3), ...events(1, "cloudevents")]);
    const [a, b, c] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    const delivered = async () => (await run(storeFootprint(store.client))).outbox.delivered;
    await run(outbox.compact("one", ["openlineage"]));
    await run(outbox.compact("two", ["openlineage"]));
    // "one" has a and b; "two" has nothing yet: nothing is delivered but the CloudEvent, which no
    // sink takes, once a cursor moved over it.
    await run(outbox.settle("one", { delivered: [a, b] }));
    await run(outbox.compact("one", ["openlineage"]));
    expect(await delivered()).toBe(0);
    await run(outbox.settle("two", { delivered: [b, c] }));
    await run(outbox.compact("two", ["openlineage"]));
    expect(await delivered()).toBe(1);
    await run(outbox.settle("one", { delivered: [c] }));
    await run(outbox.compact("one", ["openlineage"]));
    expect(await delivered()).toBe(3);
    await run(outbox.settle("two", { delivered: [a] }));
    await run(outbox.compact("two", ["openlineage"]));
    expect(await delivered()).toBe(4);
    expect(await pruneOutbox(store.client, 0)).toBe(4);
  });

  it("dates only what some cursor has not passed; the rest is delivered as of when every cursor passed it", async () => {
    await insertOutbox(store.client, null, events(4));
    const [a, b, c, d] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    const dated = async () =>
      (await store.client.query<{ seq: string | number }>(
        "select seq from lk_outbox where delivered_at is not null order by seq",
      )).map((r) => Number(r.seq));
    await run(outbox.know([
      { name: "one", channels: ["openlineage"] },
      { name: "two", channels: ["openlineage"] },
    ]));
    // Both have a and b: every cursor passes them. "one" has d too but not c, so its cursor stops
    // at b: d, which "two" has as well, is dated; c is pending for "one".
    await run(outbox.settle("one", { delivered: [a, b, d] }));
    await run(outbox.compact("one", ["openlineage"]));
    await run(outbox.settle("two", { delivered: [a, b, c, d] }));
    await run(outbox.compact("two", ["openlineage"]));
    expect(await dated()).toEqual([d]);
    expect((await run(storeFootprint(store.client))).outbox).toEqual({ pending: 1, delivered: 3 });
    // Every cursor passed a and b two minutes ago, as far as the store knows.
    await store.client.exec(
      `update lk_outbox_delivered_through
       set at = at - interval '2 minutes', since = since - interval '2 minutes'`,
    );
    // "one" has c now: every cursor passes d, and nothing more is dated.
    await run(outbox.settle("one", { delivered: [c] }));
    await run(outbox.compact("one", ["openlineage"]));
    expect(await dated()).toEqual([d]);
    expect((await run(storeFootprint(store.client))).outbox).toEqual({ pending: 0, delivered: 4 });
    // Kept while younger than the retention, pruned after: a and b were passed by every cursor
    // two minutes ago; c only now, and d was dated now.
    expect(await pruneOutbox(store.client, 180_000)).toBe(0);
    expect(await pruneOutbox(store.client, 60_000)).toBe(2);
    expect(await remaining()).toEqual([c, d]);
    expect(await pruneOutbox(store.client, 0)).toBe(2);
    expect(await remaining()).toEqual([]);
  });

  it("records each channel's lowest cursor once a minute, moving it up between", async () => {
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    const marks = () =>
      store.client.query<{ channel: string; seq: string | number }>(
        "select channel, seq from lk_outbox_delivered_through order by channel, seq",
      );
    for (let flush = 0; flush < 3; flush++) {
      await insertOutbox(store.client, null, events(2));
      const pending = await run(outbox.pendingFor("ol", ["openlineage"], 10));
      await run(outbox.settle("ol", { delivered: pending.map((r) => r.seq) }));
      await run(outbox.compact("ol", ["openlineage"]));
    }
    expect(await remaining()).toHaveLength(6);
    const last = Math.max(...await remaining());
    // One record per channel, moved up to where the cursor stands after the third flush.
    expect((await marks()).map((m) => [m.channel, Number(m.seq)])).toEqual([
      ["cloudevents", last],
      ["openlineage", last],
    ]);
    // A minute after it was made, while flushes kept moving it (its date is their last), the
    // next move makes a new record; the old one keeps what it covered and when.
    await store.client.exec(
      "update lk_outbox_delivered_through set since = since - interval '2 minutes'",
    );
    await insertOutbox(store.client, null, events(1));
    await run(outbox.settle("ol", { delivered: [Math.max(...await remaining())] }));
    await run(outbox.compact("ol", ["openlineage"]));
    expect((await marks()).filter((m) => m.channel === "openlineage").map((m) => Number(m.seq)))
      .toEqual([last, Math.max(...await remaining())]);
    // Delivered within the minute: kept for a retention of a minute, until that minute passed.
    expect(await pruneOutbox(store.client, 60_000)).toBe(0);
    await store.client.exec(
      `update lk_outbox_delivered_through set at = at - interval '2 minutes' where seq = ${last}`,
    );
    expect(await pruneOutbox(store.client, 60_000)).toBe(6);
    expect(await pruneOutbox(store.client, 0)).toBe(1);
  });

  it("sinks of different channels date nothing once each has its own channel's events", async () => {
    await insertOutbox(store.client, null, [
      ...events(2),
      ...events(2, "cloudevents"),
      ...events(1),
    ]);
    const [a, b, c, d, e] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.know([
      { name: "ol", channels: ["openlineage"] },
      { name: "ce", channels: ["cloudevents"] },
    ]));
    await run(outbox.settle("ol", { delivered: [a, b, e] }));
    await run(outbox.compact("ol", ["openlineage"]));
    // The CloudEvents wait for "ce" alone; the OpenLineage events are every taker's already.
    expect((await run(storeFootprint(store.client))).outbox).toEqual({ pending: 2, delivered: 3 });
    await run(outbox.settle("ce", { delivered: [c, d] }));
    await run(outbox.compact("ce", ["cloudevents"]));
    expect((await run(storeFootprint(store.client))).outbox).toEqual({ pending: 0, delivered: 5 });
    expect(
      await store.client.query("select seq from lk_outbox where delivered_at is not null"),
    ).toEqual([]);
    expect(await pruneOutbox(store.client, 0)).toBe(5);
  });

  it("with deleteDelivered, deletes what every sink had at once: never a pending or dead-lettered event", async () => {
    await insertOutbox(store.client, null, [...events(4), ...events(1, "cloudevents")]);
    const [a, b, c, d, e] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0, deleteDelivered: true });
    // Both sinks known before anything is delivered (what a sink seen later would have missed
    // is gone, as retention 0 prunes it).
    await run(outbox.compact("ol", ["openlineage"]));
    await run(outbox.compact("ce", ["cloudevents"]));
    await run(outbox.settle("ol", {
      delivered: [a, b],
      deadLetters: [{ seq: c, runId: "r", jobId: null, status: 400, reason: "refused" }],
    }));
    await run(outbox.compact("ol", ["openlineage"]));
    expect(await remaining()).toEqual([c, d, e]);
    expect((await run(outbox.pendingFor("ol", ["openlineage"], 10))).map((r) => r.seq)).toEqual(
      [d],
    );
    await run(outbox.settle("ce", { delivered: [e] }));
    await run(outbox.compact("ce", ["cloudevents"]));
    await run(outbox.settle("ol", { delivered: [d] }));
    await run(outbox.compact("ol", ["openlineage"]));
    expect(await remaining()).toEqual([c]);
    expect(await pruneOutbox(store.client, 0)).toBe(0);
  });

  it("a store with retention 0 deletes delivered events when the last sink has them", async () => {
    const { outbox } = await storeFromClient(store.client, store.spec, { outboxRetentionMs: 0 });
    if (!hasDeliveryLog(outbox)) throw new Error("the store's outbox keeps no delivery records");
    await insertOutbox(store.client, null, events(3));
    const [a, b, c] = await remaining();
    await run(outbox.settle("ol", { delivered: [a, b] }));
    await run(outbox.compact("ol", ["openlineage"]));
    expect(await remaining()).toEqual([c]);
  });

  it("a sink that starts taking another channel leaves delivered what its cursor has passed", async () => {
    await insertOutbox(store.client, null, [...events(1), ...events(1, "cloudevents")]);
    const [a] = await remaining();
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.settle("ol", { delivered: [a] }));
    await run(outbox.compact("ol", ["openlineage"]));
    await insertOutbox(store.client, null, events(1, "cloudevents"));
    const [, , c] = await remaining();
    // Its cursor is past a and b: it will never read b, so b stays delivered; c is new to it.
    await run(outbox.compact("ol", ["openlineage", "cloudevents"]));
    expect(
      (await run(outbox.pendingFor("ol", ["openlineage", "cloudevents"], 10))).map((r) => r.seq),
    )
      .toEqual([c]);
    expect(await pruneOutbox(store.client, 0)).toBe(2);
    expect(await remaining()).toEqual([c]);
  });
});
