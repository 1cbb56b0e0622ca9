/**
 * How many outbox events given jobs wrote after a point: what a run reports as its own events,
 * not counting what other processes wrote to the same store meanwhile.
 *
 * @module
 */
import type { OutboxChannel } from "../../lineage/outbox.ts";
import type { SqlExecutor } from "./sql_client.ts";

/** The highest outbox sequence number now (0 for an empty outbox). */
export const outboxHead = async (db: SqlExecutor): Promise<number> => {
  const [row] = await db.query<{ seq: string | number | null }>(
    "select max(seq) as seq from lk_outbox",
  );
  return Number(row?.seq ?? 0);
};

/** Events of `jobIds` past sequence number `after`, by channel. */
export const jobEventCounts = async (
  db: SqlExecutor,
  jobIds: ReadonlyArray<string>,
  after: number,
): Promise<Readonly<Record<OutboxChannel, number>>> => {
  const counts = { openlineage: 0, cloudevents: 0 };
  if (jobIds.length === 0) return counts;
  const rows = await db.query<{ channel: OutboxChannel; n: string | number }>(
    `select channel, count(*) as n from lk_outbox
     where seq > $1 and job_id in (select jsonb_array_elements_text($2::jsonb))
     group by channel`,
    [after, JSON.stringify(jobIds)],
  );
  for (const r of rows) counts[r.channel] = Number(r.n);
  return counts;
};
