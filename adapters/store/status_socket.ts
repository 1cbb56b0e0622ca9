/**
 * `status` beside the process holding an embedded store. Only one process may open the store
 * (store_lock.ts), so a `status` started while a run, a worker or a sensor has it open cannot read
 * it itself; the holder answers for it instead, from the store it has open, on a Unix socket in the
 * store's folder (`status.sock`, which only its owner may connect to).
 *
 * One request a connection: a line of JSON (`{"tenant":"…"}`), answered by one line of JSON, the
 * status (`{"status":{…}}`) or why it could not be read (`{"error":"…"}`), and the connection
 * closes. A process killed mid-run leaves the socket file behind with nobody listening: a `status`
 * is refused at once and opens the store itself; the next holder replaces the file.
 *
 * Windows has no Unix sockets here, and a socket path is limited to 107 bytes: there, no holder
 * answers and `status` says the store is busy, as before.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { z } from "zod";
import type { Store } from "./store.ts";
import { readStoreStatus, type StoreStatus, storeStatusSchema } from "./store_status.ts";
import type { StoreHolder } from "./store_lock.ts";

const SOCKET_FILE = "status.sock";
// sun_path holds 108 bytes on Linux, the terminating NUL included (104 on macOS).
const MAX_SOCKET_PATH = Deno.build.os === "linux" ? 107 : 103;
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The socket a holder of the store in `storeDir` answers on; undefined where it cannot. */
export const statusSocketPath = (storeDir: string): string | undefined => {
  if (Deno.build.os === "windows") return undefined;
  const path = join(resolve(storeDir), SOCKET_FILE);
  return new TextEncoder().encode(path).length <= MAX_SOCKET_PATH ? path : undefined;
};

/** A holder's endpoint; `close` stops answering, waits for answers under way, removes the file. */
export interface StatusEndpoint {
  readonly path: string;
  readonly close: () => Promise<void>;
}

const requestSchema = z.object({ tenant: z.string() });

/**
 * A connection is answered, or closed, within this: an asker that stalls holds nothing up. Longer
 * than an asker waits by default ({@link askHolderForStatus}), so the asker is the one to say so.
 */
const ANSWER_DEADLINE_MS = 30_000;
/**
 * A status read started this recently is sent again: `watch status` costs the holder one read a
 * while.
 */
const FRESH_MS = 2_000;
/** After a failed accept (out of file descriptors, say), the holder tries again this much later. */
const ACCEPT_RETRY_MS = 200;

const encoder = new TextEncoder();

/**
 * Reads to the end, or (`untilNewline`) to the first newline, refusing more than `limit` bytes.
 */
const readText = async (
  conn: Deno.Conn,
  limit: number,
  untilNewline: boolean,
): Promise<string> => {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    const chunk = buffer.slice(0, n);
    const newline = untilNewline ? chunk.indexOf(10) : -1;
    chunks.push(newline >= 0 ? chunk.subarray(0, newline) : chunk);
    size += n;
    if (newline >= 0) break;
    if (size > limit) throw new Error(`more than ${limit} bytes`);
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
};

const writeAll = async (conn: Deno.Conn, text: string) => {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
};

const closeQuietly = (closable: { close(): void }) => {
  try {
    closable.close();
  } catch {
    // Already closed.
  }
};

const isSocket = async (path: string): Promise<boolean> => {
  try {
    return (await Deno.lstat(path)).isSocket === true;
  } catch {
    return false;
  }
};

/**
 * The status of each tenant asked for, read once for the askers that come within {@link FRESH_MS}
 * of the read's start (so what they get was read at most that long ago); a failed read is not
 * kept.
 */
const statusReads = (store: Store) => {
  const reads = new Map<string, { status: Promise<StoreStatus>; startedAt: number }>();
  return (tenant: string): Promise<StoreStatus> => {
    const now = Date.now();
    for (const [t, read] of reads) if (now - read.startedAt >= FRESH_MS) reads.delete(t);
    const known = reads.get(tenant);
    if (known) return known.status;
    const read = { status: readStoreStatus(store, tenant), startedAt: now };
    read.status.catch(() => {
      if (reads.get(tenant) === read) reads.delete(tenant);
    });
    reads.set(tenant, read);
    return read.status;
  };
};

/** Options of {@link serveStoreStatus}. */
export interface ServeStatusOptions {
  /** How long a connection may take to ask and be answered. @default 30_000 */
  readonly answerDeadlineMs?: number;
}

/**
 * Answers `status` for the open `store` in `storeDir`, whose lock this process holds as `holder`.
 * Never fails: where the socket cannot be made (Windows, a long path, a folder it cannot write),
 * nobody answers and `status` says the store is busy. Never keeps the process alive either: a
 * process that ends without closing the store ends as before.
 */
export const serveStoreStatus = async (
  store: Store,
  storeDir: string,
  holder: StoreHolder,
  options: ServeStatusOptions = {},
): Promise<StatusEndpoint | undefined> => {
  const path = statusSocketPath(storeDir);
  if (path === undefined) return undefined;
  const deadlineMs = options.answerDeadlineMs ?? ANSWER_DEADLINE_MS;
  let listener: Deno.Listener | undefined;
  try {
    // Left by a holder that was killed: this process holds the lock now, so nobody listens on it.
    if (await isSocket(path)) await Deno.remove(path);
    listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o600);
  } catch {
    // Only a socket this call made is removed: whatever else is there stays.
    if (listener) {
      closeQuietly(listener);
      await Deno.remove(path).catch(() => {});
    }
    return undefined;
  }
  listener.unref();
  const server = listener;
  const statusOf = statusReads(store);
  // Connections whose question has not come yet: a close cuts them off.
  const waiting = new Set<Deno.Conn>();
  const answering = new Set<Promise<void>>();
  let closing = false;

  const answer = async (conn: Deno.Conn): Promise<void> => {
    conn.unref();
    const deadline = setTimeout(() => closeQuietly(conn), deadlineMs);
    Deno.unrefTimer(deadline);
    try {
      let reply: unknown;
      try {
        const line = await readText(conn, MAX_REQUEST_BYTES, true);
        waiting.delete(conn);
        const request = requestSchema.safeParse(JSON.parse(line));
        reply = request.success
          ? { status: await statusOf(request.data.tenant), holder }
          : { error: `expected {"tenant": "<id>"}` };
      } catch (e) {
        reply = { error: (e as Error).message ?? String(e) };
      }
      await writeAll(conn, `${JSON.stringify(reply)}\n`);
    } catch {
      // The asker went away, or took too long: nothing to tell it.
    } finally {
      clearTimeout(deadline);
      waiting.delete(conn);
      closeQuietly(conn);
    }
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => Deno.unrefTimer(setTimeout(resolve, ms)));

  const accepting = (async () => {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await server.accept();
      } catch {
        // Closed; or it could not accept this once (out of file descriptors): it goes on.
        if (closing) break;
        await pause(ACCEPT_RETRY_MS);
        continue;
      }
      if (closing) {
        closeQuietly(conn);
        break;
      }
      waiting.add(conn);
      const done = answer(conn).finally(() => answering.delete(done));
      answering.add(done);
    }
  })();
  let closed: Promise<void> | undefined;
  return {
    path,
    close: () =>
      closed ??= (async () => {
        closing = true;
        closeQuietly(server);
        await accepting;
        // An asker that has not asked yet is cut off; one that has gets its answer (within the
        // deadline), and the store closes after it was read.
        for (const conn of waiting) closeQuietly(conn);
        await Promise.all(answering);
        await Deno.remove(path).catch(() => {});
      })(),
  };
};

/** What the holder of a store said when asked for its status. */
export type HolderAnswer =
  | { readonly kind: "status"; readonly status: StoreStatus; readonly holder: StoreHolder }
  /** Nobody listens: the store is not held, or its holder does not answer `status`. */
  | { readonly kind: "nobody" }
  /** The holder was reached but gave no usable status: why. */
  | { readonly kind: "failed"; readonly message: string };

const errorSchema = z.object({ error: z.string() });
const statusReplySchema = z.object({
  status: storeStatusSchema,
  holder: z.object({ pid: z.number().int(), command: z.string(), since: z.string() }),
});

// Connecting finds no socket, or nobody listening on it (or the store path is not a folder).
const NOBODY_THERE = [
  Deno.errors.NotFound,
  Deno.errors.ConnectionRefused,
  Deno.errors.NotADirectory,
];
// The holder closed the connection before answering.
const CUT_OFF = [Deno.errors.ConnectionReset, Deno.errors.BrokenPipe, Deno.errors.UnexpectedEof];

const isOneOf = (e: unknown, kinds: ReadonlyArray<new (...args: never[]) => Error>) =>
  kinds.some((kind) => e instanceof kind);

/** Tells what a holder's answer holds, naming the first thing in it that is not as expected. */
export const holderAnswerOf = (text: string): HolderAnswer => {
  // Closed before answering: it was closing the store, which may be free now.
  if (text === "") return { kind: "nobody" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "failed", message: "it answered something that is not JSON" };
  }
  const error = errorSchema.safeParse(value);
  if (error.success) {
    return { kind: "failed", message: `it could not read the store: ${error.data.error}` };
  }
  const parsed = statusReplySchema.safeParse(value);
  if (parsed.success) {
    return { kind: "status", status: parsed.data.status, holder: parsed.data.holder };
  }
  const issue = parsed.error.issues[0];
  const where = (issue?.path ?? []).map(String).join(".");
  return {
    kind: "failed",
    message: `its answer is not a status: ${where === "" ? "" : `${where}: `}${
      (issue?.message ?? "invalid").replace(/^Invalid input: /, "")
    }`,
  };
};

const TIMED_OUT = Symbol("timed out");

/**
 * Asks the process holding the embedded store in `storeDir` for its status (`tenant`'s), giving
 * up after `timeoutMs`.
 */
export const askHolderForStatus = async (
  storeDir: string,
  tenant: string,
  timeoutMs = 20_000,
): Promise<HolderAnswer> => {
  const path = statusSocketPath(storeDir);
  if (path === undefined) return { kind: "nobody" };
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    // No socket, or nobody listening on it: `status` opens the store itself, and says why not
    // when it cannot (no store, a holder that does not answer status).
    if (isOneOf(e, NOBODY_THERE)) return { kind: "nobody" };
    return { kind: "failed", message: `cannot reach it: ${(e as Error).message}` };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((done) => {
    timer = setTimeout(() => done(TIMED_OUT), timeoutMs);
  });
  try {
    const asked = (async () => {
      await writeAll(conn, `${JSON.stringify({ tenant })}\n`);
      return await readText(conn, MAX_RESPONSE_BYTES, false);
    })();
    const text = await Promise.race([asked, timedOut]);
    if (text === TIMED_OUT) {
      asked.catch(() => {}); // Ends with an error once the connection is closed below.
      return { kind: "failed", message: `it did not answer within ${timeoutMs / 1000} s` };
    }
    return holderAnswerOf(text);
  } catch (e) {
    // Cut off before it answered (it was closing the store, or it ended): as if nobody had
    // listened.
    if (isOneOf(e, CUT_OFF)) return { kind: "nobody" };
    return { kind: "failed", message: `its answer could not be read: ${(e as Error).message}` };
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
};
