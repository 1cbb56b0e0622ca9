/**
 * The small SQL surface the store needs, so the same statements run on embedded PGlite and on a
 * PostgreSQL server.
 *
 * @module
 */

/** A connection (or transaction) that runs parameterised statements. */
export interface SqlExecutor {
  /** Runs one statement with `$1…` parameters and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: ReadonlyArray<unknown>): Promise<T[]>;
  /** Runs a script of several statements without parameters. */
  exec(sql: string): Promise<void>;
}

/** A database the store can use. */
export interface SqlClient extends SqlExecutor {
  /** Which database this is: embedded PGlite or a PostgreSQL server. */
  readonly dialect: "pglite" | "postgres";
  /** A human-readable location for lineage datasets and messages (a path or a redacted URL). */
  readonly location: string;
  /** Whether pgvector is available (the embedded index needs it). */
  readonly hasVector: boolean;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it rejects. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for each NOTIFY on `channel`; resolves to a function that stops it. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Closes the connection. */
  close(): Promise<void>;
}
