/**
 * What `deno task status` shows of a store, read in one place: by `status` from a store it opened,
 * and by the process holding an embedded store for a `status` that cannot open it (see
 * status_socket.ts). Times are ISO strings, so the status crosses a socket as it is.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { jobStatuses } from "../../pipelines/ledger.ts";
import type { Store } from "./store.ts";
import type { SqlExecutor } from "./sql_client.ts";
import { listJobs } from "./sql_job_ledger.ts";
import { type StoreStats, storeStats } from "./store_stats.ts";
import { type StoreFootprint, storeFootprint } from "./store_footprint.ts";

/** A running job: the process running it holds its lease until `leaseExpiresAt`. */
export interface RunningJobRow {
  readonly jobId: string;
  readonly docId: string;
  readonly stage: string | null;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: string | null;
}

/** A job paused at a gate (its current stage) since `pausedAt`. */
export interface PausedJobRow {
  readonly jobId: string;
  readonly docId: string;
  readonly pipeline: string;
  readonly stage: string | null;
  readonly pausedAt: string;
}

/** A store's counts, footprint, running and paused jobs (of one tenant). */
export interface StoreStatus extends StoreStats {
  readonly tenant: string;
  readonly footprint: StoreFootprint;
  readonly running: ReadonlyArray<RunningJobRow>;
  readonly paused: ReadonlyArray<PausedJobRow>;
}

const read = async (db: SqlExecutor, tenant: string): Promise<StoreStatus> => {
  const stats = await Effect.runPromise(storeStats(db, tenant));
  const footprint = await Effect.runPromise(storeFootprint(db));
  const running = await listJobs(db, { statuses: ["running"], tenantId: tenant });
  const paused = await listJobs(db, { statuses: ["paused"], tenantId: tenant });
  return {
    tenant,
    ...stats,
    footprint,
    running: running.map((job) => ({
      jobId: job.jobId,
      docId: job.docId,
      stage: job.currentStage,
      leaseOwner: job.leaseOwner,
      leaseExpiresAt: job.leaseExpiresAt?.toISOString() ?? null,
    })),
    paused: paused.map((job) => ({
      jobId: job.jobId,
      docId: job.docId,
      pipeline: job.pipeline,
      stage: job.currentStage,
      pausedAt: (job.pausedAt ?? job.updatedAt).toISOString(),
    })),
  };
};

/**
 * Reads what `status` shows of `store` for `tenant`. On PGlite in one transaction: it runs whole
 * between the statements of the process that has the store open (a busy run's, when that process
 * answers a `status` for another one), where a dozen statements alone would each wait their turn
 * behind them; and its counts and lists agree with each other. On a server, statement by
 * statement (the WAL's size may be refused to the user, which would end a transaction).
 */
export const readStoreStatus = (store: Store, tenant: string): Promise<StoreStatus> =>
  store.client.dialect === "pglite"
    ? store.client.transaction((tx) => read(tx, tenant))
    : read(store.client, tenant);

const count = z.number().int().nonnegative();
const isoTime = z.iso.datetime();

/** A {@link StoreStatus} as it crosses a socket: checked before `status` shows it. */
export const storeStatusSchema: z.ZodType<StoreStatus> = z.object({
  tenant: z.string(),
  // Statuses this kit does not know (a holder of another version) are left out.
  jobs: z.object(Object.fromEntries(jobStatuses.map((s) => [s, count]))) as unknown as z.ZodType<
    StoreStats["jobs"]
  >,
  documents: count,
  chunks: count,
  embeddings: count,
  kg: z.object({ nodes: count, edges: count }),
  outbox: z.object({ openlineage: count, cloudevents: count }),
  footprint: z.object({
    databaseBytes: count,
    walBytes: count.nullable(),
    outbox: z.object({ pending: count, delivered: count }),
  }),
  running: z.array(z.object({
    jobId: z.string(),
    docId: z.string(),
    stage: z.string().nullable(),
    leaseOwner: z.string().nullable(),
    leaseExpiresAt: isoTime.nullable(),
  })),
  paused: z.array(z.object({
    jobId: z.string(),
    docId: z.string(),
    pipeline: z.string(),
    stage: z.string().nullable(),
    pausedAt: isoTime,
  })),
});
