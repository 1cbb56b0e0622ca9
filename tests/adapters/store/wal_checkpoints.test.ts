import { afterAll, describe, expect, it } from "vitest";
import { openPglite } from "../../../adapters/store/pglite_client.ts";
import { makeWalCheckpoints, walSinceCheckpoint } from "../../../adapters/store/wal_checkpoints.ts";

const root = await Deno.makeTempDir({ prefix: "lk-wal-" });
afterAll(() => Deno.remove(root, { recursive: true }));

describe("makeWalCheckpoints()", () => {
  it("checkpoints once enough WAL was written, and only then", async () => {
    const db = await openPglite(`${root}/db`);
    try {
      await db.exec("create table t (x text)");
      const checkpoints = makeWalCheckpoints(db, { everyTransactions: 2, walBytes: 64 * 1024 });
      await db.exec("checkpoint");
      await db.query("insert into t select repeat('x', 1000) from generate_series(1, 500)");
      const before = await walSinceCheckpoint(db);
      expect(before).toBeGreaterThan(64 * 1024);
      await checkpoints.committed(); // the first commit: not looked at yet
      expect(await walSinceCheckpoint(db)).toBeGreaterThanOrEqual(before);
      await checkpoints.committed(); // the second: past the limit, so a checkpoint
      expect(await walSinceCheckpoint(db)).toBeLessThan(before);
    } finally {
      await db.close();
    }
  });
});
