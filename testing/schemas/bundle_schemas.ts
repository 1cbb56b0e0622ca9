/**
 * Rebuilds the schema bundles the validators load when given no folder: every OpenLineage schema
 * with an `$id` (the current spec and the published mirror of every version), the kit's custom
 * facet schemas, and the CloudEvents schema. Run from the repository root:
 *
 *   deno run -A testing/schemas/bundle_schemas.ts
 *
 * @module
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

const specDir = "tests/fixtures/specs/openlineage";
const dirs = [specDir, "lineage/schemas"];

const schemas: Array<Record<string, unknown>> = [];
const ids = new Set<string>();
for (const dir of dirs) {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".json")).sort();
  for (const name of files) {
    const schema = JSON.parse(await readFile(join(dir, name), "utf8"));
    if (typeof schema?.$id !== "string" || ids.has(schema.$id)) continue;
    ids.add(schema.$id);
    schemas.push(schema);
  }
}
// Written as `deno fmt` formats JSON, so a rebuild with unchanged schemas changes nothing.
const formatted = async (json: string): Promise<string> => {
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext", "json", "-"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(json));
  await writer.close();
  const { success, stdout } = await fmt.output();
  if (!success) throw new Error("deno fmt could not format the bundle");
  return new TextDecoder().decode(stdout);
};

const current = JSON.parse(await readFile(join(specDir, "spec", "OpenLineage.json"), "utf8")).$id;
await writeFile(
  "testing/schemas/openlineage.json",
  await formatted(JSON.stringify({ current, schemas })),
);
await writeFile(
  "testing/schemas/cloudevents.json",
  await formatted(await readFile("tests/fixtures/specs/cloudevents/cloudevents.json", "utf8")),
);
console.log(`${schemas.length} OpenLineage schemas (current core ${current})`);
