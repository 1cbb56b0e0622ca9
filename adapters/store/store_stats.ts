/**
 * What the store holds, for `deno task status`.
 *
 * @module
 */
import type { Effect } from "effect";
import type { StoreError } from "../../lineage/outbox.ts";
import { type JobStatus, jobStatuses } from "../../pipelines/ledger.ts";
import type { SqlClient } from "./sql_client.ts";
import { storeOp } from "./store_op.ts";

/** Counts across the store. */
export interface StoreStats {
  /** How many jobs are in each status. */
  readonly jobs: Readonly<Record<JobStatus, number>>;
  /** How many documents have chunks in the index. */
  readonly documents: number;
  /** How many chunks are indexed. */
  readonly chunks: number;
  /** How many indexed chunks have an embedding. */
  readonly embeddings: number;
  /** How many nodes and edges the knowledge graph holds. */
  readonly kg: { readonly nodes: number; readonly edges: number };
  /** How many events the outbox holds, by channel. */
  readonly outbox: { readonly openlineage: number; readonly cloudevents: number };
}

const count = async (db: SqlClient, sql: string): Promise<number> =>
  (await db.query<{ n: number }>(sql))[0].n;

/** Reads the store's counts. */
export const storeStats = (db: SqlClient): Effect.Effect<StoreStats, StoreError> =>
  storeOp("stats", async () => {
    const jobs = Object.fromEntries(jobStatuses.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (
      const r of await db.query<{ status: JobStatus; n: number }>(
        "select status, count(*)::int as n from lk_jobs group by status",
      )
    ) jobs[r.status] = r.n;
    return {
      jobs,
      documents: await count(db, "select count(distinct doc_id)::int as n from lk_chunks"),
      chunks: await count(db, "select count(*)::int as n from lk_chunks"),
      embeddings: await count(
        db,
        "select count(*)::int as n from lk_chunks where embedding is not null",
      ),
      kg: {
        nodes: await count(db, "select count(*)::int as n from lk_kg_nodes"),
        edges: await count(db, "select count(*)::int as n from lk_kg_edges"),
      },
      outbox: {
        openlineage: await count(
          db,
          "select count(*)::int as n from lk_outbox where channel = 'openlineage'",
        ),
        cloudevents: await count(
          db,
          "select count(*)::int as n from lk_outbox where channel = 'cloudevents'",
        ),
      },
    };
  });
