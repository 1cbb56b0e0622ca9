import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Effect } from "effect";
import type { Store } from "../../../adapters/store/store.ts";
import { makeSqlJobLedger } from "../../../adapters/store/sql_job_ledger.ts";
import type { Job } from "../../../pipelines/ledger.ts";
import { backends } from "../../_stores.ts";
import { planOf } from "./_plans.ts";
import { firstRun } from "./_claims.ts";

const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect);

describe.each(backends)("SqlJobLedger.runnable() on $name", (backend) => {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
  });

  // `n` queued jobs of pipeline "p", enqueued together, in queue order.
  const queued = async (n: number): Promise<Job[]> =>
    (await run(Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) =>
        store.ledger.enqueue({
          tenantId: "t",
          request: {
            source: "clinicaltrials",
            docKey: `NCT${String(i).padStart(8, "0")}`,
            location: { kind: "file", file: "x.json", pointer: "" },
          },
          pipeline: "p",
          pipelineVersion: "1",
        }),
      { concurrency: "unbounded" },
    ))).map((e) => e.job);

  const ids = (jobs: ReadonlyArray<Job>) => jobs.map((j) => j.jobId);
  const reserve = (owner: string, limit: number) =>
    run(store.ledger.runnable({ pipelines: ["p"], limit, reserveFor: { owner, ttlMs: 60_000 } }));

  it("gives workers asking at once different jobs, oldest first, until a reservation runs out", async () => {
    const jobs = await queued(5);
    expect(ids(await reserve("a", 2))).toEqual(ids(jobs.slice(0, 2)));
    expect(ids(await reserve("b", 2))).toEqual(ids(jobs.slice(2, 4)));
    expect(ids(await reserve("c", 5))).toEqual(ids(jobs.slice(4)));
    // Everything is reserved: another asker gets nothing, and so does one that reserves nothing.
    expect(await reserve("d", 5)).toEqual([]);
    expect(await run(store.ledger.runnable({ pipelines: ["p"], limit: 5 }))).toEqual([]);
    // A worker asking again is given back what it reserved.
    expect(ids(await reserve("a", 5))).toEqual(ids(jobs.slice(0, 2)));
    // Reservations that ran out (their worker stopped) go to the next asker.
    await store.client.query(
      `update lk_jobs set lease_expires_at = now() - interval '1 second'
       where lease_owner = 'b'`,
    );
    expect(ids(await reserve("d", 5))).toEqual(ids(jobs.slice(2, 4)));
    // Still queued, and the claim decides: another process may claim a reserved job.
    const listed = await run(store.ledger.get(jobs[0].jobId));
    expect(listed).toMatchObject({ status: "queued", leaseOwner: "a" });
    const claimed = await run(
      store.ledger.beginRun(firstRun(jobs[0].jobId, { owner: "runner-x", ttlMs: 60_000 }), []),
    );
    expect(claimed).toBe(true);
    expect(await run(store.ledger.get(jobs[0].jobId))).toMatchObject({
      status: "running",
      leaseOwner: "runner-x",
    });
  });

  it("reserves no running job: one whose lease ran out stays free to take over", async () => {
    const [job] = await queued(1);
    await run(store.ledger.beginRun(firstRun(job.jobId, { owner: "dead", ttlMs: 60_000 }), []));
    await store.client.query(
      "update lk_jobs set lease_expires_at = now() - interval '1 second' where job_id = $1",
      [job.jobId],
    );
    expect(ids(await reserve("a", 5))).toEqual([job.jobId]);
    expect(ids(await reserve("b", 5))).toEqual([job.jobId]);
    expect(await run(store.ledger.get(job.jobId))).toMatchObject({ leaseOwner: "dead" });
  });

  it("reads the oldest jobs from an index in queue order, never sorting the queue", async () => {
    // A queue the planner has no statistics for (just enqueued; PGlite never gathers them itself).
    await queued(3000);
    const plan = await planOf(store.client, async (recording) => {
      const listed = await run(
        makeSqlJobLedger(recording).runnable({
          pipelines: ["p"],
          limit: 16,
          reserveFor: { owner: "a", ttlMs: 60_000 },
        }),
      );
      expect(listed).toHaveLength(16);
    }, "from lk_jobs");
    expect(plan).toMatch(/Index Scan using lk_jobs_runnable/);
    expect(plan).not.toMatch(/Sort|Bitmap Heap Scan/);
  });
});
