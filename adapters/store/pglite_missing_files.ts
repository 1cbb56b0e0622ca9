/**
 * Lookups of a relation's missing forks and segments in the embedded database's file layer,
 * answered without an exception.
 *
 * Postgres asks whether a relation's free-space map exists each time it has no size of it at
 * hand, and for an index without one (no index has one until a vacuum finds pages to recycle,
 * and the store template ships none: store_template_folder.ts) that is at every page split.
 * PGlite's file layer (Emscripten's NODEFS over `node:fs`) looks a name up with `lstatSync`, and
 * for a missing file Deno builds a Node error, stack trace and all, which Emscripten then turns
 * into its own; `existsSync` answers with a boolean. Measured in the process: the 1,103 such
 * lookups of the 3,000 documents of `deno task bench` took 151-159 ms, now 43-49 ms; the 124-128
 * of the first run of the bundled records 16-24 ms, now 5-7 ms.
 *
 * Only the names of a relation's other forks and segments (`16384_fsm`, `16384_vm`,
 * `16384_init`, `16384.1`) are answered so: `existsSync` follows symbolic links, and Postgres
 * never makes such a file a link, so for them "missing" is all it can mean. Every other name is
 * looked up as before: a bare number may also be a database's folder or a tablespace's link.
 *
 * @module
 */
import { existsSync } from "node:fs";
import type { PGlite } from "@electric-sql/pglite";

/** The parts of PGlite's Emscripten module this replaces or calls. */
interface FileLayerModule {
  readonly NODEFS?: {
    readonly node_ops?: { lookup(parent: unknown, name: string): unknown };
    realPath?(node: unknown): string;
  };
  readonly FS?: { readonly ErrnoError?: new (errno: number) => unknown };
}

/** A relation's fork other than its main one, or a segment past its first. */
const FORK_OR_SEGMENT = /^\d+(_(fsm|vm|init)|(_(fsm|vm|init))?\.\d+)$/;

/** Emscripten's errno for "no such file or directory" (its own numbering, not the host's). */
const EMSCRIPTEN_ENOENT = 44;

/**
 * Makes `db`'s file layer answer a lookup of a missing fork or segment of a relation with
 * Emscripten's ENOENT directly. Returns whether it did (false: the layer is left as PGlite made
 * it).
 */
export const lookUpMissingFilesQuietly = (db: PGlite): boolean => {
  const mod = db.Module as unknown as FileLayerModule;
  const nodeOps = mod.NODEFS?.node_ops;
  const realPath = mod.NODEFS?.realPath?.bind(mod.NODEFS);
  const ErrnoError = mod.FS?.ErrnoError;
  if (!nodeOps || typeof nodeOps.lookup !== "function" || !realPath || !ErrnoError) return false;
  const lookup = nodeOps.lookup.bind(nodeOps);
  nodeOps.lookup = (parent, name) => {
    if (FORK_OR_SEGMENT.test(name) && !existsSync(`${realPath(parent)}/${name}`)) {
      throw new ErrnoError(EMSCRIPTEN_ENOENT);
    }
    return lookup(parent, name);
  };
  return true;
};
