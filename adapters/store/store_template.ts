/**
 * A cached, pre-initialised embedded database: the data folder PGlite leaves after initdb,
 * `create extension vector` and every migration. Creating a database costs seconds of
 * WebAssembly work; copying the template costs a fraction of one. The cache holds one template
 * per PGlite build and schema, so a new kit version or migration builds a new one.
 *
 * Each template folder carries a manifest with every file's size and SHA-256; a restore checks
 * them all and refuses a template that differs (a damaged or half-written cache), so the caller
 * falls back to initdb instead of opening a broken database. A file is kept without its trailing
 * zeros (the WAL segment, 16 MB of which the template uses a few hundred bytes) and restored to
 * its full size as a sparse file.
 *
 * @module
 */
import { dirname, join, relative } from "node:path";
import { homedir } from "node:os";
import { migrate, migrations } from "./migrations.ts";
import { PGlite } from "@electric-sql/pglite";
import { openPglite, pgliteSettings } from "./pglite_client.ts";

/** The manifest's name inside a template folder. */
const MANIFEST = "lineage-kit-template.json";

interface ManifestEntry {
  readonly path: string;
  /** Absent for a folder. */
  readonly size?: number;
  /** The bytes kept in the template when fewer than `size`: the rest were zeros. */
  readonly stored?: number;
  /** Of the bytes kept. */
  readonly sha256?: string;
}

interface Manifest {
  readonly key: string;
  readonly files: ReadonlyArray<ManifestEntry>;
}

/**
 * The folder templates are cached in: `LINEAGE_KIT_CACHE_DIR`, else `$XDG_CACHE_HOME/lineage-kit`,
 * else `~/.cache/lineage-kit`. `LINEAGE_KIT_CACHE_DIR=none` turns the cache off (undefined).
 */
export const templateCacheDir = (
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): string | undefined => {
  const override = env.LINEAGE_KIT_CACHE_DIR;
  if (override === "none") return undefined;
  if (override) return join(override, "store-templates");
  const base = env.XDG_CACHE_HOME || (() => {
    try {
      return join(homedir(), ".cache");
    } catch {
      return undefined;
    }
  })();
  return base ? join(base, "lineage-kit", "store-templates") : undefined;
};

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

const sha256 = async (data: Uint8Array<ArrayBuffer>): Promise<string> =>
  hex(await crypto.subtle.digest("SHA-256", data));

const CHUNK = 1 << 20;

/**
 * Streams `source` in 1 MB pieces, copying each to `target` when given, and returns the SHA-256
 * of the pieces' SHA-256 digests with the size: no file (a 16 MB WAL segment) is ever held whole.
 */
const digestFile = async (
  source: string,
  target?: string,
): Promise<{ size: number; sha256: string }> => {
  if ((await Deno.stat(source)).size < CHUNK) {
    // Most of a database's thousand files are small: one read and one write each.
    const data = await Deno.readFile(source);
    if (target) await Deno.writeFile(target, data);
    return {
      size: data.length,
      sha256: await sha256(new TextEncoder().encode(data.length ? await sha256(data) : "")),
    };
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

/**
 * Names the PGlite and pgvector builds: their resolved module URLs carry their versions. Where
 * `import.meta.resolve` cannot resolve them (a test runner's module transform), the PGlite
 * class's own source stands in.
 */
const buildsOf = (): unknown => {
  try {
    return [
      import.meta.resolve("@electric-sql/pglite"),
      import.meta.resolve("@electric-sql/pglite-pgvector"),
    ];
  } catch {
    return String(PGlite);
  }
};

/**
 * The template's key: the PGlite and pgvector builds, the database settings and a digest of
 * every migration, so a changed schema or build never restores an old template.
 */
export const templateKey = async (): Promise<string> => {
  const parts = JSON.stringify({
    builds: buildsOf(),
    settings: pgliteSettings,
    migrations,
    layout: TEMPLATE_LAYOUT,
  });
  const schema = Math.max(...migrations.map((m) => m.version));
  const digest = await sha256(new TextEncoder().encode(parts));
  return `schema-${schema}-${digest.slice(0, 16)}`;
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
 * Publishes the closed database folder `dataDir` as the template `key` under `cacheDir`. The
 * folder is written beside its final name and renamed into place with its manifest, so a reader
 * never sees half a template; when another process published first, its template is kept.
 */
export const publishTemplate = async (
  cacheDir: string,
  key: string,
  dataDir: string,
): Promise<void> => {
  const files: ManifestEntry[] = [];
  for (const { path, isDir } of await walk(dataDir)) {
    if (isDir) {
      files.push({ path });
      continue;
    }
    const file = join(dataDir, path);
    const size = (await Deno.stat(file)).size;
    const stored = await withoutTrailingZeros(file, size);
    const { sha256 } = await digestFile(file);
    files.push({ path, size, ...(stored < size ? { stored } : {}), sha256 });
  }
  const manifest: Manifest = { key, files };
  await Deno.writeTextFile(join(dataDir, MANIFEST), JSON.stringify(manifest));
  try {
    await Deno.rename(dataDir, join(cacheDir, key));
  } catch {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
};

// Files copied at once: the per-file cost is waiting on the file system, not the CPU.
const PARALLEL = 16;

// Stops taking items at the first failure and returns (rejects) only once every copy in flight
// has ended, so the caller's clean-up never races a copy still writing.
const inParallel = async <A>(
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

/** What {@link restoreTemplate} found. */
export type RestoreOutcome = "restored" | "missing" | "corrupt";

// A template folder appears whole (renamed into place with its manifest), so one without a
// manifest is what an interrupted removal left: it reads as damaged, and is removed.
const readManifest = async (dir: string): Promise<Manifest | undefined> => {
  const damaged = { key: "", files: [] };
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, MANIFEST))) as Manifest;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return damaged;
    return await Deno.stat(dir).then(() => damaged, () => undefined);
  }
};

/**
 * Copies the template `key` into `dataDir` (missing or empty), checking each file against the
 * manifest. The copy is made in a folder beside it and renamed into place once whole, so an
 * interrupted restore never leaves a half-filled database folder. A template that fails the
 * check is removed from the cache and `dataDir` is left as it was: `"corrupt"`. No template:
 * `"missing"`.
 */
export const restoreTemplate = async (
  cacheDir: string,
  key: string,
  dataDir: string,
): Promise<RestoreOutcome> => {
  const source = join(cacheDir, key);
  const manifest = await readManifest(source);
  if (!manifest) return "missing";
  const staging = `${dataDir}.restore-${crypto.randomUUID()}`;
  try {
    if (manifest.key !== key || manifest.files.length === 0) throw new Error("bad manifest");
    const dirs = new Set(
      manifest.files.map((f) => f.size === undefined ? f.path : dirname(f.path)),
    );
    for (const dir of dirs) await Deno.mkdir(join(staging, dir), { recursive: true });
    await inParallel(manifest.files.filter((f) => f.size !== undefined), async (file) => {
      const target = join(staging, file.path);
      const copied = await digestFile(join(source, file.path), target);
      if (copied.size !== (file.stored ?? file.size) || copied.sha256 !== file.sha256) {
        throw new Error(`${file.path} differs from the manifest`);
      }
      // The zeros left out come back as a hole: no disk written, reads as zeros.
      if (file.size! > copied.size) await Deno.truncate(target, file.size);
    });
  } catch {
    await Deno.remove(source, { recursive: true }).catch(() => {});
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    return "corrupt";
  }
  try {
    // Only an empty folder is removed (not recursive): a database that appeared meanwhile stays.
    await Deno.remove(dataDir).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(staging, dataDir);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
  // Dated as used, so the cache keeps the templates in use (see pruneTemplateCache).
  const now = new Date();
  await Deno.utime(join(source, MANIFEST), now, now).catch(() => {});
  return "restored";
};

const isEmptyOrMissing = async (dir: string): Promise<boolean> => {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
};

/** Templates kept in the cache: the ones restored most recently. */
const KEEP_TEMPLATES = 3;

// A template folder of another process still being built, or left by one that died building it.
const BUILD_ABANDONED_MS = 60 * 60 * 1000;

/**
 * Removes what the cache no longer needs: every template but the `KEEP_TEMPLATES` restored most
 * recently (a restore touches its manifest), so each kit version or schema a machine ran does not
 * keep its 9 MB for good, and build folders abandoned for an hour. A template removed while
 * another process restores it fails that restore's check and is built again.
 */
export const pruneTemplateCache = async (cacheDir: string, keep: string): Promise<void> => {
  const templates: Array<{ name: string; usedAt: number }> = [];
  for await (const entry of Deno.readDir(cacheDir)) {
    if (!entry.isDirectory || entry.name === keep) continue;
    const dir = join(cacheDir, entry.name);
    if (entry.name.includes(".tmp-")) {
      const { mtime } = await Deno.stat(dir);
      if (Date.now() - (mtime?.getTime() ?? 0) > BUILD_ABANDONED_MS) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      }
      continue;
    }
    const manifest = await Deno.stat(join(dir, MANIFEST)).catch(() => undefined);
    templates.push({ name: entry.name, usedAt: manifest?.mtime?.getTime() ?? 0 });
  }
  templates.sort((a, b) => b.usedAt - a.usedAt);
  for (const { name } of templates.slice(KEEP_TEMPLATES - 1)) {
    await Deno.remove(join(cacheDir, name), { recursive: true }).catch(() => {});
  }
};

// What a build does beyond the migrations; a change here must make a new template.
const TEMPLATE_LAYOUT = "without template databases, one WAL segment";

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
 * Builds the template `key` in the cache: initdb, the vector extension, every migration. The
 * store is one database (`postgres`); initdb's `template0` and `template1` serve only `create
 * database`, so they are dropped: 600 of a new store's thousand files and 14 MB it need not copy.
 */
const buildTemplate = async (cacheDir: string, key: string): Promise<void> => {
  await Deno.mkdir(cacheDir, { recursive: true });
  const dir = join(cacheDir, `${key}.tmp-${crypto.randomUUID()}`);
  try {
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
    await publishTemplate(cacheDir, key, dir);
    await pruneTemplateCache(cacheDir, key).catch(() => {});
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
};

/** How {@link prepareDataDir} left an embedded database folder. */
export type PrepareOutcome = "existing" | "restored" | "uncached";

/**
 * Fills a new embedded database folder from the template cache in `cacheDir` (see
 * {@link templateCacheDir}), building the template first
 * when the cache lacks it; a folder that already holds a database is left alone. Without a
 * cache, or when building it fails (a read-only home, a full disk), the folder stays empty and
 * PGlite runs initdb in it as before: `"uncached"`.
 */
export const prepareDataDir = async (
  dataDir: string,
  cacheDir: string | undefined,
): Promise<PrepareOutcome> => {
  if (!await isEmptyOrMissing(dataDir)) return "existing";
  if (!cacheDir) return "uncached";
  await Deno.mkdir(dirname(dataDir), { recursive: true });
  const key = await templateKey();
  if (await restoreTemplate(cacheDir, key, dataDir) === "restored") return "restored";
  try {
    await buildTemplate(cacheDir, key);
  } catch {
    return "uncached";
  }
  return await restoreTemplate(cacheDir, key, dataDir) === "restored" ? "restored" : "uncached";
};
