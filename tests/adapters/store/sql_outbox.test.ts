import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Effect } from "effect";
import { insertOutbox, makeSqlOutboxStore } from "../../../adapters/store/sql_outbox.ts";
import type { Store } from "../../../adapters/store/store.ts";
import type { OutboxEvent } from "../../../lineage/outbox.ts";
import { backends } from "../../_stores.ts";
import { planOf } from "./_plans.ts";

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect);

const events = (runId: string, n: number, channel: OutboxEvent["channel"] = "openlineage") =>
  Array.from({ length: n }, (_, i): OutboxEvent => ({ channel, runId, payload: { n: i + 1 } }));

describe.each(backends)("SqlOutboxStore delivery records on $name", (backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
  });

  const seqs = async (sink: string, channels: OutboxEvent["channel"][] = ["openlineage"]) =>
    (await run(makeSqlOutboxStore(store.client).pendingFor(sink, channels, 100))).map((r) => r.seq);

  it("pendingFor() skips settled events and other channels; counts() says what is left", async () => {
    await insertOutbox(store.client, "job-a", [
      ...events("r1", 3),
      ...events("r1", 2, "cloudevents"),
    ]);
    const outbox = makeSqlOutboxStore(store.client);
    const all = await seqs("s");
    expect(all).toHaveLength(3);
    await run(outbox.settle("s", {
      delivered: [all[0], all[2]],
      deadLetters: [{ seq: all[1], runId: "r1", jobId: "job-a", status: 400, reason: "refused" }],
    }));
    expect(await seqs("s")).toEqual([]);
    expect(await seqs("other")).toEqual(all);
    expect(await run(outbox.counts("s", ["openlineage"]))).toEqual({ pending: 0, deadLettered: 1 });
    expect(await run(outbox.counts("s", ["cloudevents"]))).toEqual({ pending: 2, deadLettered: 1 });
    const [cursor] = await store.client.query<{ delivered: number }>(
      "select delivered::int as delivered from lk_outbox_cursors where sink = 's'",
    );
    expect(cursor.delivered).toBe(2);
  });

  it("quiet() only once nothing of the sink's channels is unsettled and its records are folded", async () => {
    await insertOutbox(store.client, "job-a", [
      ...events("r1", 2),
      ...events("r1", 1, "cloudevents"),
    ]);
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    const quiet = (channels: OutboxEvent["channel"][]) => run(outbox.quiet!("s", channels));
    await run(outbox.know([{ name: "s", channels: ["openlineage"] }]));
    expect(await quiet(["openlineage"])).toBe(false);
    const [first, second] = await seqs("s");
    await run(outbox.settle("s", { delivered: [first] }));
    expect(await quiet(["openlineage"])).toBe(false);
    await run(outbox.settle("s", { delivered: [second] }));
    // Both settled, but their records are not folded into the cursor yet.
    expect(await quiet(["openlineage"])).toBe(false);
    await run(outbox.compact("s", ["openlineage"]));
    expect(await quiet(["openlineage"])).toBe(true);
    // The CloudEvent is another channel's: pending for a sink that takes it.
    await run(outbox.know([{ name: "t", channels: ["cloudevents"] }]));
    expect(await run(outbox.quiet!("t", ["cloudevents"]))).toBe(false);
    expect(await run(outbox.quiet!("never-seen", ["openlineage"]))).toBe(false);
  });

  it("settling the same event twice records it once", async () => {
    await insertOutbox(store.client, "job-a", events("r1", 1));
    const outbox = makeSqlOutboxStore(store.client);
    const [seq] = await seqs("s");
    await run(outbox.settle("s", { delivered: [seq] }));
    await run(outbox.settle("s", { delivered: [seq] }));
    const rows = await store.client.query("select * from lk_outbox_settled where sink = 's'");
    expect(rows).toHaveLength(1);
  });

  it("compact() folds settled events into the cursor up to the first unsettled one, past the horizon only", async () => {
    await insertOutbox(store.client, "job-a", events("r1", 4));
    const [a, b, c, d] = await seqs("s");
    const young = makeSqlOutboxStore(store.client);
    const old = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(old.settle("s", { delivered: [a, b, d] }));
    await run(young.compact("s", ["openlineage"]));
    const cursor = async () =>
      Number(
        (await store.client.query<{ last_seq: string }>(
          "select last_seq from lk_outbox_cursors where sink = 's'",
        ))[0].last_seq,
      );
    expect(await cursor()).toBe(0);
    await run(old.compact("s", ["openlineage"]));
    expect(await cursor()).toBe(b);
    expect(await seqs("s")).toEqual([c]);
    await run(old.settle("s", { delivered: [c] }));
    await run(old.compact("s", ["openlineage"]));
    expect(await cursor()).toBe(d);
    expect(await store.client.query("select * from lk_outbox_settled where sink = 's'")).toEqual(
      [],
    );
    expect(await run(old.backlog("s"))).toBe(0);
  });

  it("backlog() and pending() of the cursor API leave out events settled one by one", async () => {
    await insertOutbox(store.client, "job-a", events("r1", 3));
    const outbox = makeSqlOutboxStore(store.client);
    const [a, b, c] = await seqs("s");
    await run(outbox.settle("s", { delivered: [b] }));
    expect(await run(outbox.backlog("s"))).toBe(2);
    expect((await run(outbox.pending("s", 10))).map((r) => r.seq)).toEqual([a, c]);
  });

  it("pendingFor() reads a page of a backlog in seq order from an index, never sorting the backlog", async () => {
    // A backlog the planner has no statistics for (a new store; PGlite never gathers them itself).
    await insertOutbox(store.client, "job-a", [
      ...events("r1", 3000),
      ...events("r1", 3000, "cloudevents"),
    ]);
    const outbox = makeSqlOutboxStore(store.client);
    await run(outbox.settle("s", { delivered: (await seqs("s")).slice(0, 1) }));
    const plan = await planOf(store.client, async (recording) => {
      const page = await run(makeSqlOutboxStore(recording).pendingFor("s", ["openlineage"], 500));
      expect(page).toHaveLength(500);
    }, "from lk_outbox o");
    expect(plan).toMatch(/Index (Only )?Scan/);
    expect(plan).not.toMatch(/Sort|Bitmap Heap Scan/);
  });

  it("counts() counts pending events up to a limit when given one, saying there are more", async () => {
    await insertOutbox(store.client, "job-a", events("r1", 5));
    const outbox = makeSqlOutboxStore(store.client);
    await run(outbox.settle("s", { delivered: (await seqs("s")).slice(0, 1) }));
    expect(await run(outbox.counts("s", ["openlineage"], 3))).toEqual({
      pending: 3,
      pendingAtLeast: true,
      deadLettered: 0,
    });
    expect(await run(outbox.counts("s", ["openlineage"], 4))).toEqual({
      pending: 4,
      deadLettered: 0,
    });
    expect(await run(outbox.counts("s", ["openlineage"]))).toEqual({ pending: 4, deadLettered: 0 });
  });

  it("looks settled records up by key, even when the table was empty as the plan was made", async () => {
    // The embedded store keeps a statement's generic plan: made while a sink's settled records
    // were none (a compaction had just folded them into its cursor), a plan that scans them all
    // for each pending event stayed in use as a long flush settled thousands.
    await insertOutbox(store.client, "job-a", events("r1", 3000));
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.compact("s", ["openlineage"]));
    await store.client.exec("vacuum analyze lk_outbox_settled");
    const planOfOperation = (
      operation: (
        recorded: ReturnType<typeof makeSqlOutboxStore>,
      ) => Effect.Effect<unknown, unknown>,
      statement: string,
    ) =>
      planOf(
        store.client,
        (recording) => run(operation(makeSqlOutboxStore(recording, { horizonMs: 0 }))),
        statement,
      );
    const plans = [
      await planOfOperation((o) => o.pendingFor("s", ["openlineage"], 500), "order by o.seq limit"),
      await planOfOperation((o) => o.counts("s", ["openlineage"], 500), "count(*)"),
      await planOfOperation((o) => o.compact("s", ["openlineage"]), "with first_open as"),
    ];
    await run(outbox.settle("s", { delivered: (await seqs("s")).slice(0, 10) }));
    plans.push(
      await planOfOperation((o) => o.compact("s", ["openlineage"]), "set delivered_at = now()"),
    );
    for (const plan of plans) expect(plan).not.toMatch(/Seq Scan on lk_outbox_settled/);
  });

  it("compact() reads only what the sink handled since its last one, from indexes, however long the backlog", async () => {
    await insertOutbox(store.client, "job-a", [
      ...events("r1", 3000),
      ...events("r1", 3000, "cloudevents"),
    ]);
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    const all = await seqs("s", ["openlineage", "cloudevents"]);
    await run(outbox.settle("s", { delivered: all.slice(0, 50) }));
    await run(outbox.compact("s", ["openlineage", "cloudevents"]));
    await run(outbox.settle("s", { delivered: all.slice(50, 100) }));
    const planOfCompact = (statement: string) =>
      planOf(
        store.client,
        (recording) =>
          run(
            makeSqlOutboxStore(recording, { horizonMs: 0 }).compact("s", [
              "openlineage",
              "cloudevents",
            ]),
          ),
        statement,
      );
    // Dating: the undelivered events between the cursor before and the newest settled one.
    const dating = await planOfCompact("update lk_outbox o set delivered_at");
    expect(dating).toMatch(
      /Index Scan using lk_outbox_undelivered[^\n]*\n\s*Index Cond: \(\(seq >/,
    );
    // The cursor's move: from the first unsettled event, walking back to one old enough.
    const cursor = await planOfCompact("with first_open as");
    expect(cursor).toMatch(/Index Scan Backward using lk_outbox_pkey/);
    for (const plan of [dating, cursor]) {
      expect(plan).not.toMatch(/Seq Scan on lk_outbox o|Bitmap Heap Scan on lk_outbox|Sort/);
    }
  });

  it("prune() reads the events every cursor passed from an index, not the whole outbox", async () => {
    await insertOutbox(store.client, "job-a", events("r1", 3000));
    const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
    await run(outbox.settle("s", { delivered: (await seqs("s")).slice(0, 100) }));
    await run(outbox.compact("s", ["openlineage"]));
    let pruned = 0;
    const plan = await planOf(
      store.client,
      async (recording) => pruned = await run(makeSqlOutboxStore(recording).prune!(0)),
      "delete from lk_outbox o",
    );
    expect(pruned).toBe(100);
    expect(plan).toMatch(/Index (Only )?Scan (using|on) lk_outbox_(undelivered|pkey)/);
    expect(plan).not.toMatch(/Seq Scan on lk_outbox o/);
  });
});
