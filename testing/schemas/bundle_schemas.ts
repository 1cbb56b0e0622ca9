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
const current = JSON.parse(await readFile(join(specDir, "spec", "OpenLineage.json"), "utf8")).$id;
await writeFile(
  "testing/schemas/openlineage.json",
  JSON.stringify({ current, schemas }) + "\n",
);
await writeFile(
  "testing/schemas/cloudevents.json",
  await readFile("tests/fixtures/specs/cloudevents/cloudevents.json", "utf8"),
);
console.log(`${schemas.length} OpenLineage schemas (current core ${current})`);
