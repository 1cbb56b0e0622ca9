import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import { main as status } from "../../cli/status.ts";
import { main as prune } from "../../cli/lineage_prune.ts";
import { insertOutbox, makeSqlOutboxStore } from "../../adapters/store/sql_outbox.ts";
import { openStore, type Store } from "../../adapters/store/store.ts";
import { databaseUrl, throwawayDatabase } from "../_stores.ts";
import { runCli, tempDir } from "../_harness.ts";

/** A job of `store` claimed by a process that holds its lease. */
const runningJob = async (store: Store, docKey: string) => {
  const { job } = await Effect.runPromise(store.ledger.enqueue({
    tenantId: "default",
    request: { source: "clinicaltrials", docKey, location: { kind: "url", url: "https://x" } },
    pipeline: "auto",
    pipelineVersion: "1",
  }));
  await Effect.runPromise(store.ledger.beginRun({
    jobId: job.jobId,
    runNumber: 1,
    at: new Date(),
    from: ["queued"],
    fresh: false,
    reason: "run started",
    lease: { owner: "runner-elsewhere", ttlMs: 600_000 },
  }, []));
  return job;
};

describe("deno task status: running jobs", () => {
  // Leases matter where processes share the store: a PostgreSQL server.
  it.skipIf(!databaseUrl)(
    "on PostgreSQL shows who holds each running job and for how long",
    async () => {
      const db = await throwawayDatabase(databaseUrl!);
      try {
        const store = await openStore(db.url);
        const job = await runningJob(store, "NCT-HELD");
        await store.close();
        const json = await runCli(status, ["--store", db.url, "--json"]);
        expect(json.code).toBe(0);
        const [running] = JSON.parse(json.stdout).running;
        expect(running).toMatchObject({
          jobId: job.jobId,
          docId: "clinicaltrials:NCT-HELD",
          leaseOwner: "runner-elsewhere",
        });
        expect(running.leaseSecondsLeft).toBeGreaterThan(500);
        const text = await runCli(status, ["--store", db.url]);
        expect(text.stdout).toMatch(/running job .* held by .* lease/);
        expect(text.stdout).toMatch(/runner-elsewhere +\d+m\d+s left/);
      } finally {
        await db.drop();
      }
    },
  );

  it("on the embedded store, status shows a lease without touching it; a command that runs jobs drops it (its process is gone)", async () => {
    const dir = await tempDir();
    try {
      const store = await openStore(dir);
      const job = await runningJob(store, "NCT-LEFT");
      await store.close();
      const json = JSON.parse((await runCli(status, ["--store", dir, "--json"])).stdout);
      expect(json.running).toMatchObject([{ leaseOwner: "runner-elsewhere" }]);
      const reopened = await openStore(dir);
      try {
        expect(await Effect.runPromise(reopened.ledger.get(job.jobId))).toMatchObject({
          status: "running",
          leaseOwner: null,
        });
      } finally {
        await reopened.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

describe("deno task status and lineage prune: the store's footprint", () => {
  it("status shows the outbox's pending and delivered events; prune deletes only delivered ones", async () => {
    const dir = await tempDir();
    try {
      const store = await openStore(dir);
      await insertOutbox(store.client, null, [
        { channel: "openlineage", runId: "r", payload: { n: 1 } },
        { channel: "openlineage", runId: "r", payload: { n: 2 } },
      ]);
      const outbox = makeSqlOutboxStore(store.client, { horizonMs: 0 });
      const [first] = await Effect.runPromise(outbox.pendingFor("s", ["openlineage"], 1));
      await Effect.runPromise(outbox.settle("s", { delivered: [first.seq] }));
      await Effect.runPromise(outbox.compact("s", ["openlineage"]));
      await store.close();
      const before = JSON.parse((await runCli(status, ["--store", dir, "--json"])).stdout);
      expect(before.footprint.outbox).toEqual({ pending: 1, delivered: 1 });
      expect(before.footprint.databaseBytes).toBeGreaterThan(0);
      expect(before.footprint.walBytes).toBeGreaterThan(0);
      const pruned = await runCli(prune, ["--store", dir, "--older-than-days", "0", "--json"]);
      expect({ code: pruned.code, out: JSON.parse(pruned.stdout) }).toEqual({
        code: 0,
        out: { pruned: 1 },
      });
      const after = JSON.parse((await runCli(status, ["--store", dir, "--json"])).stdout);
      expect(after.footprint.outbox).toEqual({ pending: 1, delivered: 0 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
