/**
 * The store template shipped with the kit, so a new machine's first store is copied too and never
 * runs initdb (seconds, and a peak of about 700 MB: PGlite's initdb copies its whole WebAssembly
 * heap between its steps). It is the template folder of store_template_folder.ts in one gzip
 * file: a header, the manifest as JSON, then every file's kept bytes in the manifest's order.
 * gzip's checksum covers the whole; a file cut short or altered is refused, never restored.
 *
 * The kit's schema or PGlite build changing makes a new key: the shipped template no longer
 * serves (stores come from the cache, built once per machine) until it is made again with
 * `deno task store-template`; a test fails while it is out of date.
 *
 * @module
 */
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import {
  buildTemplateFolder,
  describeFolder,
  type Manifest,
  moveIntoPlace,
  stageTemplate,
  templateKey,
} from "./store_template_folder.ts";

/** Where the shipped template is, beside this module (a file here, a URL in a published kit). */
export const SHIPPED_TEMPLATE: URL = new URL("./store_template.gz", import.meta.url);

const MAGIC = new TextEncoder().encode("lineage-kit store template 1\n");

// zlib in one call: a stream through DecompressionStream took half as long again. gunzip checks
// the CRC and length at the end of the file, so a cut-short or altered archive throws.
const gzip = (bytes: Uint8Array, format: "compress" | "decompress"): Uint8Array<ArrayBuffer> => {
  const out = format === "compress" ? gzipSync(bytes) : gunzipSync(bytes);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength) as Uint8Array<ArrayBuffer>;
};

/** The closed template folder `dir`, described by `manifest`, as one gzip file. */
export const packTemplate = async (
  dir: string,
  manifest: Manifest,
): Promise<Uint8Array<ArrayBuffer>> => {
  const header = new TextEncoder().encode(JSON.stringify(manifest));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, header.length);
  const parts: Uint8Array<ArrayBuffer>[] = [MAGIC, length, header];
  for (const file of manifest.files) {
    if (file.size === undefined) continue;
    const data = await Deno.readFile(join(dir, file.path));
    if (data.length !== (file.stored ?? file.size)) {
      throw new Error(`${file.path} changed while the template was packed`);
    }
    parts.push(data);
  }
  return gzip(new Uint8Array(await new Blob(parts).arrayBuffer()), "compress");
};

/** A shipped template read back: its manifest and each file's bytes, in the manifest's order. */
interface Unpacked {
  readonly manifest: Manifest;
  readonly contents: ReadonlyMap<string, Uint8Array>;
}

/** Reads a packed template; throws when it is not one or does not add up. */
export const unpackTemplate = (packed: Uint8Array): Unpacked => {
  const bytes = gzip(packed, "decompress");
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new Error("not a store template");
  const length = new DataView(bytes.buffer, bytes.byteOffset + MAGIC.length, 4).getUint32(0);
  const start = MAGIC.length + 4;
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + length)));
  if (typeof manifest?.key !== "string" || !Array.isArray(manifest.files)) {
    throw new Error("the template's manifest is malformed");
  }
  const contents = new Map<string, Uint8Array>();
  let offset = start + length;
  for (const file of manifest.files as Manifest["files"]) {
    // Every path stays inside the folder it is restored to.
    if (
      typeof file.path !== "string" || file.path === "" || file.path.startsWith("/") ||
      file.path.split("/").includes("..")
    ) {
      throw new Error(`the template names a file outside its folder: ${JSON.stringify(file.path)}`);
    }
    if (file.size === undefined) continue;
    const kept = file.stored ?? file.size;
    if (!Number.isInteger(kept) || kept < 0 || offset + kept > bytes.length) {
      throw new Error(`${file.path}: the template is shorter than its manifest`);
    }
    contents.set(file.path, bytes.subarray(offset, offset + kept));
    offset += kept;
  }
  if (offset !== bytes.length) throw new Error("the template is longer than its manifest");
  return { manifest, contents };
};

const readUrl = async (url: URL): Promise<Uint8Array<ArrayBuffer> | undefined> => {
  if (url.protocol === "file:") {
    try {
      return await Deno.readFile(url);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }
  const response = await fetch(url);
  if (response.status === 404) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
};

/** What {@link restoreShippedTemplate} found. */
export type ShippedOutcome = "restored" | "missing" | "stale" | "corrupt";

const KEPT_PREFIX = "shipped-";

// The kept copy of a fetched archive, and the writing of it: beside its final name, renamed
// into place whole; the copies kept for other keys (earlier kit versions) are removed.
const keptArchive = (cacheDir: string, key: string) => join(cacheDir, `${KEPT_PREFIX}${key}.gz`);

const keepArchive = async (cacheDir: string, key: string, packed: Uint8Array): Promise<void> => {
  await Deno.mkdir(cacheDir, { recursive: true });
  const path = keptArchive(cacheDir, key);
  const partial = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(partial, packed);
  await Deno.rename(partial, path);
  for await (const entry of Deno.readDir(cacheDir)) {
    const other = join(cacheDir, entry.name);
    if (entry.isFile && entry.name.startsWith(KEPT_PREFIX) && other !== path) {
      await Deno.remove(other).catch(() => {});
    }
  }
};

/**
 * The shipped template at `url` when it is the template `key`, or why not. One fetched over the
 * network (the kit imported from JSR) is kept in `cacheDir` after it was read whole, so later
 * stores do not download it again; a kept copy that does not read whole is removed and fetched
 * again.
 */
const shippedArchive = async (
  url: URL,
  key: string,
  cacheDir: string | undefined,
): Promise<Unpacked | "missing" | "stale" | "corrupt"> => {
  const kept = url.protocol !== "file:" && cacheDir ? keptArchive(cacheDir, key) : undefined;
  if (kept) {
    try {
      const unpacked = unpackTemplate(await Deno.readFile(kept));
      if (unpacked.manifest.key === key) return unpacked;
    } catch {
      // Not kept yet, or damaged: fetched again below.
    }
    await Deno.remove(kept).catch(() => {});
  }
  let packed: Uint8Array | undefined;
  let unpacked: Unpacked;
  try {
    packed = await readUrl(url);
    if (!packed) return "missing";
    unpacked = unpackTemplate(packed);
  } catch {
    return "corrupt";
  }
  if (unpacked.manifest.key !== key) return "stale";
  if (cacheDir && kept) await keepArchive(cacheDir, key, packed).catch(() => {});
  return unpacked;
};

/**
 * Copies the shipped template at `url` into `dataDir` (missing or empty) when it is the template
 * `key`: through a folder beside it, renamed into place once whole. `"stale"`: it was made for
 * another schema or build; `"corrupt"`: it could not be read whole, and `dataDir` is as it was.
 * `cacheDir`: where a template fetched over the network is kept (see {@link shippedArchive}).
 */
export const restoreShippedTemplate = async (
  url: URL,
  key: string,
  dataDir: string,
  cacheDir?: string,
): Promise<ShippedOutcome> => {
  const found = await shippedArchive(url, key, cacheDir);
  if (typeof found === "string") return found;
  const { manifest, contents } = found;
  await moveIntoPlace(stageTemplate(manifest, dataDir, (f) => contents.get(f.path)!), dataDir);
  return "restored";
};

// ustar: a 512-byte header per entry (octal numbers, a checksum over the header), the data in
// 512-byte blocks, two zero blocks at the end.
const tarHeader = (path: string, size: number, directory: boolean): Uint8Array<ArrayBuffer> => {
  const header = new Uint8Array(512);
  const put = (text: string, at: number) => header.set(new TextEncoder().encode(text), at);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, "0");
  if (new TextEncoder().encode(path).length > 99) throw new Error(`${path}: name too long for tar`);
  put(path, 0);
  put(octal(directory ? 0o700 : 0o600, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(0, 12), 136);
  put(directory ? "5" : "0", 156);
  put("ustar\u000000", 257);
  put("        ", 148);
  const sum = header.reduce((a, b) => a + b, 0);
  put(`${octal(sum, 7)}\u0000`, 148);
  return header;
};

/**
 * A template as the tar PGlite loads into an in-memory database (`loadDataDir`): every file at
 * its full size, as there are no holes in memory.
 */
export const templateTar = ({ manifest, contents }: Unpacked): Blob => {
  const parts: BlobPart[] = [];
  for (const file of manifest.files) {
    const directory = file.size === undefined;
    parts.push(tarHeader(directory ? `${file.path}/` : file.path, file.size ?? 0, directory));
    if (directory) continue;
    const kept = contents.get(file.path)!;
    parts.push(kept as Uint8Array<ArrayBuffer>);
    const padding = file.size! - kept.length + (512 - file.size! % 512) % 512;
    if (padding > 0) parts.push(new Uint8Array(padding));
  }
  parts.push(new Uint8Array(1024));
  return new Blob(parts);
};

const unpackedByKey = new Map<string, Promise<Unpacked | undefined>>();

/**
 * The shipped template as a tar for an in-memory database, when it is the template `key`; read
 * once per process, as tests open many such databases (`cacheDir`: as for
 * {@link restoreShippedTemplate}).
 */
export const shippedTemplateTar = async (
  key: string,
  url: URL = SHIPPED_TEMPLATE,
  cacheDir?: string,
): Promise<Blob | undefined> => {
  const id = `${url}\n${key}`;
  if (!unpackedByKey.has(id)) {
    unpackedByKey.set(
      id,
      shippedArchive(url, key, cacheDir).then(
        (found) => typeof found === "string" ? undefined : found,
        () => undefined,
      ),
    );
  }
  const unpacked = await unpackedByKey.get(id);
  return unpacked ? templateTar(unpacked) : undefined;
};

/** The key the shipped template at `url` was made for; undefined when there is none. */
export const shippedTemplateKey = async (url: URL = SHIPPED_TEMPLATE) => {
  const packed = await readUrl(url);
  return packed ? unpackTemplate(packed).manifest.key : undefined;
};

/**
 * Makes the template for the kit's current schema and PGlite build and writes it to `url`
 * (`deno task store-template`); resolves to its key and size.
 */
export const writeShippedTemplate = async (
  url: URL = SHIPPED_TEMPLATE,
): Promise<{ key: string; bytes: number }> => {
  const dir = await Deno.makeTempDir({ prefix: "lk-template-" });
  try {
    const folder = join(dir, "db");
    await buildTemplateFolder(folder);
    const key = await templateKey();
    const packed = await packTemplate(folder, { key, files: await describeFolder(folder) });
    // Written beside and renamed, so the kit never ships half a template.
    const target = fileURLToPath(url);
    await Deno.writeFile(`${target}.tmp`, packed);
    await Deno.rename(`${target}.tmp`, target);
    return { key, bytes: packed.length };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

if (import.meta.main) {
  const { key, bytes } = await writeShippedTemplate();
  console.log(`${fileURLToPath(SHIPPED_TEMPLATE)}: ${key}, ${(bytes / 1024).toFixed(0)} KB`);
}
