/**
 * The persistence a LangGraph peer runs with: none, the in-memory MemorySaver, or the Postgres
 * checkpointer in a schema of its own that is dropped afterwards (so runs never see each other's
 * threads and a user's tables are never touched).
 *
 * @module
 */
import { MemorySaver } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";

/** The checkpointer kinds a peer accepts. */
export const checkpointerKinds = ["none", "memory", "postgres"];

// Counts every statement a pooled connection sends, so the Postgres peer can report statements
// per document next to the kit's: a patched `query` on each client the pool opens sees them all
// (pool.query goes through the same clients).
const countQueries = (pool) => {
  const counter = { statements: 0 };
  pool.on("connect", (client) => {
    const query = client.query.bind(client);
    client.query = (...args) => {
      counter.statements++;
      return query(...args);
    };
  });
  return counter;
};

const uncounted = {
  statements: () => undefined,
  resetStatements: () => {},
  close: async () => {},
};

/**
 * Opens a checkpointer of `kind`: `{ saver, statements(), resetStatements(), close() }`; `saver`
 * is undefined for `none`, `statements()` is undefined where nothing is counted.
 */
export const openCheckpointer = async (kind, databaseUrl) => {
  if (kind === "none") {
    return { saver: undefined, ...uncounted };
  }
  if (kind === "memory") {
    return { saver: new MemorySaver(), ...uncounted };
  }
  if (!databaseUrl) {
    throw new Error("the postgres checkpointer needs --database-url");
  }
  // pg's default pool size (10), the same as the kit's server store connection pool.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const schema = `lg_bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const counter = countQueries(pool);
  const saver = new PostgresSaver(pool, undefined, { schema });
  await saver.setup();
  return {
    saver,
    statements: () => counter.statements,
    // Resets the count after set-up and warm-up, so only the measured documents are counted.
    resetStatements: () => (counter.statements = 0),
    close: async () => {
      try {
        await pool.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await pool.end();
      }
    },
  };
};
