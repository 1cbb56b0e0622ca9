/**
 * The embedded database learns a relation's size by seeking to the end of its file: answered
 * from the kernel through a second descriptor (pglite_file_sizes.ts), not by a full `fstat`, and
 * right as the file grows and shrinks.
 */
import fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../../../adapters/store/pglite_client.ts";
import type { SqlClient } from "../../../adapters/store/sql_client.ts";

let dir: string;
let db: SqlClient;
beforeAll(async () => {
  dir = await Deno.makeTempDir({ prefix: "lk-sizes-" });
  db = await openPglite(dir);
  await db.exec("create table grows (id int, pad text)");
});
afterAll(async () => {
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

// What Postgres says the table holds, and what its file on disk holds.
const sizes = async () => {
  const [row] = await db.query<{ said: string | number; path: string }>(
    "select pg_relation_size('grows') as said, pg_relation_filepath('grows') as path",
  );
  return { said: Number(row.said), onDisk: Deno.statSync(join(dir, row.path)).size };
};

// Counts node:fs `fstatSync` calls (the slow answer) while `fn` runs.
const fstatsDuring = async (fn: () => Promise<void>): Promise<number> => {
  const original = fs.fstatSync;
  let calls = 0;
  (fs as { fstatSync: unknown }).fstatSync = (...args: Parameters<typeof fs.fstatSync>) => {
    calls += 1;
    return original(...args);
  };
  try {
    await fn();
  } finally {
    (fs as { fstatSync: unknown }).fstatSync = original;
  }
  return calls;
};

describe.skipIf(Deno.build.os !== "linux")("relation sizes of the embedded database", () => {
  it("are the file's size as it grows and is cut back, without an fstat", async () => {
    const seen: Array<{ said: number; onDisk: number }> = [];
    const fstats = await fstatsDuring(async () => {
      seen.push(await sizes());
      for (let batch = 0; batch < 4; batch++) {
        await db.query(
          "insert into grows select g, repeat('x', 500) from generate_series($1::int, $1::int + 399) g",
          [batch * 400],
        );
        seen.push(await sizes());
      }
      // Vacuum cuts the empty pages off the end of the file.
      await db.exec("delete from grows where id >= 400");
      await db.exec("vacuum grows");
      seen.push(await sizes());
    });
    for (const s of seen) expect(s.said).toBe(s.onDisk);
    const said = seen.map((s) => s.said);
    expect(said[0]).toBe(0);
    // It grew with every batch, then shrank to the first batch's pages.
    for (let i = 1; i < 5; i++) expect(said[i]).toBeGreaterThan(said[i - 1]);
    expect(said[5]).toBeLessThan(said[4]);
    expect(said[5]).toBeGreaterThanOrEqual(said[1]);
    expect(fstats).toBe(0);
  });
});
