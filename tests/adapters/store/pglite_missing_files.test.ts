/**
 * The embedded database's file layer answers a lookup of a relation's missing fork or segment (a
 * free-space map no index has yet, a segment past the end) without `lstatSync`'s exception
 * (pglite_missing_files.ts); any other name is looked up as before, and the database sees the
 * same files either way.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PGlite } from "@electric-sql/pglite";
import { openPglite } from "../../../adapters/store/pglite_client.ts";
import { lookUpMissingFilesQuietly } from "../../../adapters/store/pglite_missing_files.ts";
import type { SqlClient } from "../../../adapters/store/sql_client.ts";

let dir: string;
let db: SqlClient;
beforeAll(async () => {
  dir = await Deno.makeTempDir({ prefix: "lk-missing-" });
  db = await openPglite(dir);
});
afterAll(async () => {
  await db.close();
  await Deno.remove(dir, { recursive: true });
});

// The last part of each path node:fs `lstatSync` was asked about and found missing while `fn` ran.
const missingLstatsDuring = async (fn: () => Promise<void>): Promise<string[]> => {
  const original = fs.lstatSync;
  const missing: string[] = [];
  (fs as { lstatSync: unknown }).lstatSync = (...args: Parameters<typeof fs.lstatSync>) => {
    try {
      return original(...args);
    } catch (e) {
      missing.push(String(args[0]).split("/").at(-1)!);
      throw e;
    }
  };
  try {
    await fn();
  } finally {
    (fs as { lstatSync: unknown }).lstatSync = original;
  }
  return missing;
};

// The names of a relation's forks and segments other than its main file.
const FORK_OR_SEGMENT = /^\d+(_(fsm|vm|init)|(_(fsm|vm|init))?\.\d+)$/;

// A new table's files, then enough rows to split its index's pages (each split asks whether the
// index has a free-space map), then a lookup of a name that is not a relation's.
const workload = async (db: Pick<SqlClient, "exec" | "query">) => {
  await db.exec("create table grows (id int primary key, pad text)");
  await db.query("insert into grows select g, repeat('x', 200) from generate_series(1, 20000) g");
  const [sizes] = await db.query(
    `select count(*)::int as n, pg_relation_size('grows_pkey', 'fsm')::int as index_fsm,
       pg_relation_size('grows', 'main') > 0 as has_rows from grows`,
  );
  const [{ s: unknownFile }] = await db.query<{ s: unknown }>(
    "select pg_stat_file('no_such_file', true) as s",
  );
  return { sizes, unknownFile };
};

describe("lookups of missing files in the embedded database", () => {
  it("answer a missing fork or segment without lstat, and other names as before", async () => {
    let seen: Awaited<ReturnType<typeof workload>> | undefined;
    const missing = await missingLstatsDuring(async () => {
      seen = await workload(db);
    });
    expect(seen).toEqual({
      sizes: { n: 20000, index_fsm: 0, has_rows: true },
      unknownFile: null,
    });
    expect(missing.filter((name) => FORK_OR_SEGMENT.test(name))).toEqual([]);
    expect(missing).toContain("no_such_file");
  });

  it("go through lstat's exceptions in PGlite's own file layer", async () => {
    const plainDir = await Deno.makeTempDir({ prefix: "lk-missing-plain-" });
    const plain = await PGlite.create(plainDir);
    try {
      let seen: Awaited<ReturnType<typeof workload>> | undefined;
      const missing = await missingLstatsDuring(async () => {
        seen = await workload({
          exec: async (sql) => {
            await plain.exec(sql);
          },
          query: async <T>(sql: string, params?: ReadonlyArray<unknown>) =>
            (await plain.query<T>(sql, params as unknown[])).rows,
        });
      });
      expect(seen).toEqual({
        sizes: { n: 20000, index_fsm: 0, has_rows: true },
        unknownFile: null,
      });
      expect(missing.filter((name) => FORK_OR_SEGMENT.test(name)).length).toBeGreaterThan(0);
    } finally {
      await plain.close();
      await Deno.remove(plainDir, { recursive: true });
    }
  });

  it("finds the files Postgres makes later, and forgets the ones it removes", async () => {
    await db.exec("create table later (id int primary key)");
    await db.query("insert into later select generate_series(1, 5000)");
    await db.exec("delete from later where id > 10");
    // Vacuum writes the table's free-space and visibility maps: found once they exist.
    await db.exec("vacuum later");
    const [made] = await db.query<{ fsm: number; vm: number }>(
      `select pg_relation_size('later', 'fsm')::int as fsm,
         pg_relation_size('later', 'vm')::int as vm`,
    );
    expect(made.fsm).toBeGreaterThan(0);
    expect(made.vm).toBeGreaterThan(0);
    await db.exec("drop table later");
    await db.exec("create table later (id int primary key)");
    const [again] = await db.query<{ n: number; fsm: number }>(
      "select count(*)::int as n, pg_relation_size('later', 'fsm')::int as fsm from later",
    );
    expect(again).toEqual({ n: 0, fsm: 0 });
  });

  it("leaves a file layer that is not Emscripten's NODEFS as it is", () => {
    const notNodefs = { Module: { FS: {} } } as unknown as PGlite;
    expect(lookUpMissingFilesQuietly(notNodefs)).toBe(false);
    expect(notNodefs.Module).toEqual({ FS: {} });
  });
});
