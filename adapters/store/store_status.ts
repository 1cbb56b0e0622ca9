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

/** Reads what `status` shows of `store` for `tenant`. */
export const readStoreStatus = async (store: Store, tenant: string): Promise<StoreStatus> => {
  const stats = await Effect.runPromise(storeStats(store.client, tenant));
  const footprint = await Effect.runPromise(storeFootprint(store.client));
  const running = await Effect.runPromise(
    store.ledger.list({ statuses: ["running"], tenantId: tenant }),
  );
  const paused = await Effect.runPromise(
    store.ledger.list({ statuses: ["paused"], tenantId: tenant }),
  );
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
