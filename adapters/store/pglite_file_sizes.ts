/**
 * File sizes for the embedded database's file layer at the cost of a seek.
 *
 * Postgres learns how long a relation is by seeking to the end of its file, which it does each
 * time a table grows by a page and each time a scan starts. PGlite's file layer (Emscripten's
 * NODEFS over `node:fs`) answers such a seek with a full `fstatSync`, and Deno builds a complete
 * `Stats` object for each: 10-20 µs a call, about 24,000 calls and half a second of the 3,000
 * documents of `deno task bench`, 5 % of the run. A second descriptor on the same file, opened
 * through `/proc/self/fd`, answers with one `lseek`: the size comes from the kernel each time,
 * so nothing is cached that could go stale. Where that path does not exist (not Linux) or may
 * not be read, the file layer stays as PGlite made it.
 *
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";

/** The parts of an Emscripten stream on NODEFS this reads. */
interface Stream {
  /** The `node:fs` descriptor: a file descriptor of this process. */
  readonly nfd?: number;
  readonly node: { readonly mode: number };
  /** Shared by a stream and its duplicates; `refcount` reaches 0 when the descriptor closes. */
  readonly shared?: { readonly refcount: number };
}

interface StreamOps {
  llseek(stream: Stream, offset: number, whence: number): number;
  close(stream: Stream): void;
}

interface NodeFsModule {
  readonly NODEFS?: { readonly stream_ops?: StreamOps };
  readonly FS?: { isFile(mode: number): boolean };
}

const SEEK_END = 2;
const FD_DIR = "/proc/self/fd";

const canReadFdDir = (): boolean => {
  try {
    return Deno.build.os === "linux" &&
      Deno.permissions.querySync({ name: "read", path: FD_DIR }).state === "granted" &&
      Deno.statSync(FD_DIR).isDirectory;
  } catch {
    return false;
  }
};

/**
 * Makes `db`'s file layer answer a seek to the end of a file with a seek on a second descriptor
 * of it. Returns whether it did (false: the layer is left as it was).
 */
export const sizeFilesBySeeking = (db: PGlite): boolean => {
  const mod = db.Module as unknown as NodeFsModule;
  const ops = mod.NODEFS?.stream_ops;
  const fs = mod.FS;
  if (!ops || !fs || typeof ops.llseek !== "function" || !canReadFdDir()) return false;
  const llseek = ops.llseek.bind(ops);
  const close = ops.close.bind(ops);
  // One per open descriptor (keyed by what its duplicates share), closed with it.
  const sizers = new WeakMap<object, Deno.FsFile>();
  const keyOf = (stream: Stream): object => stream.shared ?? stream;
  const sizerOf = (stream: Stream & { nfd: number }): Deno.FsFile | undefined => {
    const key = keyOf(stream);
    let sizer = sizers.get(key);
    if (!sizer) {
      try {
        sizer = Deno.openSync(`${FD_DIR}/${stream.nfd}`, { read: true });
      } catch {
        return undefined;
      }
      sizers.set(key, sizer);
    }
    return sizer;
  };
  ops.llseek = (stream, offset, whence) => {
    // A negative offset (a position before the end, perhaps before the start) stays PGlite's.
    const sizer = whence === SEEK_END && offset >= 0 && stream.nfd !== undefined &&
        fs.isFile(stream.node.mode)
      ? sizerOf(stream as Stream & { nfd: number })
      : undefined;
    return sizer ? offset + sizer.seekSync(0, Deno.SeekMode.End) : llseek(stream, offset, whence);
  };
  ops.close = (stream) => {
    try {
      close(stream);
    } finally {
      const key = keyOf(stream);
      const sizer = sizers.get(key);
      if (sizer && !(stream.shared && stream.shared.refcount > 0)) {
        sizers.delete(key);
        sizer.close();
      }
    }
  };
  return true;
};
