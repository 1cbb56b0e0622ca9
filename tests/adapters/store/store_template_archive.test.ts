import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { prepareDataDir } from "../../../adapters/store/store_template.ts";
import {
  packTemplate,
  restoreShippedTemplate,
  SHIPPED_TEMPLATE,
  shippedTemplateKey,
  shippedTemplateTar,
  unpackTemplate,
} from "../../../adapters/store/store_template_archive.ts";
import {
  describeFolder,
  loadedBuilds,
  PINNED_BUILDS,
  templateKey,
} from "../../../adapters/store/store_template_folder.ts";
import { openEmbeddedStore, type Store } from "../../../adapters/store/store.ts";
import { migrations } from "../../../adapters/store/migrations.ts";

const root = await Deno.makeTempDir({ prefix: "lk-shipped-" });
afterAll(() => Deno.remove(root, { recursive: true }));

const everyVersion = migrations.filter((m) => m.needsVector !== false).map((m) => m.version);

// Every migration applied, in the store's one database (initdb would have left template0 and
// template1 as well).
const expectEveryMigrationInOneDatabase = async (store: Store) => {
  const applied = await store.client.query<{ version: number }>(
    "select version from lk_migrations order by version",
  );
  expect(applied.map((r) => r.version)).toEqual(everyVersion);
  const names = await store.client.query<{ datname: string }>(
    "select datname from pg_database order by datname",
  );
  expect(names.map((r) => r.datname)).toEqual(["postgres"]);
};

describe("the shipped store template", () => {
  it("is the one this kit's schema and PGlite build make (else: deno task store-template)", async () => {
    const shipped = await shippedTemplateKey();
    expect(
      shipped,
      "adapters/store/store_template.gz is out of date: run `deno task store-template`",
    ).toEqual(await templateKey());
  });

  it("makes a new store without initdb or a cache: one database, every migration", async () => {
    const dir = join(root, "a", "db");
    expect(await prepareDataDir(dir, undefined)).toEqual("shipped");
    const store = await openEmbeddedStore(join(root, "a"));
    try {
      await expectEveryMigrationInOneDatabase(store);
      // The store writes on past the template's WAL segment, which came back at its full size.
      await store.client.exec("create table lk_test_shipped (n int)");
      await store.client.exec("insert into lk_test_shipped select generate_series(1, 1000)");
    } finally {
      await store.close();
    }
    const reopened = await openEmbeddedStore(join(root, "a"));
    try {
      expect(await reopened.client.query("select count(*)::int as n from lk_test_shipped"))
        .toEqual([{ n: 1000 }]);
    } finally {
      await reopened.close();
    }
  });
});

describe("an in-memory store", () => {
  it("starts from the shipped template too (no initdb): one database, every migration", async () => {
    expect(await shippedTemplateTar(await templateKey())).toBeInstanceOf(Blob);
    const store = await openEmbeddedStore();
    try {
      await expectEveryMigrationInOneDatabase(store);
      await store.client.exec("create table lk_test_memory (n int)");
      await store.client.exec("insert into lk_test_memory select generate_series(1, 100000)");
      await store.client.exec("checkpoint");
      expect(await store.client.query("select count(*)::int as n from lk_test_memory"))
        .toEqual([{ n: 100000 }]);
    } finally {
      await store.close();
    }
  });

  it("is given no template made for another key", async () => {
    expect(await shippedTemplateTar("schema-0-0000000000000000")).toBeUndefined();
  });
});

describe("packTemplate() / restoreShippedTemplate()", () => {
  const folder = join(root, "folder");
  const archive = join(root, "template.gz");
  const url = pathToFileURL(archive) as URL;

  const packFolder = async (key: string) => {
    await Deno.mkdir(join(folder, "base", "empty"), { recursive: true });
    await Deno.writeTextFile(join(folder, "PG_VERSION"), "17\n");
    const wal = new Uint8Array(1 << 16);
    wal.set([1, 2, 3], 100);
    await Deno.writeFile(join(folder, "base", "segment"), wal);
    await Deno.writeFile(
      archive,
      await packTemplate(folder, { key, files: await describeFolder(folder) }),
    );
  };

  it("gives back every file and folder, trailing zeros as a hole of the same size", async () => {
    await packFolder("k1");
    const dir = join(root, "r1", "db");
    expect(await restoreShippedTemplate(url, "k1", dir)).toEqual("restored");
    expect(await Deno.readTextFile(join(dir, "PG_VERSION"))).toEqual("17\n");
    const segment = await Deno.readFile(join(dir, "base", "segment"));
    expect(segment.length).toEqual(1 << 16);
    expect([...segment.subarray(100, 103)]).toEqual([1, 2, 3]);
    expect(segment.subarray(103).every((b) => b === 0)).toBe(true);
    expect((await Deno.stat(join(dir, "base", "empty"))).isDirectory).toBe(true);
    expect((await Array.fromAsync(Deno.readDir(join(root, "r1")))).map((e) => e.name)).toEqual([
      "db",
    ]);
  });

  it("serves only the key it was made for", async () => {
    await packFolder("k1");
    const dir = join(root, "r2", "db");
    expect(await restoreShippedTemplate(url, "k2", dir)).toEqual("stale");
    expect(await Deno.stat(dir).catch(() => "none")).toEqual("none");
  });

  it("refuses an archive cut short or altered, and restores nothing", async () => {
    await packFolder("k1");
    const packed = await Deno.readFile(archive);
    const dir = join(root, "r3", "db");
    await Deno.writeFile(archive, packed.subarray(0, packed.length - 9));
    expect(await restoreShippedTemplate(url, "k1", dir)).toEqual("corrupt");
    const altered = packed.slice();
    altered[Math.floor(altered.length / 2)] ^= 0xff;
    await Deno.writeFile(archive, altered);
    expect(await restoreShippedTemplate(url, "k1", dir)).toEqual("corrupt");
    expect(await Deno.stat(dir).catch(() => "none")).toEqual("none");
    expect(await Array.fromAsync(Deno.readDir(join(root, "r3"))).catch(() => [])).toEqual([]);
  });

  it("keeps an archive fetched over the network in the cache: the next store does not fetch it", async () => {
    await packFolder("k1");
    const bytes = await Deno.readFile(archive);
    let requests = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
      requests++;
      return new Response(bytes);
    });
    try {
      const remote = new URL(`http://127.0.0.1:${server.addr.port}/store_template.gz`);
      const cache = join(root, "net-cache");
      const restore = (n: number, key = "k1") =>
        restoreShippedTemplate(remote, key, join(root, `net${n}`, "db"), cache);
      expect([await restore(1), await restore(2)]).toEqual(["restored", "restored"]);
      expect(requests).toBe(1);
      expect(await Deno.readTextFile(join(root, "net2", "db", "PG_VERSION"))).toEqual("17\n");
      // A kept copy that does not read whole is fetched again and replaced.
      const kept = join(cache, "shipped-k1.gz");
      await Deno.writeFile(kept, bytes.subarray(0, 10));
      expect(await restore(3)).toEqual("restored");
      expect(requests).toBe(2);
      expect(await Deno.readFile(kept)).toEqual(bytes);
      // Fetched for another key, it is stale and not kept under that key.
      expect(await restore(4, "k2")).toEqual("stale");
      expect((await Array.fromAsync(Deno.readDir(cache))).map((e) => e.name)).toEqual([
        "shipped-k1.gz",
      ]);
    } finally {
      await server.shutdown();
    }
  });

  it("finds no archive where there is none", async () => {
    const missing = pathToFileURL(join(root, "nowhere.gz")) as URL;
    expect(await restoreShippedTemplate(missing, "k1", join(root, "r4", "db"))).toEqual("missing");
  });

  it("reads an archive whose manifest and bytes do not add up as damaged", async () => {
    await packFolder("k1");
    const through = async (bytes: Uint8Array<ArrayBuffer>, stream: TransformStream) =>
      new Uint8Array(
        await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer(),
      );
    const raw = await through(await Deno.readFile(archive), new DecompressionStream("gzip"));
    const start = raw.indexOf(10) + 1;
    const length = new DataView(raw.buffer, start, 4).getUint32(0);
    const manifest = JSON.parse(
      new TextDecoder().decode(raw.subarray(start + 4, start + 4 + length)),
    );
    const repack = async (files: unknown[], tail = new Uint8Array()) => {
      const header = new TextEncoder().encode(JSON.stringify({ ...manifest, files }));
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, header.length);
      const body = raw.subarray(start + 4 + length);
      return await through(
        new Uint8Array(
          await new Blob([raw.subarray(0, start), size, header, body, tail]).arrayBuffer(),
        ),
        new CompressionStream("gzip"),
      );
    };
    const longer = [...manifest.files, { path: "extra", size: 10 }];
    const packedLonger = await repack(longer);
    expect(() => unpackTemplate(packedLonger)).toThrow(/shorter than its manifest/);
    const packedTail = await repack(manifest.files, new Uint8Array(3));
    expect(() => unpackTemplate(packedTail)).toThrow(/longer than its manifest/);
    expect(unpackTemplate(await repack(manifest.files)).manifest.files).toEqual(manifest.files);
    for (const path of ["../escape", "/etc/passwd", "base/../../x"]) {
      const packed = await repack([{ path }, ...manifest.files]);
      expect(() => unpackTemplate(packed)).toThrow(/outside its folder/);
    }
  });

  it("refuses to pack a folder that changed since it was described", async () => {
    await packFolder("k1");
    const files = await describeFolder(folder);
    await Deno.writeTextFile(join(folder, "PG_VERSION"), "16\nmore\n");
    await expect(packTemplate(folder, { key: "k1", files })).rejects.toThrow(/changed/);
  });
});

describe("loadedBuilds()", () => {
  it("reads the releases from the resolved module URLs, else the pinned ones", () => {
    const fromNodeModules = (s: string) =>
      s === "@electric-sql/pglite"
        ? "file:///p/node_modules/.deno/@electric-sql+pglite@0.6.1/node_modules/x/index.js"
        : "npm:@electric-sql/pglite-pgvector@0.0.20/dist/index.js";
    expect(loadedBuilds(fromNodeModules)).toEqual({ pglite: "0.6.1", pgvector: "0.0.20" });
    expect(loadedBuilds(() => "file:///vendor/pglite/index.js")).toEqual(PINNED_BUILDS);
    expect(loadedBuilds(() => {
      throw new Error("no resolution here");
    })).toEqual(PINNED_BUILDS);
  });

  it("pins the releases deno.json imports", async () => {
    const { imports } = JSON.parse(await Deno.readTextFile("deno.json"));
    expect(imports["@electric-sql/pglite"]).toEqual(
      `npm:@electric-sql/pglite@${PINNED_BUILDS.pglite}`,
    );
    expect(imports["@electric-sql/pglite-pgvector"]).toEqual(
      `npm:@electric-sql/pglite-pgvector@${PINNED_BUILDS.pgvector}`,
    );
  });
});

it("SHIPPED_TEMPLATE lies beside the store modules", () => {
  expect(SHIPPED_TEMPLATE.pathname.endsWith("/adapters/store/store_template.gz")).toBe(true);
});
