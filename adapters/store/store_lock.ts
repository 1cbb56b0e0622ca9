/**
 * One process at a time on an embedded store. PGlite runs a whole PostgreSQL over the store's
 * files, so a second process opening them (a `status` beside a running `run-pipeline`) runs a
 * second one over the same files: each writes pages, WAL and checkpoints the other does not know
 * of, and what one wrote is lost (delivery records were, in a trial: a run's delivered events
 * showed as pending again). The store also drops, when it opens, every lease it finds, which is
 * only right when no other process is using it.
 *
 * The lock is an exclusive advisory lock on `store.lock` in the store's folder, held while the
 * store is open. The operating system releases it when the process ends, however it ends: a
 * process killed mid-run leaves nothing to clean up. The file says who holds it, for the message
 * the next process gives.
 *
 * @module
 */
import { basename, join } from "node:path";

/** The store is open in another process (or elsewhere in this one). */
export class StoreBusy extends Error {
  override readonly name = "StoreBusy";
}

/** A held store; `release` lets the next process in. */
export interface StoreHold {
  /** Who holds it: this process, as the lock file says. */
  readonly holder: StoreHolder;
  readonly release: () => void;
}

/** Who holds a store: written into the lock file by the holder. */
export interface StoreHolder {
  readonly pid: number;
  readonly command: string;
  readonly since: string;
}

const LOCK_FILE = "store.lock";

const holderOf = (file: Deno.FsFile): StoreHolder | undefined => {
  try {
    file.seekSync(0, Deno.SeekMode.Start);
    const bytes = new Uint8Array(4096);
    const n = file.readSync(bytes) ?? 0;
    const holder = JSON.parse(new TextDecoder().decode(bytes.subarray(0, n)));
    return typeof holder?.pid === "number" ? holder : undefined;
  } catch {
    return undefined; // Being written, or written by something else: the message says less.
  }
};

const busy = (holder: StoreHolder | undefined): StoreBusy =>
  holder?.pid === Deno.pid
    ? new StoreBusy(
      `the store is already open in this process (since ${holder.since}): close it first`,
    )
    : new StoreBusy(
      `the store is open in another process (${
        holder ? `pid ${holder.pid}, ${holder.command}, since ${holder.since}` : "unknown holder"
      }); an embedded store serves one process at a time: let that one finish, or share a ` +
        "PostgreSQL server store between processes (--store postgres://…)",
    );

/**
 * Who holds the embedded store in `storeDir`, as its lock file says (without taking the lock):
 * undefined when nobody wrote it or it cannot be read. The file stays after its holder ends: ask
 * only while the store is known to be held.
 */
export const readStoreHolder = async (storeDir: string): Promise<StoreHolder | undefined> => {
  try {
    using file = await Deno.open(join(storeDir, LOCK_FILE), { read: true });
    return holderOf(file);
  } catch {
    return undefined;
  }
};

/**
 * Holds the embedded store in `storeDir` (created when missing) for this process until
 * `release`, or refuses with {@link StoreBusy} naming the holder.
 *
 * @category constructors
 */
export const holdEmbeddedStore = async (storeDir: string): Promise<StoreHold> => {
  await Deno.mkdir(storeDir, { recursive: true });
  const file = await Deno.open(join(storeDir, LOCK_FILE), {
    read: true,
    write: true,
    create: true,
  });
  const holder: StoreHolder = {
    pid: Deno.pid,
    command: basename(Deno.mainModule ?? "deno"),
    since: new Date().toISOString(),
  };
  try {
    if (!await file.tryLock(true)) throw busy(holderOf(file));
    await file.truncate(0);
    const bytes = new TextEncoder().encode(JSON.stringify(holder));
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
  } catch (e) {
    file.close();
    throw e;
  }
  let released = false;
  return {
    holder,
    release: () => {
      if (released) return;
      released = true;
      // Closing the file releases its lock.
      file.close();
    },
  };
};
