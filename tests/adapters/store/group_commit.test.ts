/**
 * The group commit lets the event loop turn while it flushes: on a database whose calls resolve
 * without going through the event loop (embedded PGlite), jobs that only commit would otherwise
 * keep timers and I/O waiting until every one of them ended.
 */
import { describe, expect, it } from "vitest";
import { makeGroupCommit } from "../../../adapters/store/_group_commit.ts";
import type { SqlClient, SqlExecutor } from "../../../adapters/store/sql_client.ts";

// A database that answers at once, on promise callbacks only.
const instant: SqlExecutor = { query: () => Promise.resolve([]), exec: () => Promise.resolve() };
const instantClient: SqlClient = {
  ...instant,
  dialect: "pglite",
  location: "memory",
  hasVector: false,
  transaction: (fn) => fn(instant),
  listen: () => Promise.resolve(() => Promise.resolve()),
  close: () => Promise.resolve(),
};

describe("makeGroupCommit()", () => {
  it("lets a timer run while jobs commit one write after another", async () => {
    const commit = makeGroupCommit<number, boolean>(instantClient, {
      batch: (_tx, writes) => Promise.resolve(writes.map(() => true)),
      single: () => Promise.resolve(true),
      // Let the loop turn as soon as it can, so the outcome does not depend on how many commits
      // this machine makes in the default 50 ms (a fast one made all of them in less).
      turnMs: 0,
    });
    const cap = 200_000;
    let fired = false;
    let committed = 0;
    setTimeout(() => fired = true, 0);
    const job = async () => {
      while (!fired && committed < cap) {
        await commit(committed);
        committed++;
      }
    };
    await Promise.all([job(), job(), job(), job()]);
    expect(fired).toBe(true);
    expect(committed).toBeLessThan(cap);
  });

  it("commits every write, in batches, with their results in order", async () => {
    const batches: number[][] = [];
    const commit = makeGroupCommit<number, number>(instantClient, {
      batch: (_tx, writes) => {
        batches.push([...writes]);
        return Promise.resolve(writes.map((w) => w * 2));
      },
      single: (_db, w) => Promise.resolve(w * 2),
      turnMs: 0,
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => commit(i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => i * 2));
    // Handed in by the same turn: one batch (the first write starts it on an immediate).
    expect(batches).toEqual([Array.from({ length: 10 }, (_, i) => i)]);
  });

  it("lets what was queued before its first write (a fiber that yielded) join the batch", async () => {
    const batches: number[][] = [];
    const commit = makeGroupCommit<number, number>(instantClient, {
      batch: (_tx, writes) => {
        batches.push([...writes]);
        return Promise.resolve([...writes]);
      },
      single: (_db, w) => {
        batches.push([w]);
        return Promise.resolve(w);
      },
      turnMs: 0,
    });
    const yielded = new Promise<number>((resolve) => setImmediate(() => resolve(commit(2))));
    expect(await Promise.all([commit(1), yielded])).toEqual([1, 2]);
    expect(batches).toEqual([[1, 2]]);
  });

  it("runs a batch that is one statement without a transaction, and any other in one", async () => {
    const seen: Array<{ writes: number[]; inTransaction: boolean }> = [];
    const tx: SqlExecutor = { ...instant };
    const client: SqlClient = { ...instantClient, transaction: (fn) => fn(tx) };
    const commit = makeGroupCommit<number, number>(client, {
      batch: (db, writes) => {
        seen.push({ writes: [...writes], inTransaction: db === tx });
        return Promise.resolve([...writes]);
      },
      single: (_db, w) => Promise.resolve(w),
      // Writes of distinct keys make one statement; a key twice needs a second.
      oneStatement: (writes) => new Set(writes.map((w) => w % 10)).size === writes.length,
      turnMs: 0,
    });
    await Promise.all([1, 2, 3].map(commit));
    await Promise.all([4, 14].map(commit));
    expect(seen).toEqual([
      { writes: [1, 2, 3], inTransaction: false },
      { writes: [4, 14], inTransaction: true },
    ]);
  });

  it("lets an HTTP exchange go on while jobs commit one write after another", async () => {
    const commit = makeGroupCommit<number, boolean>(instantClient, {
      batch: (_tx, writes) => Promise.resolve(writes.map(() => true)),
      single: () => Promise.resolve(true),
      turnMs: 0,
    });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => new Response(String((await request.text()).length)),
    );
    try {
      const body = "x".repeat(4 * 2 ** 20);
      let answered = false;
      const exchange = fetch(`http://127.0.0.1:${server.addr.port}/`, { method: "POST", body })
        .then((r) => r.text())
        .finally(() => answered = true);
      const cap = 100_000;
      let committed = 0;
      const job = async () => {
        while (!answered && committed < cap) {
          await commit(committed);
          committed++;
        }
      };
      await Promise.all([job(), job(), job(), job()]);
      expect(await exchange).toBe(String(body.length));
      // Turns that poll I/O: about 40 commits here (one turn per batch of four). Turns on
      // immediates, which poll I/O only a little: about 1,900.
      expect(committed).toBeLessThan(400);
    } finally {
      await server.shutdown();
    }
  });
});
