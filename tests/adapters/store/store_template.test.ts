import { afterAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import {
  prepareDataDir,
  pruneTemplateCache,
  templateCacheDir,
  templateKey,
} from "../../../adapters/store/store_template.ts";
import { openEmbeddedStore } from "../../../adapters/store/store.ts";
import { migrations } from "../../../adapters/store/migrations.ts";

const root = await Deno.makeTempDir({ prefix: "lk-template-" });
const cache = join(root, "cache");
afterAll(() => Deno.remove(root, { recursive: true }));

const versions = async (storeDir: string) => {
  const store = await openEmbeddedStore(storeDir);
  try {
    return (await store.client.query<{ version: number }>(
      "select version from lk_migrations order by version",
    )).map((r) => r.version);
  } finally {
    await store.close();
  }
};

const everyVersion = migrations.filter((m) => m.needsVector !== false).map((m) => m.version);

describe("templateCacheDir()", () => {
  it("prefers LINEAGE_KIT_CACHE_DIR, then XDG_CACHE_HOME, and is off for none", () => {
    expect(templateCacheDir({ LINEAGE_KIT_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x" })).toEqual(
      "/c/store-templates",
    );
    expect(templateCacheDir({ XDG_CACHE_HOME: "/x" })).toEqual("/x/lineage-kit/store-templates");
    expect(templateCacheDir({ LINEAGE_KIT_CACHE_DIR: "none" })).toBeUndefined();
  });
});

describe("prepareDataDir()", () => {
  it("builds the template once, then restores it into new stores with every migration", async () => {
    expect(await prepareDataDir(join(root, "a", "db"), cache, null)).toEqual("restored");
    expect(await versions(join(root, "a"))).toEqual(everyVersion);
    expect(await prepareDataDir(join(root, "b", "db"), cache, null)).toEqual("restored");
    expect(await versions(join(root, "b"))).toEqual(everyVersion);
    expect(await prepareDataDir(join(root, "b", "db"), cache, null)).toEqual("existing");
  });

  it("holds the store's one database, without initdb's template databases", async () => {
    const store = await openEmbeddedStore(join(root, "a"));
    try {
      const names = await store.client.query<{ datname: string }>(
        "select datname from pg_database order by datname",
      );
      expect(names.map((r) => r.datname)).toEqual(["postgres"]);
    } finally {
      await store.close();
    }
  });

  it("keeps one WAL segment without its zeros and restores it whole, for a store that writes on", async () => {
    const walOf = async (dir: string) => {
      const names: string[] = [];
      for await (const e of Deno.readDir(join(dir, "pg_wal"))) if (e.isFile) names.push(e.name);
      return names;
    };
    const template = join(cache, await templateKey());
    const [segment, ...others] = await walOf(template);
    expect(others).toEqual([]);
    const kept = await Deno.readFile(join(template, "pg_wal", segment));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(64 * 1024);

    const dir = join(root, "w", "db");
    expect(await prepareDataDir(dir, cache, null)).toEqual("restored");
    const restored = await Deno.readFile(join(dir, "pg_wal", segment));
    expect(restored.length).toEqual(16 * 1024 * 1024);
    expect(restored.subarray(0, kept.length)).toEqual(kept);
    expect(restored.subarray(kept.length).every((b) => b === 0)).toBe(true);

    // Past the template's WAL: into the next segments, across a restart.
    const first = await openEmbeddedStore(join(root, "w"));
    await first.client.exec("create table lk_test_wal (n int, pad text)");
    await first.client.exec(
      "insert into lk_test_wal select n, repeat(md5(n::text), 20) from generate_series(1, 40000) n",
    );
    const [{ now }] = await first.client.query<{ now: string }>(
      "select pg_walfile_name(pg_current_wal_lsn()) as now",
    );
    expect(now > segment).toBe(true);
    await first.close();
    const second = await openEmbeddedStore(join(root, "w"));
    try {
      expect(await second.client.query("select count(*)::int as n from lk_test_wal"))
        .toEqual([{ n: 40000 }]);
    } finally {
      await second.close();
    }
  });

  it("detects a damaged template, drops it and leaves the folder empty for initdb", async () => {
    const key = await templateKey();
    await prepareDataDir(join(root, "c", "db"), cache, null);
    await Deno.writeTextFile(join(cache, key, "PG_VERSION"), "damaged\n");
    const dir = join(root, "d", "db");
    // The damaged template is refused and a new one is built and restored in its place.
    expect(await prepareDataDir(dir, cache, null)).toEqual("restored");
    expect(await Deno.readTextFile(join(dir, "PG_VERSION"))).not.toEqual("damaged\n");
    expect(await versions(join(root, "d"))).toEqual(everyVersion);
  });

  it("restores through a folder beside the store's, leaving nothing else behind", async () => {
    const dir = join(root, "f", "db");
    await Deno.mkdir(dir, { recursive: true }); // an empty folder is a new store's too
    expect(await prepareDataDir(dir, cache, null)).toEqual("restored");
    expect((await Array.fromAsync(Deno.readDir(join(root, "f")))).map((e) => e.name)).toEqual([
      "db",
    ]);
    expect(await versions(join(root, "f"))).toEqual(everyVersion);
  });

  it("takes a template folder without its manifest (an interrupted removal) for damaged", async () => {
    const key = await templateKey();
    await prepareDataDir(join(root, "g", "db"), cache, null);
    await Deno.remove(join(cache, key, "lineage-kit-template.json"));
    const dir = join(root, "h", "db");
    expect(await prepareDataDir(dir, cache, null)).toEqual("restored");
    expect(await Deno.stat(join(cache, key, "lineage-kit-template.json"))).toBeTruthy();
    expect(await versions(join(root, "h"))).toEqual(everyVersion);
  });

  it("without a cache leaves the folder to initdb, which still gets every migration", async () => {
    expect(await prepareDataDir(join(root, "e", "db"), undefined, null)).toEqual("uncached");
    expect(await versions(join(root, "e"))).toEqual(everyVersion);
  });
});

describe("pruneTemplateCache()", () => {
  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);

  it("keeps the template in use and the two restored most recently; drops abandoned builds", async () => {
    const dir = join(root, "prune");
    const template = async (name: string, usedAt: Date) => {
      await Deno.mkdir(join(dir, name), { recursive: true });
      await Deno.writeTextFile(join(dir, name, "lineage-kit-template.json"), "{}");
      await Deno.utime(join(dir, name, "lineage-kit-template.json"), usedAt, usedAt);
    };
    await template("schema-1-old", daysAgo(90));
    await template("schema-2-older", daysAgo(200));
    await template("schema-3-recent", daysAgo(1));
    await template("schema-4-yesterday", daysAgo(2));
    await template("schema-5-current", daysAgo(400)); // the one just built: always kept
    await Deno.mkdir(join(dir, "schema-6.tmp-abandoned"));
    await Deno.utime(join(dir, "schema-6.tmp-abandoned"), daysAgo(1), daysAgo(1));
    await Deno.mkdir(join(dir, "schema-7.tmp-building")); // another process builds it now
    await pruneTemplateCache(dir, "schema-5-current");
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    expect(left.sort()).toEqual([
      "schema-3-recent",
      "schema-4-yesterday",
      "schema-5-current",
      "schema-7.tmp-building",
    ]);
  });

  it("a restore dates its template as used", async () => {
    const key = await templateKey();
    await prepareDataDir(join(root, "used-1", "db"), cache, null);
    const manifest = join(cache, key, "lineage-kit-template.json");
    await Deno.utime(manifest, daysAgo(30), daysAgo(30));
    await prepareDataDir(join(root, "used-2", "db"), cache, null);
    const { mtime } = await Deno.stat(manifest);
    expect(Date.now() - mtime!.getTime()).toBeLessThan(60_000);
  });
});
