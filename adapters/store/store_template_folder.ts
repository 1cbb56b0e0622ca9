/**
 * A store template as a folder: what makes one (initdb, `create extension vector`, every
 * migration, then only what a new store needs), its key, and its manifest of files. The cache
 * (store_template.ts) and the template shipped with the kit (store_template_archive.ts) hold the
 * same folder in two forms.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";
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
 * A template file's digest: the SHA-256 of the SHA-256 digests (hex) of its 1 MB pieces, so a
 * large file could be checked piece by piece. Synchronous: a template's files are small once
 * their trailing zeros are cut, and a restore checks hundreds of them.
 */
export const digestOf = (data: Uint8Array): string => {
  const pieces: string[] = [];
  for (let start = 0; start < data.length; start += CHUNK) {
    pieces.push(createHash("sha256").update(data.subarray(start, start + CHUNK)).digest("hex"));
  }
  return createHash("sha256").update(pieces.join("")).digest("hex");
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
    const sha256 = digestOf(await Deno.readFile(file));
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

/**
 * Writes the template `manifest` describes into a new folder beside `dataDir` and returns it,
 * each file's kept bytes from `bytesOf` (which throws for a file that does not match the
 * manifest); on failure the folder is removed and the error thrown. {@link moveIntoPlace} puts
 * it in place.
 *
 * Synchronous: the cost is creating hundreds of small files, which a thread pool's promises made
 * two to five times slower, and nothing else runs while a store is being opened.
 */
export const stageTemplate = (
  manifest: Manifest,
  dataDir: string,
  bytesOf: (file: ManifestEntry) => Uint8Array,
): string => {
  const staging = `${dataDir}.restore-${crypto.randomUUID()}`;
  try {
    Deno.mkdirSync(staging, { recursive: true });
    const folders = new Set(
      manifest.files.map((f) => f.size === undefined ? f.path : dirname(f.path)),
    );
    for (const folder of folders) Deno.mkdirSync(join(staging, folder), { recursive: true });
    for (const file of manifest.files) {
      if (file.size === undefined) continue;
      const target = join(staging, file.path);
      Deno.writeFileSync(target, bytesOf(file));
      // The zeros left out come back as a hole: no disk written, reads as zeros.
      if (file.size > (file.stored ?? file.size)) Deno.truncateSync(target, file.size);
    }
  } catch (e) {
    try {
      Deno.removeSync(staging, { recursive: true });
    } catch {
      // Nothing was made.
    }
    throw e;
  }
  return staging;
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
