/**
 * What the lineage viewer commands share: reading a store's OpenLineage events from the outbox
 * (with the document of their ledger job), and opening the store named by `--store`.
 *
 * @module
 */
import type { SqlExecutor } from "../adapters/store/sql_client.ts";
import type { LineageEvent } from "../lineage/lineage_view.ts";
import { openExistingStore, storeSpec } from "./_command.ts";

interface EventRow {
  seq: string | number;
  job_id: string | null;
  doc_id: string | null;
  payload: unknown;
}

/** Every OpenLineage event the outbox holds, oldest first. */
export const readLineageEvents = async (
  db: SqlExecutor,
): Promise<ReadonlyArray<LineageEvent>> => {
  const rows = await db.query<EventRow>(
    `select o.seq, o.job_id, j.doc_key as doc_id, o.payload
     from lk_outbox o left join lk_jobs j on j.job_id = o.job_id
     where o.channel = 'openlineage'
     order by o.seq`,
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    jobId: r.job_id,
    docId: r.doc_id,
    payload: r.payload,
  }));
};

/** The events of the store a `--store` value names, and where it is; exit 2 when there is none. */
export const loadLineageEvents = async (
  command: string,
  flag: string | undefined,
): Promise<{ events: ReadonlyArray<LineageEvent>; location: string } | number> => {
  const spec = storeSpec(flag);
  const store = await openExistingStore(command, spec, { keepLeases: true });
  if (typeof store === "number") return store;
  try {
    return { events: await readLineageEvents(store.client), location: store.client.location };
  } finally {
    await store.close();
  }
};
