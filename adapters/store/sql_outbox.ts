/**
 * The outbox in SQL: inserts inside ledger transactions, and per-sink cursors for the relay.
 *
 * @module
 */
import type {
  OutboxChannel,
  OutboxEvent,
  OutboxRow,
  OutboxStoreShape,
} from "../../lineage/outbox.ts";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { storeOp } from "./store_op.ts";

/** Appends events to the outbox inside the caller's transaction, keeping their order. */
export const insertOutbox = async (
  tx: SqlExecutor,
  jobId: string | null,
  events: ReadonlyArray<OutboxEvent>,
): Promise<void> => {
  if (events.length === 0) return;
  // One statement for the batch; `with ordinality` keeps the caller's order in the sequence.
  await tx.query(
    `insert into lk_outbox (channel, run_id, job_id, payload)
     select e.value->>'channel', e.value->>'run_id', $1, e.value->'payload'
     from jsonb_array_elements($2::jsonb) with ordinality as e(value, n)
     order by e.n`,
    [
      jobId,
      JSON.stringify(
        events.map((e) => ({ channel: e.channel, run_id: e.runId, payload: e.payload })),
      ),
    ],
  );
};

/** The relay's view of the outbox. */
export const makeSqlOutboxStore = (db: SqlClient): OutboxStoreShape => ({
  pending: (sink, limit) =>
    storeOp("outbox.pending", async () => {
      const rows = await db.query<{
        seq: string | number;
        channel: OutboxChannel;
        run_id: string;
        job_id: string | null;
        payload: Record<string, unknown>;
      }>(
        `select o.seq, o.channel, o.run_id, o.job_id, o.payload from lk_outbox o
         where o.seq > coalesce((select last_seq from lk_outbox_cursors where sink = $1), 0)
         order by o.seq limit $2`,
        [sink, limit],
      );
      return rows.map((r): OutboxRow => ({
        seq: Number(r.seq),
        channel: r.channel,
        runId: r.run_id,
        jobId: r.job_id,
        payload: r.payload,
      }));
    }),
  acknowledge: (sink, seq, count) =>
    storeOp("outbox.acknowledge", async () => {
      await db.query(
        `insert into lk_outbox_cursors (sink, last_seq, delivered) values ($1, $2, $3)
         on conflict (sink) do update set last_seq = greatest(lk_outbox_cursors.last_seq, $2),
           delivered = lk_outbox_cursors.delivered + $3, updated_at = now()`,
        [sink, seq, count],
      );
    }),
  backlog: (sink) =>
    storeOp("outbox.backlog", async () => {
      const [r] = await db.query<{ n: number }>(
        `select count(*)::int as n from lk_outbox
         where seq > coalesce((select last_seq from lk_outbox_cursors where sink = $1), 0)`,
        [sink],
      );
      return r.n;
    }),
  totals: () =>
    storeOp("outbox.totals", async () => {
      const rows = await db.query<{ channel: OutboxChannel; n: number }>(
        "select channel, count(*)::int as n from lk_outbox group by channel",
      );
      const totals = { openlineage: 0, cloudevents: 0 };
      for (const r of rows) totals[r.channel] = r.n;
      return totals;
    }),
});
