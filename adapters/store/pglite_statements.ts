/**
 * Named prepared statements for PGlite.
 *
 * `PGlite.query` sends every statement as an unnamed one: each call is parsed, analysed and
 * planned again. In WebAssembly that is most of what a short statement costs (the store's batch
 * writes spend more time being planned than run). The store sends a few dozen distinct statements
 * over and over, so each is prepared once per connection, under a name, and later calls only bind
 * and execute it. Postgres plans it as it does any prepared statement (a plan per call for the
 * first five, then one generic plan unless that looks costlier) and re-plans it when a table it
 * reads changes.
 *
 * The protocol steps are PGlite's own `query` steps (parse, describe, bind, describe, execute,
 * sync), with the parse and the first describe done once per statement, and the rest of each
 * call handed to PGlite as one buffer: one call into WebAssembly instead of four.
 *
 * @module
 */
import { parse, type PGlite, protocol } from "@electric-sql/pglite";

type Message = Awaited<ReturnType<PGlite["execProtocolStream"]>>[number];

/** At most this many statements stay prepared; the one used least recently is closed first. */
export const MAX_PREPARED = 128;

interface Prepared {
  readonly name: string;
  /** The parameter types Postgres inferred, for PGlite's serializers. */
  readonly types: ReadonlyArray<number>;
}

/** Runs `sql` as a prepared statement; `inTransaction` for a call inside `db.transaction`. */
export type PreparedQuery = <T>(
  sql: string,
  params: ReadonlyArray<unknown>,
  inTransaction: boolean,
) => Promise<T[]>;

const TEXT_TYPES = new Set([25, /* text */ 1043, /* varchar */ 114 /* json */]);
const JSONB = 3802;
const TEXT_ARRAY = 1009;
const INT4_ARRAY = 1007;
const FLOAT4_ARRAY = 1021;
const BINARY_ARRAYS = new Set([TEXT_ARRAY, INT4_ARRAY, FLOAT4_ARRAY]);
const LARGE = 1024;
const encoder = new TextEncoder();

/**
 * A one-dimensional `text[]`, `int4[]` or `float4[]` in Postgres's binary array format: a header
 * (dimensions, whether nulls occur, the element type, the length and lower bound), then each
 * element's length (-1: null) and bytes. PGlite would send the text form, every string quoted
 * and every quote in it escaped, which Postgres then parses back a character at a time: the
 * store's batch writes pass their events and checkpoints as arrays of JSON texts, and the index
 * its vectors as one array of floats (parsing a float from text costs WebAssembly's `strtof`
 * over a hundred times what copying four bytes does).
 */
export const binaryArray = (values: ReadonlyArray<unknown>, type: number): Uint8Array => {
  const text = type === TEXT_ARRAY;
  const float = type === FLOAT4_ARRAY;
  let capacity = 20;
  let hasNull = false;
  for (const v of values) {
    if (v === null || v === undefined) hasNull = true;
    else capacity += text ? String(v).length * 3 : 4;
    capacity += 4;
  }
  const bytes = new Uint8Array(capacity);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, values.length === 0 ? 0 : 1);
  view.setInt32(4, hasNull ? 1 : 0);
  view.setInt32(8, text ? 25 : float ? 700 : 23);
  if (values.length === 0) return bytes.subarray(0, 12);
  view.setInt32(12, values.length);
  view.setInt32(16, 1);
  let at = 20;
  for (const v of values) {
    if (v === null || v === undefined) {
      view.setInt32(at, -1);
      at += 4;
    } else if (text) {
      const { written } = encoder.encodeInto(String(v), bytes.subarray(at + 4));
      view.setInt32(at, written);
      at += 4 + written;
    } else if (float) {
      if (typeof v !== "number") throw new TypeError(`not a number: ${String(v)}`);
      view.setInt32(at, 4);
      view.setFloat32(at + 4, v);
      at += 8;
    } else {
      if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31) {
        throw new TypeError(`not a 32-bit integer: ${String(v)}`);
      }
      view.setInt32(at, 4);
      view.setInt32(at + 4, v as number);
      at += 8;
    }
  }
  return bytes.subarray(0, at);
};

/**
 * A parameter as PGlite's `query` sends it (text, by the type Postgres inferred), except a large
 * string for a text or JSON parameter: that goes as UTF-8 bytes in the binary format (jsonb's is
 * a version byte, then the text), which PGlite copies as it is instead of measuring the string a
 * character at a time. The store's batch writes send hundreds of kilobytes of JSON this way.
 */
const parameter = (db: PGlite, value: unknown, type: number): string | Uint8Array | null => {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value) && BINARY_ARRAYS.has(type)) {
    return binaryArray(value, type);
  }
  if (typeof value === "string" && value.length >= LARGE) {
    if (TEXT_TYPES.has(type)) return encoder.encode(value);
    if (type === JSONB) {
      const bytes = new Uint8Array(value.length * 3 + 1);
      bytes[0] = 1;
      const { written } = encoder.encodeInto(value, bytes.subarray(1));
      return bytes.subarray(0, written + 1);
    }
  }
  const serialize = db.serializers[type];
  return serialize ? serialize(value) : String(value);
};

/** Protocol messages as one buffer, for one call into the database. */
export const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

// Describe (the unnamed portal), Execute (it, no row limit) and Sync: the same for every call.
const DESCRIBE_EXECUTE_SYNC = concat(
  protocol.serialize.describe({ type: "P" }),
  protocol.serialize.execute({}),
  protocol.serialize.sync(),
);

/**
 * Bind (`values` to the unnamed portal of statement `name`, text results), then Describe,
 * Execute and Sync: the bytes PGlite's serializers make for these four messages, written into
 * one buffer. Theirs copy each parameter five times or more (into a growing writer, out of it,
 * into the next, out again, and together): for the store's batch writes of hundreds of kilobytes,
 * about 7 % of the time of `deno task bench`.
 */
export const bindAndExecute = (
  name: string,
  values: ReadonlyArray<string | Uint8Array | null>,
): Uint8Array => {
  // Every UTF-16 unit takes at most three UTF-8 bytes; what is left over is cut off.
  let capacity = 1 + 4 + 1 + name.length * 3 + 1 + 2 + 2 * values.length + 2 + 2 +
    DESCRIBE_EXECUTE_SYNC.length;
  for (const v of values) {
    capacity += 4 + (v === null ? 0 : typeof v === "string" ? v.length * 3 : v.length);
  }
  const bytes = new Uint8Array(capacity);
  const view = new DataView(bytes.buffer);
  bytes[0] = 66; // 'B'; its length is written last
  let at = 6; // after the length and the unnamed portal's empty name
  at += encoder.encodeInto(name, bytes.subarray(at)).written;
  bytes[at++] = 0;
  view.setInt16(at, values.length);
  at += 2;
  for (const v of values) {
    view.setInt16(at, v instanceof Uint8Array ? 1 : 0);
    at += 2;
  }
  view.setInt16(at, values.length);
  at += 2;
  for (const v of values) {
    if (v === null) {
      view.setInt32(at, -1);
      at += 4;
    } else if (typeof v === "string") {
      const { written } = encoder.encodeInto(v, bytes.subarray(at + 4));
      view.setInt32(at, written);
      at += 4 + written;
    } else {
      view.setInt32(at, v.length);
      bytes.set(v, at + 4);
      at += 4 + v.length;
    }
  }
  view.setInt16(at, 0); // no result format codes: every column as text
  at += 2;
  view.setInt32(1, at - 1);
  bytes.set(DESCRIBE_EXECUTE_SYNC, at);
  return bytes.subarray(0, at + DESCRIBE_EXECUTE_SYNC.length);
};

/**
 * The prepared statements of one PGlite connection. Each call runs under PGlite's own locks:
 * outside a transaction it waits for open transactions as `query` does; inside one, the
 * transaction already holds that lock.
 */
export const makePreparedQuery = (db: PGlite): PreparedQuery => {
  const prepared = new Map<string, Prepared>();
  let counter = 0;
  const send = (message: Uint8Array): Promise<Message[]> =>
    db.execProtocolStream(message, { syncToFs: false });

  const prepare = async (sql: string, messages: Message[]): Promise<Prepared> => {
    const known = prepared.get(sql);
    if (known) {
      // Most recently used last, so eviction takes the first.
      prepared.delete(sql);
      prepared.set(sql, known);
      return known;
    }
    const name = `lk_s${++counter}`;
    const described = await send(concat(
      protocol.serialize.parse({ name, text: sql }),
      protocol.serialize.describe({ type: "S", name }),
    ));
    const entry = { name, types: parse.parseDescribeStatementResults(described) };
    prepared.set(sql, entry);
    if (prepared.size > MAX_PREPARED) {
      const [oldestSql, oldest] = prepared.entries().next().value!;
      prepared.delete(oldestSql);
      messages.push(...await send(protocol.serialize.close({ type: "S", name: oldest.name })));
    }
    return entry;
  };

  const run = async <T>(sql: string, params: ReadonlyArray<unknown>): Promise<T[]> => {
    const messages: Message[] = [];
    let synced = false;
    try {
      const { name, types } = await prepare(sql, messages);
      const values = params.map((value, i) => parameter(db, value, types[i]));
      // One call for the four steps: PGlite runs every message of what it is given, and after an
      // error Postgres skips what follows up to the sync, which leaves the connection ready.
      synced = true;
      messages.push(
        ...await send(bindAndExecute(name, values)),
      );
    } finally {
      if (!synced) messages.push(...await send(protocol.serialize.sync()));
    }
    return (parse.parseResults(messages, db.parsers)[0]?.rows ?? []) as T[];
  };

  // A statement whose tables changed shape since it was prepared (`select *` after a new
  // column) is refused by Postgres; it is prepared again, and run again where no transaction
  // was aborted by the refusal.
  const runFresh = async <T>(sql: string, params: ReadonlyArray<unknown>, retry: boolean) => {
    try {
      return await run<T>(sql, params);
    } catch (e) {
      if (!isStalePlan(e)) throw e;
      const stale = prepared.get(sql);
      prepared.delete(sql);
      if (stale) {
        await send(protocol.serialize.close({ type: "S", name: stale.name })).catch(() => []);
      }
      await send(protocol.serialize.sync());
      if (!retry) throw e;
      return await run<T>(sql, params);
    }
  };

  return <T>(sql: string, params: ReadonlyArray<unknown>, inTransaction: boolean) =>
    inTransaction
      ? db._runExclusiveQuery(() => runFresh<T>(sql, params, false))
      : db._runExclusiveTransaction(() =>
        db._runExclusiveQuery(async () => {
          const rows = await runFresh<T>(sql, params, true);
          await db.syncToFs();
          return rows;
        })
      );
};

const isStalePlan = (e: unknown): boolean =>
  (e as { code?: string }).code === "0A000" &&
  /cached plan must not change result type/.test(String((e as Error).message));
