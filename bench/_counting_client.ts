/**
 * A SqlClient wrapper that counts what the kit's store sends, so the bench can report statements
 * per document without touching the store adapters.
 *
 * @module
 */
import type { SqlClient, SqlExecutor } from "../adapters/store/sql_client.ts";

/** What a counted client has sent since the last reset. */
export interface StatementCounts {
  /** `query` and `exec` calls, inside transactions or not (an `exec` script counts once). */
  statements: number;
  /** Transactions opened (each also costs a BEGIN and a COMMIT round trip). */
  transactions: number;
}

/** A client whose statements are counted, with the counts and a way to zero them. */
export interface CountingClient {
  readonly client: SqlClient;
  readonly counts: Readonly<StatementCounts>;
  readonly reset: () => void;
}

const counted = (executor: SqlExecutor, counts: StatementCounts): SqlExecutor => ({
  query: (sql, params) => {
    counts.statements++;
    return executor.query(sql, params);
  },
  exec: (sql) => {
    counts.statements++;
    return executor.exec(sql);
  },
});

/** Wraps `client` so every statement it runs, and every transaction it opens, is counted. */
export const countStatements = (client: SqlClient): CountingClient => {
  const counts: StatementCounts = { statements: 0, transactions: 0 };
  const wrapped: SqlClient = {
    dialect: client.dialect,
    location: client.location,
    hasVector: client.hasVector,
    ...counted(client, counts),
    transaction: (fn) => {
      counts.transactions++;
      return client.transaction((tx) => fn(counted(tx, counts)));
    },
    listen: (channel, onNotify) => client.listen(channel, onNotify),
    close: () => client.close(),
  };
  return {
    client: wrapped,
    counts,
    reset: () => {
      counts.statements = 0;
      counts.transactions = 0;
    },
  };
};
