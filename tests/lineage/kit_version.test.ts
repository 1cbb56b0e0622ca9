import { describe, expect, it } from "vitest";
import { KIT_VERSION } from "../../lineage/kit_version.ts";
import { PRODUCER } from "../../lineage/facet_urls.ts";

describe("KIT_VERSION", () => {
  it("is the version of deno.json (bump lineage/kit_version.ts and the schema $ids with it)", async () => {
    const denoJson = JSON.parse(
      await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
    ) as { name: string; version: string };
    expect([denoJson.name, KIT_VERSION]).toEqual(["@medkg/lineage-kit", denoJson.version]);
    expect(PRODUCER).toBe(`https://jsr.io/${denoJson.name}/${denoJson.version}`);
  });
});
