/**
 * Where a new embedded database comes from: a pre-initialised data folder (initdb, `create
 * extension vector` and every migration; see store_template_folder.ts). Creating a database
 * costs seconds of WebAssembly work; copying the template costs a fraction of one. The kit ships
 * the template of its own schema (store_template_archive.ts); a schema or PGlite build it was not
 * made for is served by a cache holding one template per PGlite build and schema, built on first
 * use.
 *
 * Each template folder carries a manifest with every file's size and SHA-256; a restore checks
 * them all and refuses a template that differs (a damaged or half-written cache), so the caller
 * falls back to initdb instead of opening a broken database. A file is kept without its trailing
 * zeros (the WAL segment, 16 MB of which the template uses a few hundred bytes) and restored to
 * its full size as a sparse file.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { homedir } from "node:os";
import {
  buildTemplateFolder,
  describeFolder,
  digestOf,
  type Manifest,
  moveIntoPlace,
  stageTemplate,
  templateKey,
} from "./store_template_folder.ts";
import { restoreShippedTemplate, SHIPPED_TEMPLATE } from "./store_template_archive.ts";

export { templateKey };

/** The manifest's name inside a template folder. */
const MANIFEST = "lineage-kit-template.json";

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
  const manifest: Manifest = { key, files: await describeFolder(dataDir) };
  await Deno.writeTextFile(join(dataDir, MANIFEST), JSON.stringify(manifest));
  try {
    await Deno.rename(dataDir, join(cacheDir, key));
  } catch {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
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
  let staging: string;
  try {
    if (manifest.key !== key || manifest.files.length === 0) throw new Error("bad manifest");
    staging = stageTemplate(manifest, dataDir, (file) => {
      const data = Deno.readFileSync(join(source, file.path));
      if (data.length !== (file.stored ?? file.size) || digestOf(data) !== file.sha256) {
        throw new Error(`${file.path} differs from the manifest`);
      }
      return data;
    });
  } catch {
    await Deno.remove(source, { recursive: true }).catch(() => {});
    return "corrupt";
  }
  await moveIntoPlace(staging, dataDir);
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

/**
 * Builds the template `key` in the cache (see {@link buildTemplateFolder}) and publishes it;
 * then drops the templates the cache no longer needs.
 */
const buildTemplate = async (cacheDir: string, key: string): Promise<void> => {
  await Deno.mkdir(cacheDir, { recursive: true });
  const dir = join(cacheDir, `${key}.tmp-${crypto.randomUUID()}`);
  try {
    await buildTemplateFolder(dir);
    await publishTemplate(cacheDir, key, dir);
    await pruneTemplateCache(cacheDir, key).catch(() => {});
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
};

/**
 * How {@link prepareDataDir} left an embedded database folder: it held a database already, it
 * was filled from the template shipped with the kit or from the cache, or it was left empty for
 * PGlite's initdb.
 */
export type PrepareOutcome = "existing" | "shipped" | "restored" | "uncached";

/**
 * Fills a new embedded database folder; a folder that already holds a database is left alone.
 * The template shipped with the kit (`shipped`, see store_template_archive.ts; `null`: not used)
 * serves when it was built for this kit's schema and PGlite build; otherwise the template cache in `cacheDir`
 * (see {@link templateCacheDir}), building the template there first when the cache lacks it.
 * Without a cache, or when building it fails (a read-only home, a full disk), the folder stays
 * empty and PGlite runs initdb in it as before: `"uncached"`.
 */
export const prepareDataDir = async (
  dataDir: string,
  cacheDir: string | undefined,
  shipped: URL | null = SHIPPED_TEMPLATE,
): Promise<PrepareOutcome> => {
  if (!await isEmptyOrMissing(dataDir)) return "existing";
  await Deno.mkdir(dirname(dataDir), { recursive: true });
  const key = await templateKey();
  if (shipped && await restoreShippedTemplate(shipped, key, dataDir, cacheDir) === "restored") {
    return "shipped";
  }
  if (!cacheDir) return "uncached";
  if (await restoreTemplate(cacheDir, key, dataDir) === "restored") return "restored";
  try {
    await buildTemplate(cacheDir, key);
  } catch {
    return "uncached";
  }
  return await restoreTemplate(cacheDir, key, dataDir) === "restored" ? "restored" : "uncached";
};
