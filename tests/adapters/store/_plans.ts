/**
 * The query plan of what a store operation runs in its transaction, as it ran it: the scripts it
 * ran first (planner settings it pins) and the statement's own parameters.
 */
import type { SqlClient } from "../../../adapters/store/sql_client.ts";

/**
 * Runs `operation` over a client that records what its transactions run, then EXPLAINs, in a
 * transaction of its own with the same scripts run first, the first recorded statement whose SQL
 * includes `statement`. Returns the plan's text.
 */
export const planOf = async (
  client: SqlClient,
  operation: (recording: SqlClient) => Promise<unknown>,
  statement: string,
): Promise<string> => {
  const scripts: string[] = [];
  const statements: Array<{ sql: string; params: ReadonlyArray<unknown> }> = [];
  const recording: SqlClient = {
    ...client,
    transaction: (fn) =>
      client.transaction((tx) =>
        fn({
          exec: (sql) => (scripts.push(sql), tx.exec(sql)),
          query: (sql, params) => (
            statements.push({ sql, params: params ?? [] }), tx.query(sql, params)
          ),
        })
      ),
  };
  await operation(recording);
  const found = statements.find((s) => s.sql.includes(statement));
  if (!found) throw new Error(`no statement with "${statement}" was run in a transaction`);
  return await client.transaction(async (tx) => {
    for (const script of scripts) await tx.exec(script);
    const rows = await tx.query<Record<string, string>>(`explain ${found.sql}`, found.params);
    return rows.map((r) => Object.values(r)[0]).join("\n");
  });
};
