import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// deno.json names only what the kit's own modules import: Deno downloads every package a config
// names before a task's first run, so a new machine's `deno task run-pipeline` would otherwise
// fetch the test tooling too. deno.test.json adds that tooling for `deno task test`.
const root = fileURLToPath(new URL("..", import.meta.url));
const readConfig = async (name: string) =>
  JSON.parse(await Deno.readTextFile(join(root, name))) as {
    imports: Record<string, string>;
    nodeModulesDir?: string;
  };

// What runs under deno.json: the kit's modules (commands, the library and its `./testing` export)
// and the benches (their LangGraph.js peers are a package of their own, bench/peers).
const UNDER_DENO_JSON = [
  "mod.ts",
  "adapters",
  "cli",
  "kit",
  "lineage",
  "pipelines",
  "policies",
  "stages",
  "testing",
];
const benchModules = async (): Promise<string[]> => {
  const out: string[] = [];
  for await (const entry of Deno.readDir(join(root, "bench"))) {
    if (entry.isFile && entry.name.endsWith(".ts")) out.push(join("bench", entry.name));
  }
  return out;
};

const modulesUnder = async (path: string): Promise<string[]> => {
  const full = join(root, path);
  if ((await Deno.stat(full)).isFile) return [full];
  const out: string[] = [];
  for await (const entry of Deno.readDir(full)) {
    const child = join(path, entry.name);
    if (entry.isDirectory) out.push(...await modulesUnder(child));
    else if (entry.name.endsWith(".ts")) out.push(join(root, child));
  }
  return out;
};

// A bare specifier's package: `effect/Schema` → `effect`, `@scope/name/x` → `@scope/name`.
const packageOf = (specifier: string): string =>
  specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g;

const packagesImportedBy = async (paths: ReadonlyArray<string>): Promise<Set<string>> => {
  const found = new Set<string>();
  for (const path of paths) {
    for (const file of await modulesUnder(path)) {
      for (const m of (await Deno.readTextFile(file)).matchAll(IMPORT)) {
        const specifier = m[1] ?? m[2];
        // Relative, built in or fully named; or a module some test writes (a template string).
        if (/^(\.|\/|node:|npm:|jsr:|https?:)|\$\{/.test(specifier)) continue;
        found.add(packageOf(specifier));
      }
    }
  }
  return found;
};

const packagesNamedBy = (imports: Record<string, string>): Set<string> =>
  new Set(Object.keys(imports).map((k) => packageOf(k.replace(/\/$/, ""))));

describe("deno.json and deno.test.json", () => {
  it("deno.json names exactly the packages the kit's modules and the benches import", async () => {
    const { imports } = await readConfig("deno.json");
    const used = await packagesImportedBy([...UNDER_DENO_JSON, ...await benchModules()]);
    expect([...packagesNamedBy(imports)].sort()).toEqual([...used].sort());
  });

  it("deno.test.json pins every package of deno.json the same, and names what the tests import", async () => {
    const kit = await readConfig("deno.json");
    const test = await readConfig("deno.test.json");
    for (const [name, target] of Object.entries(kit.imports)) {
      expect(test.imports[name], name).toEqual(target);
    }
    const used = await packagesImportedBy(["tests", "docs"]);
    const named = packagesNamedBy(test.imports);
    expect([...used].filter((p) => !named.has(p))).toEqual([]);
  });

  it("only deno.test.json keeps a node_modules folder (vitest resolves through it)", async () => {
    expect((await readConfig("deno.json")).nodeModulesDir).toBeUndefined();
    expect((await readConfig("deno.test.json")).nodeModulesDir).toEqual("auto");
  });
});
