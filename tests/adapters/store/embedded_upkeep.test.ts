import { afterAll, describe, expect, it } from "vitest";
import { openPglite } from "../../../adapters/store/pglite_client.ts";
import { makeEmbeddedUpkeep, walSinceCheckpoint } from "../../../adapters/store/embedded_upkeep.ts";

const root = await Deno.makeTempDir({ prefix: "lk-upkeep-" });
afterAll(() => Deno.remove(root, { recursive: true }));

// Pages a vacuum found all visible (only a vacuum sets this).
const vacuumedPages = async (db: Awaited<ReturnType<typeof openPglite>>, table: string) => {
  const [row] = await db.query<{ n: number }>(
    "select relallvisible::int as n from pg_class where relname = $1",
    [table],
  );
  return row.n;
};

// Columns the planner has statistics for (only an analyze gathers them; PGlite has no autovacuum).
const analysedColumns = async (db: Awaited<ReturnType<typeof openPglite>>, table: string) => {
  const [row] = await db.query<{ n: number }>(
    "select count(*)::int as n from pg_stats where tablename = $1",
    [table],
  );
  return row.n;
};

describe("makeEmbeddedUpkeep()", () => {
  it("vacuums the churning tables and checkpoints once enough WAL was written, and only then", async () => {
    const db = await openPglite(`${root}/db`);
    try {
      await db.exec("create table lk_jobs (x text); create table t (x text)");
      const upkeep = makeEmbeddedUpkeep(db, { everyWrites: 2, walBytes: 64 * 1024 });
      await db.exec("checkpoint");
      for (const table of ["lk_jobs", "t"]) {
        await db.query(
          `insert into ${table} select repeat('x', 1000) from generate_series(1, 500)`,
        );
        await db.query(`update ${table} set x = 'y'`);
      }
      const before = await walSinceCheckpoint(db);
      expect(before).toBeGreaterThan(64 * 1024);
      await upkeep.wrote(); // the first write: not looked at yet
      expect(await walSinceCheckpoint(db)).toBeGreaterThanOrEqual(before);
      expect(await vacuumedPages(db, "lk_jobs")).toBe(0);
      expect(await analysedColumns(db, "lk_jobs")).toBe(0);
      await upkeep.wrote(); // the second: past the limit, so a vacuum and a checkpoint
      expect(await walSinceCheckpoint(db)).toBeLessThan(before);
      expect(await vacuumedPages(db, "lk_jobs")).toBeGreaterThan(0);
      expect(await analysedColumns(db, "lk_jobs")).toBe(1);
      expect(await vacuumedPages(db, "t")).toBe(0); // not one of the kit's churning tables
      expect(await analysedColumns(db, "t")).toBe(0);
    } finally {
      await db.close();
    }
  });

  it("vacuums only the tables with dead rows, and analyses those that changed", async () => {
    const db = await openPglite(`${root}/db3`);
    // How often each table was vacuumed and analysed, by the database's counters: `[vacuums,
    // analyses]` of lk_jobs, lk_leases, lk_outbox, lk_outbox_cursors.
    const counts = async () => {
      await db.query("select pg_stat_force_next_flush()");
      return (await db.query<{ vacuums: number; analyses: number }>(
        `select vacuum_count::int as vacuums, analyze_count::int as analyses
         from pg_stat_user_tables where relname like 'lk_%' order by relname`,
      )).map((r) => [r.vacuums, r.analyses]);
    };
    // Changes, then enough WAL for the upkeep's next look (at every write here) to act.
    const upkeepAfter = async (...changes: string[]) => {
      for (const sql of changes) await db.query(sql);
      await db.query(
        "insert into filler select repeat(md5(random()::text), 40) from generate_series(1, 100)",
      );
      await upkeep.wrote();
      return await counts();
    };
    const upkeep = makeEmbeddedUpkeep(db, { everyWrites: 1, walBytes: 64 * 1024 });
    try {
      await db.exec(`create table lk_jobs (x text); create table lk_outbox (x text);
        create table lk_leases (x text); create table lk_outbox_cursors (x text);
        create table filler (x text); checkpoint`);
      // Dead rows in lk_jobs, only new ones in lk_outbox and lk_leases, lk_outbox_cursors never
      // analysed (planned as ten pages of rows until it is).
      expect(
        await upkeepAfter(
          "insert into lk_jobs select 'a' from generate_series(1, 500)",
          "update lk_jobs set x = 'b'",
          "insert into lk_outbox select 'e' from generate_series(1, 500)",
          "insert into lk_leases select 'l' from generate_series(1, 10)",
        ),
      ).toEqual([[1, 1], [0, 1], [0, 1], [0, 1]]);
      // Only lk_outbox inserted into: analysed again; nothing else changed.
      expect(await upkeepAfter("insert into lk_outbox select 'e' from generate_series(1, 20)"))
        .toEqual([[1, 1], [0, 1], [0, 2], [0, 1]]);
      // Rows deleted: vacuumed.
      expect(await upkeepAfter("delete from lk_outbox"))
        .toEqual([[1, 1], [0, 1], [1, 3], [0, 1]]);
    } finally {
      await db.close();
    }
  });

  it("a store's own writes outside transactions count towards the upkeep", async () => {
    const db = await openPglite(`${root}/db2`);
    try {
      await db.exec("create table lk_jobs (x text)");
      await db.exec("checkpoint");
      // 200 lone statements (each its own transaction), with more than 32 MB of WAL among them.
      for (let i = 0; i < 200; i++) {
        await db.query("insert into lk_jobs select repeat(md5(random()::text), 6000)");
        if (i === 0) await db.query("insert into lk_jobs select repeat('z', 40000000)");
      }
      expect(await walSinceCheckpoint(db)).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await db.close();
    }
  });
});
