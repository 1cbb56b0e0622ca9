/**
 * A store template as a folder: what makes one (initdb, `create extension vector`, every
 * migration, then only what a new store needs), its key, and its manifest of files. The cache
 * (store_template.ts) and the template shipped with the kit (store_template_archive.ts) hold the
 * same folder in two forms.
 *
 * @module
 */
import { join, relative } from "node:path";
import { migrate, migrations } from "./migrations.ts";
import { openPglite, pgliteSettings } from "./pglite_client.ts";

/** One file or folder of a template. */
export interface ManifestEntry {
  readonly path: string;
  /** Absent for a folder. */
  readonly size?: number;
  /** The bytes kept in the template when fewer than `size`: the rest were zeros. */
  readonly stored?: number;
  /** Of the bytes kept. */
  readonly sha256?: string;
}

/** A template's key and files, folders first. */
export interface Manifest {
  readonly key: string;
  readonly files: ReadonlyArray<ManifestEntry>;
}

/**
 * The PGlite and pgvector releases the kit is built on (deno.json pins them). A template is
 * only valid for the build that wrote it, so these are part of its key.
 */
export const PINNED_BUILDS = { pglite: "0.5.16", pgvector: "0.0.15" } as const;

// `…/@electric-sql+pglite@0.5.16/…` in node_modules, `npm:@electric-sql/pglite@0.5.16` otherwise.
const versionIn = (url: string, name: string): string | undefined =>
  new RegExp(`[/+:]${name}@(\\d+\\.\\d+\\.\\d+[\\w.-]*)`).exec(url)?.[1];

/**
 * The PGlite and pgvector releases actually loaded, read from their resolved module URLs; where
 * those carry no version (a test runner's module transform), the pinned ones.
 */
export const loadedBuilds = (
  resolve: (specifier: string) => string = import.meta.resolve,
): { pglite: string; pgvector: string } => {
  const of = (specifier: string, name: string, pinned: string) => {
    try {
      return versionIn(resolve(specifier), name) ?? pinned;
    } catch {
      return pinned;
    }
  };
  return {
    pglite: of("@electric-sql/pglite", "pglite", PINNED_BUILDS.pglite),
    pgvector: of("@electric-sql/pglite-pgvector", "pglite-pgvector", PINNED_BUILDS.pgvector),
  };
};

// What a build does beyond the migrations; a change here must make a new template.
const TEMPLATE_LAYOUT =
  "without template databases, one WAL segment, no free-space or visibility maps, no relcache init files";

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** The SHA-256 of `data` in hex. */
const sha256 = async (data: Uint8Array<ArrayBuffer>): Promise<string> =>
  hex(await crypto.subtle.digest("SHA-256", data));

/**
 * The template's key: the PGlite and pgvector releases, the database settings and every
 * migration, so a changed schema or build never restores an old template. It names nothing of
 * the machine, so the template shipped with the kit serves every machine.
 */
export const templateKey = async (): Promise<string> => {
  const parts = JSON.stringify({
    builds: loadedBuilds(),
    settings: pgliteSettings,
    migrations,
    layout: TEMPLATE_LAYOUT,
  });
  const schema = Math.max(...migrations.map((m) => m.version));
  const digest = await sha256(new TextEncoder().encode(parts));
  return `schema-${schema}-${digest.slice(0, 16)}`;
};

const CHUNK = 1 << 20;

/**
 * Streams `source` in 1 MB pieces, copying each to `target` when given, and returns the SHA-256
 * of the pieces' SHA-256 digests with the size: no file (a 16 MB WAL segment) is ever held whole.
 */
export const digestFile = async (
  source: string,
  target?: string,
): Promise<{ size: number; sha256: string }> => {
  if ((await Deno.stat(source)).size < CHUNK) {
    // Most of a database's files are small: one read and one write each.
    const data = await Deno.readFile(source);
    if (target) await Deno.writeFile(target, data);
    return { size: data.length, sha256: await digestBytes(data) };
  }
  using input = await Deno.open(source);
  using output = target
    ? await Deno.open(target, { write: true, create: true, truncate: true })
    : undefined;
  const buffer = new Uint8Array(CHUNK);
  const digests: string[] = [];
  let size = 0;
  for (;;) {
    let filled = 0;
    while (filled < CHUNK) {
      const n = await input.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled === 0) break;
    const piece = buffer.slice(0, filled);
    size += filled;
    digests.push(await sha256(piece));
    if (output) {
      for (let written = 0; written < filled;) {
        written += await output.write(piece.subarray(written));
      }
    }
    if (filled < CHUNK) break;
  }
  return { size, sha256: await sha256(new TextEncoder().encode(digests.join(""))) };
};

/** The digest {@link digestFile} gives a file holding `data`. */
const digestBytes = async (data: Uint8Array<ArrayBuffer>): Promise<string> => {
  const digests: string[] = [];
  for (let start = 0; start < data.length; start += CHUNK) {
    digests.push(await sha256(data.slice(start, start + CHUNK)));
  }
  return await sha256(new TextEncoder().encode(digests.join("")));
};

/** Cuts the zeros off the end of `file` (`size` bytes long); returns the length kept. */
const withoutTrailingZeros = async (file: string, size: number): Promise<number> => {
  using handle = await Deno.open(file, { read: true, write: true });
  const buffer = new Uint8Array(CHUNK);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    await handle.seek(start, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < end - start) {
      const n = await handle.read(buffer.subarray(filled, end - start));
      if (n === null) break;
      filled += n;
    }
    const last = buffer.subarray(0, filled).findLastIndex((b) => b !== 0);
    if (last >= 0) {
      end = start + last + 1;
      break;
    }
    end = start;
  }
  if (end < size) await handle.truncate(end);
  return end;
};

/** Every file and folder under `root`, folders first; Postgres needs its empty folders too. */
const walk = async (root: string, dir = root): Promise<{ path: string; isDir: boolean }[]> => {
  const out: { path: string; isDir: boolean }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      out.push({ path: relative(root, path), isDir: true }, ...await walk(root, path));
    } else if (entry.isFile) out.push({ path: relative(root, path), isDir: false });
  }
  return out;
};

/**
 * The manifest of the closed database folder `dir`, cutting each file's trailing zeros off in
 * place (they come back as a hole when it is restored).
 */
export const describeFolder = async (dir: string): Promise<ManifestEntry[]> => {
  const files: ManifestEntry[] = [];
  for (const { path, isDir } of await walk(dir)) {
    if (isDir) {
      files.push({ path });
      continue;
    }
    const file = join(dir, path);
    const size = (await Deno.stat(file)).size;
    const stored = await withoutTrailingZeros(file, size);
    const { sha256 } = await digestFile(file);
    files.push({ path, size, ...(stored < size ? { stored } : {}), sha256 });
  }
  return files;
};

const WAL_SEGMENT = /^[0-9A-F]{24}$/;

/**
 * Removes every WAL segment but `keep`, the one holding the last checkpoint: the ones before it
 * are history, the ones after are old segments Postgres renamed for reuse (it creates a segment
 * when it needs one).
 */
const removeOtherWalSegments = async (walDir: string, keep: string): Promise<void> => {
  for await (const entry of Deno.readDir(walDir)) {
    if (entry.isFile && WAL_SEGMENT.test(entry.name) && entry.name !== keep) {
      await Deno.remove(join(walDir, entry.name));
    }
  }
};

/**
 * Makes a template in the new folder `dir`: initdb, the vector extension, every migration. The
 * store is one database (`postgres`); initdb's `template0` and `template1` serve only `create
 * database`, so they are dropped: 600 of a new store's thousand files and 14 MB it need not copy.
 */
export const buildTemplateFolder = async (dir: string): Promise<void> => {
  const client = await openPglite(dir);
  await migrate(client);
  for (const name of ["template1", "template0"]) {
    // One statement per call: `drop database` cannot run inside a transaction block.
    await client.exec(`alter database ${name} is_template false`);
    await client.exec(`drop database ${name}`);
  }
  // The building's WAL is never replayed: a new segment and a checkpoint, so the template
  // starts from one WAL segment with nothing but its checkpoint in it.
  await client.query("select pg_switch_wal()");
  await client.exec("checkpoint");
  const [{ segment }] = await client.query<{ segment: string }>(
    "select pg_walfile_name(pg_current_wal_lsn()) as segment",
  );
  await client.close();
  await removeOtherWalSegments(join(dir, "pg_wal"), segment);
  await removeOptionalFiles(dir);
};

// A relation's free-space and visibility maps are made again when Postgres needs them (it reads
// a missing one as "nothing known"), and the relation caches' init files are removed and written
// again at every start: none is worth a file to create in every new store, where creating the
// hundreds of small files is most of the time a restore takes.
const OPTIONAL_FILE = /(_fsm|_vm|^pg_internal\.init)$/;

const removeOptionalFiles = async (dir: string): Promise<void> => {
  for (const { path, isDir } of await walk(dir)) {
    if (!isDir && OPTIONAL_FILE.test(path.split("/").at(-1)!)) await Deno.remove(join(dir, path));
  }
};

// Files written at once: the per-file cost is waiting on the file system, not the CPU.
const PARALLEL = 16;

/**
 * Runs `f` on every item, sixteen at a time. Stops taking items at the first failure and
 * returns (rejects) only once every call in flight has ended, so the caller's clean-up never
 * races a copy still writing.
 */
export const inParallel = async <A>(
  items: ReadonlyArray<A>,
  f: (item: A) => Promise<void>,
): Promise<void> => {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      try {
        await f(items[next++]);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const ends = await Promise.allSettled(Array.from({ length: PARALLEL }, worker));
  const failure = ends.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) throw failure.reason;
};

/**
 * Moves the filled folder `staging` to `dataDir` (missing or empty), so a database folder is
 * never seen half-filled. Only an empty `dataDir` is replaced: a database that appeared
 * meanwhile stays, and `staging` is removed.
 */
export const moveIntoPlace = async (staging: string, dataDir: string): Promise<void> => {
  try {
    await Deno.remove(dataDir).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(staging, dataDir);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
};
