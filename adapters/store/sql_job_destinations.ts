/**
 * The lineage destinations recorded with jobs (`lk_jobs.lineage_target`, `events_target`), as a
 * process that works on jobs it did not start reads them to deliver where those jobs' runs were
 * told to.
 *
 * @module
 */
import type { JobDestinations } from "../../pipelines/ledger.ts";
import type { SqlExecutor } from "./sql_client.ts";

/** The store's clock now: the mark {@link recordedDestinations} compares `since` with. */
export const storeNow = async (db: SqlExecutor): Promise<Date> => {
  const [row] = await db.query<{ now: Date | string }>("select clock_timestamp() as now");
  return new Date(row.now);
};

/**
 * The distinct destinations of the jobs not finished yet (queued, running, paused) and of those
 * changed at or after `since` (the ones this process worked on and finished); an empty list when
 * the store has none of either.
 */
export const recordedDestinations = async (
  db: SqlExecutor,
  since: Date,
): Promise<ReadonlyArray<JobDestinations>> => {
  const rows = await db.query<{ lineage_target: string | null; events_target: string | null }>(
    `select distinct lineage_target, events_target from lk_jobs
     where status in ('queued', 'running', 'paused') or updated_at >= $1
     order by lineage_target nulls first, events_target nulls first`,
    [since.toISOString()],
  );
  return rows.map((r) => ({
    ...(r.lineage_target === null ? {} : { lineage: r.lineage_target }),
    ...(r.events_target === null ? {} : { events: r.events_target }),
  }));
};
