import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import { openBenchStore } from "../../bench/_kit_store.ts";
import { openPostgres } from "../../adapters/store/postgres_client.ts";
import { databaseUrl } from "../_stores.ts";

const benchSchemas = async (url: string): Promise<string[]> => {
  const admin = await openPostgres(url, { max: 1 });
  try {
    const rows = await admin.query<{ nspname: string }>(
      "select nspname from pg_namespace where nspname like 'lk\\_bench\\_%'",
    );
    return rows.map((r) => r.nspname);
  } finally {
    await admin.close();
  }
};

const enqueueOne = (store: Awaited<ReturnType<typeof openBenchStore>>["store"]) =>
  Effect.runPromise(store.ledger.enqueue({
    tenantId: "bench",
    request: { source: "clinicaltrials", docKey: "SYN1", location: { kind: "inline", record: {} } },
    pipeline: "auto",
    pipelineVersion: "1.0.0",
  }));

describe("openBenchStore()", () => {
  it("opens an empty in-memory store whose counter starts at zero after set-up", async () => {
    const { store, counter, close } = await openBenchStore("memory");
    try {
      expect(store.spec).toBe("memory");
      expect({ ...counter.counts }).toEqual({ statements: 0, transactions: 0 });
      await enqueueOne(store);
      expect(counter.counts.statements).toBeGreaterThan(0);
    } finally {
      await close();
    }
  });

  it("by default opens a fresh embedded store on disk and removes its folder on close", async () => {
    const first = await openBenchStore();
    const second = await openBenchStore();
    try {
      expect(first.store.spec).not.toBe("memory");
      expect((await Deno.stat(first.store.spec)).isDirectory).toBe(true);
      expect(first.store.spec).not.toBe(second.store.spec);
      expect({ ...first.counter.counts }).toEqual({ statements: 0, transactions: 0 });
      expect((await enqueueOne(first.store)).created).toBe(true);
      // The second store is another folder: the first one's job is not there.
      expect((await enqueueOne(second.store)).created).toBe(true);
    } finally {
      await first.close();
      await second.close();
    }
    await expect(Deno.stat(first.store.spec)).rejects.toThrow(Deno.errors.NotFound);
    await expect(Deno.stat(second.store.spec)).rejects.toThrow(Deno.errors.NotFound);
  });

  if (!databaseUrl) {
    it.skip("openBenchStore() on PostgreSQL (set DATABASE_URL to run)", () => {});
  } else {
    const url = databaseUrl;
    it("runs each PostgreSQL store in a schema of its own and drops it on close", async () => {
      const before = await benchSchemas(url);
      const first = await openBenchStore(url);
      const second = await openBenchStore(url);
      try {
        await enqueueOne(first.store);
        // The second store's tables are another schema's: the first one's job is not there.
        expect((await enqueueOne(second.store)).created).toBe(true);
        expect((await benchSchemas(url)).length).toBe(before.length + 2);
      } finally {
        await first.close();
        await second.close();
      }
      expect(await benchSchemas(url)).toEqual(before);
    });
  }
});
