/**
 * A PostgreSQL server as the store, through the `postgres` driver (its own wire protocol, no
 * native code). The same statements as on PGlite; pgvector is not assumed.
 *
 * @module
 */
import type postgres from "postgres";
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { MIGRATION_LOCK } from "./migrations.ts";

type Sql = postgres.Sql | postgres.TransactionSql;

// Dates come back as Date, jsonb parsed, bigint as string (callers convert); parameters are
// sent untyped so the SQL's own casts ($1::jsonb, $2::text[]) decide.
const executor = (sql: Sql): SqlExecutor => ({
  query: async <T>(text: string, params?: ReadonlyArray<unknown>) =>
    (await sql.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[])) as unknown as T[],
  exec: async (text: string) => {
    await sql.unsafe(text);
  },
});

/** The URL with any password replaced, for messages and lineage. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(invalid url)";
  }
};

/** Connects to a PostgreSQL server. */
export const openPostgres = async (
  url: string,
  options: { readonly max?: number } = {},
): Promise<SqlClient> => {
  // The driver is loaded only when a command opens a server store.
  const { default: connect } = await import("postgres");
  const sql = connect(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // Arrays and jsonb are passed as JSON text with explicit casts in the SQL.
    prepare: false,
    types: {
      // The store passes jsonb parameters already serialised (PGlite takes them that way);
      // sending a string as-is keeps them from being encoded a second time.
      json: {
        to: 114,
        from: [114, 3802],
        serialize: (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x)),
        parse: (x: string) => JSON.parse(x),
      },
    },
  });
  await sql`select 1`;
  const [{ vector }] = await sql<{ vector: boolean }[]>`
    select exists(select 1 from pg_available_extensions where name = 'vector') as vector`;
  // Under the migrations' advisory lock: processes opening a fresh database together would race.
  if (vector) {
    await sql.begin(async (tx) => {
      await tx.unsafe(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      await tx.unsafe("create extension if not exists vector");
    });
  }
  const base = executor(sql);
  return {
    dialect: "postgres",
    location: redactUrl(url),
    hasVector: vector,
    ...base,
    transaction: (fn) => sql.begin((tx) => fn(executor(tx))) as Promise<never>,
    listen: async (channel, onNotify) => {
      const { unlisten } = await sql.listen(channel, (payload) => onNotify(payload));
      return unlisten;
    },
    close: () => sql.end({ timeout: 5 }),
  };
};
