import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../../adapters/store/pglite_client.ts";
import type { SqlClient } from "../../adapters/store/sql_client.ts";
import { countStatements } from "../../bench/_counting_client.ts";

describe("countStatements()", () => {
  let db: SqlClient;
  beforeAll(async () => {
    db = await openPglite();
  });
  afterAll(() => db.close());

  it("counts queries and scripts inside and outside transactions, and the transactions", async () => {
    const { client, counts, reset } = countStatements(db);
    await client.exec("create table t (n int); create index t_n on t (n)");
    await client.transaction(async (tx) => {
      await tx.query("insert into t values ($1)", [1]);
      await tx.query("insert into t values ($1)", [2]);
    });
    const rows = await client.query<{ n: number }>("select n from t order by n");
    expect(rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect({ ...counts }).toEqual({ statements: 4, transactions: 1 });
    reset();
    expect({ ...counts }).toEqual({ statements: 0, transactions: 0 });
  });

  it("keeps what the client says about itself", () => {
    const { client } = countStatements(db);
    expect([client.dialect, client.location, client.hasVector]).toEqual([
      db.dialect,
      db.location,
      db.hasVector,
    ]);
  });
});
