import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DATASET_EVENT_SCHEMA_URL,
  FacetSchemaUrl,
  JOB_EVENT_SCHEMA_URL,
  LINEAGE_KIT_ATTEMPT_FACET_KEY,
  LINEAGE_KIT_GPU_FACET_KEY,
  LINEAGE_KIT_SCHEMA_BASE,
  PRODUCER,
  RUN_EVENT_SCHEMA_URL,
} from "../../lineage/facet_urls.ts";
import { KIT_VERSION } from "../../lineage/kit_version.ts";

const mirror = new URL("../fixtures/specs/openlineage/website/static/spec/", import.meta.url);
const kitSchemas = new URL("../../lineage/schemas/", import.meta.url);

type Schema = Record<string, unknown> & { $id: string };

/** The schema file a published URL names: the offline mirror, or the kit's own folder. */
function schemaFileFor(base: string): URL {
  const official = "https://openlineage.io/spec/";
  if (base.startsWith(official)) return new URL(base.slice(official.length), mirror);
  // The kit's own: the package file JSR serves at this version, `lineage/schemas/<Facet>.json`.
  expect(base.startsWith(`${LINEAGE_KIT_SCHEMA_BASE}/`)).toBe(true);
  const packagePath = base.slice(`https://jsr.io/@medkg/lineage-kit/${KIT_VERSION}/`.length);
  return new URL(`../../${packagePath}`, import.meta.url);
}

function load(url: URL): Schema {
  return JSON.parse(readFileSync(url, "utf8")) as Schema;
}

function split(url: string): { base: string; defName: string } {
  const [base, fragment] = url.split("#");
  expect(fragment).toMatch(/^\/\$defs\/\w+$/);
  return { base, defName: fragment.split("/").pop()! };
}

/** Highest version folder under the mirror's facets/ that holds `file`. */
function newestFacetVersion(file: string): string {
  const versions = readdirSync(new URL("facets/", mirror))
    .filter((v) => readdirSync(new URL(`facets/${v}/`, mirror)).includes(file))
    .map((v) => v.split("-").map(Number));
  versions.sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
  return versions[0].join("-");
}

describe("FacetSchemaUrl", () => {
  it.each(Object.entries(FacetSchemaUrl))("%s names a schema file with that $id", (name, url) => {
    const { base, defName } = split(url);
    const schema = load(schemaFileFor(base));
    expect(schema.$id).toBe(base);
    expect(defName).toBe(name);
    expect(Object.keys(schema.$defs as object)).toContain(name);
  });

  it.each(Object.entries(FacetSchemaUrl).filter(([, url]) => url.includes("openlineage.io")))(
    "%s is the newest published version",
    (name, url) => {
      const version = split(url).base.split("/").at(-2);
      expect(version).toBe(newestFacetVersion(`${name}.json`));
    },
  );

  it("names the kit's own facets under their facet keys", () => {
    const attempt = load(new URL("LineageKitAttemptRunFacet.json", kitSchemas));
    const gpu = load(new URL("LineageKitGpuRunFacet.json", kitSchemas));
    expect(attempt.properties).toEqual({
      [LINEAGE_KIT_ATTEMPT_FACET_KEY]: { $ref: "#/$defs/LineageKitAttemptRunFacet" },
    });
    expect(gpu.properties).toEqual({
      [LINEAGE_KIT_GPU_FACET_KEY]: { $ref: "#/$defs/LineageKitGpuRunFacet" },
    });
  });
});

describe("event schema URLs", () => {
  it("point at RunEvent, JobEvent and DatasetEvent of core spec 2-0-2", () => {
    const core = load(new URL("2-0-2/OpenLineage.json", mirror));
    const defs = core.$defs as Record<string, unknown>;
    for (const url of [RUN_EVENT_SCHEMA_URL, JOB_EVENT_SCHEMA_URL, DATASET_EVENT_SCHEMA_URL]) {
      const { base, defName } = split(url);
      expect(base).toBe(core.$id);
      expect(defs[defName]).toBeTypeOf("object");
    }
    expect([RUN_EVENT_SCHEMA_URL, JOB_EVENT_SCHEMA_URL, DATASET_EVENT_SCHEMA_URL]).toEqual([
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    ]);
  });

  it("PRODUCER is the kit's JSR page at this version", () => {
    expect(PRODUCER).toBe(`https://jsr.io/@medkg/lineage-kit/${KIT_VERSION}`);
  });
});

describe("the kit's custom facet schemas", () => {
  const own = Object.entries(FacetSchemaUrl).filter(([, url]) => url.startsWith("https://jsr.io/"));

  it("every custom _schemaURL is the JSR file URL of a schema in lineage/schemas at this version", () => {
    expect(own.map(([name]) => name).sort()).toEqual(
      readdirSync(kitSchemas).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort(),
    );
    for (const [name, url] of own) {
      expect(url).toBe(
        `https://jsr.io/@medkg/lineage-kit/${KIT_VERSION}/lineage/schemas/${name}.json#/$defs/${name}`,
      );
      const file = new URL(`${name}.json`, kitSchemas);
      expect(load(file).$id).toBe(url.split("#")[0]);
    }
  });

  it("the shipped schema bundle holds each custom schema as it is in the repository", () => {
    const bundle = JSON.parse(
      readFileSync(new URL("../../testing/schemas/openlineage.json", import.meta.url), "utf8"),
    ) as { schemas: Schema[] };
    for (const [name] of own) {
      const schema = load(new URL(`${name}.json`, kitSchemas));
      expect(bundle.schemas.find((s) => s.$id === schema.$id)).toEqual(schema);
    }
  });
});
