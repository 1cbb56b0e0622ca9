/**
 * What the store holds, for `deno task status`.
 *
 * @module
 */
import type { Effect } from "effect";
import type { StoreError } from "../../lineage/outbox.ts";
import { type JobStatus, jobStatuses } from "../../pipelines/ledger.ts";
import type { SqlExecutor } from "./sql_client.ts";
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

// `$1` is the tenant, or null for every tenant.
const count = async (db: SqlExecutor, sql: string, tenant: string | null): Promise<number> =>
  (await db.query<{ n: number }>(sql, [tenant]))[0].n;

const ofTenant = "($1::text is null or tenant_id = $1)";
const outboxOf = (channel: string) =>
  `select count(*)::int as n from lk_outbox o where o.channel = '${channel}' and ($1::text is null
     or exists (select 1 from lk_jobs j where j.job_id = o.job_id and j.tenant_id = $1))`;

/** Reads the store's counts: a tenant's, or (`tenantId` undefined) every tenant's. */
export const storeStats = (
  db: SqlExecutor,
  tenantId?: string,
): Effect.Effect<StoreStats, StoreError> =>
  storeOp("stats", async () => {
    const tenant = tenantId ?? null;
    const jobs = Object.fromEntries(jobStatuses.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (
      const r of await db.query<{ status: JobStatus; n: number }>(
        `select status, count(*)::int as n from lk_jobs where ${ofTenant} group by status`,
        [tenant],
      )
    ) jobs[r.status] = r.n;
    return {
      jobs,
      documents: await count(
        db,
        `select count(distinct doc_id)::int as n from lk_chunks where ${ofTenant}`,
        tenant,
      ),
      chunks: await count(db, `select count(*)::int as n from lk_chunks where ${ofTenant}`, tenant),
      embeddings: await count(
        db,
        `select count(*)::int as n from lk_chunks where embedding is not null and ${ofTenant}`,
        tenant,
      ),
      kg: {
        nodes: await count(
          db,
          `select count(*)::int as n from lk_kg_nodes where ${ofTenant}`,
          tenant,
        ),
        edges: await count(
          db,
          `select count(*)::int as n from lk_kg_edges where ${ofTenant}`,
          tenant,
        ),
      },
      outbox: {
        openlineage: await count(db, outboxOf("openlineage"), tenant),
        cloudevents: await count(db, outboxOf("cloudevents"), tenant),
      },
    };
  });
