/**
 * Reads that must follow an index in its order and stop at their limit, whatever the planner's
 * statistics say. Left to them, where they were missing or older than the table (PGlite has no
 * autovacuum; a server's lag behind a fresh enqueue or backlog), the planner read every matching
 * row and sorted them, for every call: the relay's page of pending events took 53 ms with 20k
 * pending and 450 ms with 38k, a worker's ask for the oldest runnable jobs 3-5 ms with 3,000
 * queued on a server (0.04 ms from the index). Lookups by key, too: the embedded store keeps a
 * statement's generic plan, and one made while a sink's settled records were none (just folded
 * into its cursor) read all of them for each pending event as a long flush settled thousands
 * (a page took 0.3-1.4 s instead of 6 ms).
 *
 * @module
 */
import type { SqlClient, SqlExecutor } from "./sql_client.ts";

// Sequential scans, sorting and bitmap scans off for the transaction. A plan that still needs a
// disabled step is costed as if it were huge, and a server JIT-compiles a plan that costly first
// (half a second a call): never worth it for one page of rows.
const IN_INDEX_ORDER = "set local enable_seqscan = off; set local enable_bitmapscan = off; " +
  "set local enable_sort = off; set local jit = off";

/** Pins the rest of the transaction `tx` to plans that read in index order (see above). */
export const readInIndexOrder = (tx: SqlExecutor): Promise<void> => tx.exec(IN_INDEX_ORDER);

/** Runs `sql` in a transaction of its own whose plan reads in index order (see above). */
export const queryInIndexOrder = <T>(
  db: SqlClient,
  sql: string,
  params: ReadonlyArray<unknown>,
): Promise<T[]> =>
  db.transaction(async (tx) => {
    await readInIndexOrder(tx);
    return await tx.query<T>(sql, params);
  });
