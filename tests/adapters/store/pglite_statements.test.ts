import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../../../adapters/store/pglite_client.ts";
import { bindAndExecute, concat, MAX_PREPARED } from "../../../adapters/store/pglite_statements.ts";
import { protocol } from "@electric-sql/pglite";
import fc from "fast-check";
import type { SqlClient } from "../../../adapters/store/sql_client.ts";

let db: SqlClient;
beforeAll(async () => {
  db = await openPglite();
  await db.exec(
    "create table t (id int primary key, name text, doc jsonb, tags text[], ok boolean)",
  );
});
afterAll(() => db.close());

const prepared = () =>
  db.query<{ n: number }>("select count(*)::int as n from pg_prepared_statements");

describe("prepared statements of the embedded database", () => {
  it("send text[] and int4[] parameters whole, in the binary format", async () => {
    const texts = [
      '{"a":"b \\"quoted\\" \\\\ c"}',
      "",
      null,
      "naïve ∑ 🚀".repeat(300),
      '{"x"}',
      "NULL",
    ];
    const ints = [0, -1, 2 ** 31 - 1, -(2 ** 31)];
    const [row] = await db.query<{ t: unknown[]; i: number[]; n: number; e: unknown[] }>(
      "select $1::text[] as t, $2::int[] as i, cardinality($1::text[]) as n, $3::text[] as e",
      [texts, ints, []],
    );
    expect(row).toEqual({ t: texts, i: ints, n: texts.length, e: [] });
    const unnested = await db.query<{ i: number; t: string | null }>(
      "select u.i, u.t from unnest($1::int[], $2::text[]) with ordinality as u(i, t, n) order by n",
      [[7, 8, 9], ["x", null, "z"]],
    );
    expect(unnested).toEqual([{ i: 7, t: "x" }, { i: 8, t: null }, { i: 9, t: "z" }]);
    await expect(db.query("select $1::int[]", [[1.5]])).rejects.toThrow(/32-bit integer/);
  });

  it("send real[] parameters as four-byte floats, each rounded as float4 input rounds it", async () => {
    const floats = [0.5, -1.25, 0.1, 1 / 3, 3.4e38, -0, 1e-40];
    const [row] = await db.query<{ f: number[]; same: boolean; v: string }>(
      `select $1::real[] as f, $1::real[] = $2::text::real[] as same,
         (($1::real[])[2:3])::vector::text as v`,
      [floats, `{${floats.join(",")}}`],
    );
    expect(row.same).toBe(true);
    // Read back as Postgres prints a float4: the shortest text that is the same float4.
    expect(row.f).toEqual([0.5, -1.25, 0.1, 0.33333334, 3.4e38, -0, 1e-40]);
    expect(row.v).toBe("[-1.25,0.1]");
    await expect(db.query("select $1::real[]", [["1"]])).rejects.toThrow(/not a number/);
  });

  it("send every parameter type the store uses, large JSON and text included", async () => {
    const big = { body: "é∑ ".repeat(2000), list: Array.from({ length: 300 }, (_, i) => i) };
    const name = "naïve ".repeat(400);
    await db.query("insert into t values ($1, $2, $3::jsonb, $4::text[], $5)", [
      1,
      name,
      JSON.stringify(big),
      ["a", "b c"],
      true,
    ]);
    await db.query("insert into t values ($1, $2, $3::jsonb, $4::text[], $5)", [
      2,
      null,
      JSON.stringify({ small: 1 }),
      [],
      false,
    ]);
    const rows = await db.query<Record<string, unknown>>(
      "select id, name, doc, tags, ok from t where id = any($1::int[]) order by id",
      [[1, 2]],
    );
    expect(rows).toEqual([
      { id: 1, name, doc: big, tags: ["a", "b c"], ok: true },
      { id: 2, name: null, doc: { small: 1 }, tags: [], ok: false },
    ]);
    // A large JSON parameter is the text it was given, not JSON-encoded again.
    const [{ kind }] = await db.query<{ kind: string }>(
      "select jsonb_typeof($1::jsonb) as kind",
      [JSON.stringify(big)],
    );
    expect(kind).toBe("object");
  });

  it("prepare a statement once, whatever its parameters", async () => {
    const before = (await prepared())[0].n;
    for (let i = 0; i < 5; i++) await db.query("select $1::int + 1 as n", [i]);
    expect((await prepared())[0].n).toBe(before + 1);
  });

  it(`keep at most ${MAX_PREPARED}, closing the one used least recently`, async () => {
    for (let i = 0; i < MAX_PREPARED + 20; i++) {
      const [row] = await db.query<{ n: number }>(`select $1::int + ${i} as n`, [1]);
      expect(row.n).toBe(1 + i);
    }
    // The count's own statement is among those kept.
    expect((await prepared())[0].n).toBeLessThanOrEqual(MAX_PREPARED);
  });

  it("report a failing statement and leave the connection usable, in and out of transactions", async () => {
    await expect(db.query("insert into t (id) values ($1)", [1])).rejects.toThrow(/duplicate key/);
    await expect(db.transaction(async (tx) => {
      await tx.query("insert into t (id) values ($1)", [3]);
      await tx.query("insert into t (id) values ($1)", [1]);
    })).rejects.toThrow(/duplicate key/);
    const ids = await db.query<{ id: number }>("select id from t order by id");
    expect(ids.map((r) => r.id)).toEqual([1, 2]);
    await expect(db.query("select nope from t where id = $1", [1])).rejects.toThrow(/nope/);
    expect(await db.query("select id from t where id = $1", [2])).toEqual([{ id: 2 }]);
    // Refused while binding (the execute after it is skipped), and before anything is sent.
    await expect(db.query("select id from t where id = $1", ["two"])).rejects.toThrow(/integer/);
    await expect(db.query("select $1::int[] as a", [[1.5]])).rejects.toThrow(/32-bit/);
    await expect(db.transaction(async (tx) => {
      await tx.query("insert into t (id) values ($1)", [4]);
      await tx.query("select id from t where id = $1", ["four"]);
    })).rejects.toThrow(/integer/);
    expect(await db.query("select id from t where id = $1", [2])).toEqual([{ id: 2 }]);
    expect(await db.query("select count(*)::int as n from t where id = $1", [4])).toEqual([{
      n: 0,
    }]);
  });

  it("prepare again a statement whose table changed shape", async () => {
    const read = () => db.query<Record<string, unknown>>("select * from t where id = $1", [2]);
    expect(Object.keys((await read())[0])).not.toContain("added");
    await db.exec("alter table t add column added int default 7");
    expect((await read())[0]).toMatchObject({ id: 2, added: 7 });
  });
});

describe("bindAndExecute()", () => {
  const theirs = (name: string, values: ReadonlyArray<string | Uint8Array | null>) =>
    concat(
      protocol.serialize.bind({ statement: name, values: [...values] }),
      protocol.serialize.describe({ type: "P" }),
      protocol.serialize.execute({}),
      protocol.serialize.sync(),
    );
  const value = fc.oneof(
    fc.constant(null),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.uint8Array({ maxLength: 64 }),
  );

  it("writes the bytes PGlite's own serializers write for the four messages", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme-ascii", maxLength: 20 }),
        fc.array(value, { maxLength: 12 }),
        (name, values) => {
          expect(bindAndExecute(name, values)).toEqual(theirs(name, values));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("writes a large parameter whole", () => {
    const big = "é∑🚀x".repeat(100_000);
    const bytes = new TextEncoder().encode(big);
    expect(bindAndExecute("lk_s1", [big, bytes, null])).toEqual(
      theirs("lk_s1", [big, bytes, null]),
    );
  });
});
