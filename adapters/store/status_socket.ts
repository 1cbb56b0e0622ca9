/**
 * `status` beside the process holding an embedded store. Only one process may open the store
 * (store_lock.ts), so a `status` started while a run, a worker or a sensor has it open cannot read
 * it itself; the holder answers for it instead, from the store it has open, on a Unix socket in the
 * store's folder (`status.sock`, readable by the folder's owner only).
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

/** A connection is answered, or closed, within this: an asker that stalls holds nothing up. */
const ANSWER_DEADLINE_MS = 10_000;
/** A status read this recently is sent again: `watch status` costs the holder one read a while. */
const FRESH_MS = 2_000;

const encoder = new TextEncoder();

/** Reads up to the first newline (or the end), refusing more than `limit` bytes. */
const readLine = async (conn: Deno.Conn, limit: number): Promise<string> => {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    const chunk = buffer.slice(0, n);
    const newline = chunk.indexOf(10);
    chunks.push(newline >= 0 ? chunk.subarray(0, newline) : chunk);
    size += n;
    if (newline >= 0) break;
    if (size > limit) throw new Error(`more than ${limit} bytes without a newline`);
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
 * The status of each tenant asked for, read once for the askers that come while it is read and
 * for {@link FRESH_MS} after; a failed read is not kept.
 */
const statusReads = (store: Store) => {
  const reads = new Map<string, { status: Promise<StoreStatus>; readAt?: number }>();
  return (tenant: string): Promise<StoreStatus> => {
    const now = Date.now();
    for (const [t, read] of reads) {
      if (read.readAt !== undefined && now - read.readAt >= FRESH_MS) reads.delete(t);
    }
    const known = reads.get(tenant);
    if (known) return known.status;
    const read: { status: Promise<StoreStatus>; readAt?: number } = {
      status: readStoreStatus(store, tenant),
    };
    read.status.then(() => read.readAt = Date.now(), () => reads.delete(tenant));
    reads.set(tenant, read);
    return read.status;
  };
};

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
): Promise<StatusEndpoint | undefined> => {
  const path = statusSocketPath(storeDir);
  if (path === undefined) return undefined;
  let listener: Deno.Listener | undefined;
  try {
    // Left by a holder that was killed: this process holds the lock now, so nobody listens on it.
    if (await isSocket(path)) await Deno.remove(path);
    listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o600);
  } catch {
    if (listener) closeQuietly(listener);
    await Deno.remove(path).catch(() => {});
    return undefined;
  }
  listener.unref();
  const statusOf = statusReads(store);
  const open = new Set<Deno.Conn>();
  const answering = new Set<Promise<void>>();
  let closing = false;

  const answer = async (conn: Deno.Conn): Promise<void> => {
    conn.unref();
    const deadline = setTimeout(() => closeQuietly(conn), ANSWER_DEADLINE_MS);
    Deno.unrefTimer(deadline);
    try {
      let reply: unknown;
      try {
        const request = requestSchema.safeParse(
          JSON.parse(await readLine(conn, MAX_REQUEST_BYTES)),
        );
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
      open.delete(conn);
      closeQuietly(conn);
    }
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        if (closing) {
          closeQuietly(conn);
          continue;
        }
        open.add(conn);
        const done = answer(conn).finally(() => answering.delete(done));
        answering.add(done);
      }
    } catch {
      // Closed, or it cannot accept any more: nobody answers from now on, and a `status` finds
      // nobody listening at once rather than waiting for an answer that does not come.
      if (!closing) {
        closeQuietly(listener);
        await Deno.remove(path).catch(() => {});
      }
    }
  })();
  let closed: Promise<void> | undefined;
  return {
    path,
    close: () =>
      closed ??= (async () => {
        closing = true;
        closeQuietly(listener);
        await accepting;
        // An asker still reading or not yet asking is cut off; a status being read is waited
        // for, so the store closes after it.
        for (const conn of open) closeQuietly(conn);
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

/** Reads the whole answer, refusing more than `limit` bytes. */
const readAll = async (conn: Deno.Conn, limit: number): Promise<string> => {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    size += n;
    if (size > limit) throw new Error(`an answer of more than ${limit} bytes`);
    chunks.push(buffer.slice(0, n));
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
};

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

/**
 * Asks the process holding the embedded store in `storeDir` for its status (`tenant`'s), giving
 * up after `timeoutMs`.
 */
export const askHolderForStatus = async (
  storeDir: string,
  tenant: string,
  timeoutMs = 10_000,
): Promise<HolderAnswer> => {
  const path = statusSocketPath(storeDir);
  if (path === undefined) return { kind: "nobody" };
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch {
    // No socket, or nobody listening on it: `status` opens the store itself, and says why not
    // when it cannot (no store, a holder that does not answer status).
    return { kind: "nobody" };
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((done) => {
    timer = setTimeout(() => done("timeout"), timeoutMs);
  });
  try {
    const asked = (async () => {
      await writeAll(conn, `${JSON.stringify({ tenant })}\n`);
      return await readAll(conn, MAX_RESPONSE_BYTES);
    })();
    const text = await Promise.race([asked, timedOut]);
    if (text === "timeout") {
      asked.catch(() => {}); // Ends with an error once the connection is closed below.
      return { kind: "failed", message: `it did not answer within ${timeoutMs / 1000} s` };
    }
    return holderAnswerOf(text);
  } catch {
    // Cut off (it was closing the store, or it ended): as if nobody had listened.
    return { kind: "nobody" };
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
};
