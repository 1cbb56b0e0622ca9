/**
 * What the lineage viewer commands share: reading a store's OpenLineage events from the outbox
 * (with the document of their ledger job), and opening the store named by `--store`.
 *
 * @module
 */
import type { SqlExecutor } from "../adapters/store/sql_client.ts";
import { readStoredEvent } from "../adapters/store/sql_outbox.ts";
import type { LineageEvent } from "../lineage/lineage_view.ts";
import { openExistingStore, storeSpec } from "./_command.ts";

interface EventRow {
  seq: string | number;
  job_id: string | null;
  doc_id: string | null;
  /** The event's JSON text, as written. */
  payload: string;
}

/**
 * The OpenLineage events the outbox holds, oldest first: every one, or those of one tenant's jobs
 * (events written outside any job belong to no tenant and are left out then). An event whose
 * stored text is not a JSON object is left out too, its number added to `unreadable`.
 */
export const readLineageEvents = async (
  db: SqlExecutor,
  tenant?: string,
  unreadable: number[] = [],
): Promise<ReadonlyArray<LineageEvent>> => {
  const rows = await db.query<EventRow>(
    `select o.seq, o.job_id, j.doc_key as doc_id, o.payload
     from lk_outbox o left join lk_jobs j on j.job_id = o.job_id
     where o.channel = 'openlineage' and ($1::text is null or j.tenant_id = $1)
     order by o.seq`,
    [tenant ?? null],
  );
  return rows.flatMap((r) => {
    const read = readStoredEvent(r.payload);
    if (!("payload" in read)) {
      unreadable.push(Number(r.seq));
      return [];
    }
    return [{ seq: Number(r.seq), jobId: r.job_id, docId: r.doc_id, payload: read.payload }];
  });
};

/** The `--tenant` flag of the lineage viewer commands, with its usage line. */
export { tenantFlag, tenantOf } from "./_tenant.ts";
export const tenantUsage = "  --tenant ID       only this tenant's runs (default: default)";

/**
 * The events of one tenant in the store a `--store` value names, and where it is; exit 2 when
 * there is none. With `others`, also every tenant's events (to tell a run of another tenant from
 * no run at all).
 */
export const loadLineageEvents = async (
  command: string,
  flag: string | undefined,
  tenant: string,
  options: { readonly others?: boolean } = {},
): Promise<
  | {
    events: ReadonlyArray<LineageEvent>;
    location: string;
    others: ReadonlyArray<LineageEvent>;
  }
  | number
> => {
  const spec = storeSpec(flag);
  const store = await openExistingStore(command, spec, { keepLeases: true });
  if (typeof store === "number") return store;
  try {
    const unreadable: number[] = [];
    const events = await readLineageEvents(store.client, tenant, unreadable);
    const others = options.others ? await readLineageEvents(store.client) : [];
    if (unreadable.length > 0) {
      console.error(
        `${command}: left out ${unreadable.length} stored event(s) that are not JSON (outbox seq ${
          unreadable.slice(0, 5).join(", ")
        }${unreadable.length > 5 ? ", …" : ""})`,
      );
    }
    return { events, location: store.client.location, others };
  } finally {
    await store.close();
  }
};
