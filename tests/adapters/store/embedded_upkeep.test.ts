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
    // How often each table was vacuumed and analysed, by the database's counters.
    const counts = async () => {
      await db.query("select pg_stat_force_next_flush()");
      const rows = await db.query<{ relname: string; vacuums: number; analyses: number }>(
        `select relname, vacuum_count::int as vacuums, analyze_count::int as analyses
         from pg_stat_user_tables where relname like 'lk_%' order by relname`,
      );
      return Object.fromEntries(rows.map((r) => [r.relname, [r.vacuums, r.analyses]]));
    };
    // Enough WAL for the next look to vacuum (the upkeep looks at every write here).
    const writeWal = () =>
      db.query(
        "insert into filler select repeat(md5(random()::text), 40) from generate_series(1, 100)",
      );
    try {
      await db.exec(`create table lk_jobs (x text); create table lk_outbox (x text);
        create table lk_leases (x text); create table lk_outbox_cursors (x text);
        create table filler (x text)`);
      const upkeep = makeEmbeddedUpkeep(db, { everyWrites: 1, walBytes: 64 * 1024 });
      await db.exec("checkpoint");
      await db.query("insert into lk_jobs select 'a' from generate_series(1, 500)");
      await db.query("update lk_jobs set x = 'b'"); // dead rows
      await db.query("insert into lk_outbox select 'e' from generate_series(1, 500)"); // only new ones
      await db.query("insert into lk_leases select 'l' from generate_series(1, 10)");
      await writeWal();
      await upkeep.wrote();
      expect(await counts()).toEqual({
        lk_jobs: [1, 1],
        lk_outbox: [0, 1],
        lk_leases: [0, 1],
        lk_outbox_cursors: [0, 1], // never analysed: planned as ten pages of rows until it is
      });
      // Inserted into, or not changed at all.
      await db.query("insert into lk_outbox select 'e' from generate_series(1, 20)");
      await writeWal();
      await upkeep.wrote();
      expect(await counts()).toEqual({
        lk_jobs: [1, 1],
        lk_outbox: [0, 2],
        lk_leases: [0, 1],
        lk_outbox_cursors: [0, 1],
      });
      // Rows deleted: vacuumed.
      await db.query("delete from lk_outbox");
      await writeWal();
      await upkeep.wrote();
      expect(await counts()).toEqual({
        lk_jobs: [1, 1],
        lk_outbox: [1, 3],
        lk_leases: [0, 1],
        lk_outbox_cursors: [0, 1],
      });
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
