import { describe, expect, it } from "vitest";
import { overrideLayers, overrideSetters } from "../../kit/stage_overrides.ts";

describe("overrideLayers()", () => {
  it("puts the environment under the flags, and each choice under the flags that configure it", () => {
    const layers = overrideLayers(
      { VLLM_URL: "http://env:8000", VLLM_MODEL: " ", OPENSEARCH_URL: "http://os:9200" },
      {
        embedder: "vllm",
        vllmUrl: "http://flag:8000",
        vllmModel: "bge-m3",
        index: "opensearch",
        opensearchUrl: "http://os2:9200",
      },
    );
    expect(layers.get("Embed")).toEqual([
      { impl: "vllm", select: false, config: { url: "http://env:8000" }, origin: "VLLM_URL" },
      { impl: "vllm", select: true, config: {}, origin: "--embedder" },
      { impl: "vllm", select: false, config: { url: "http://flag:8000" }, origin: "--vllm-url" },
      { impl: "vllm", select: false, config: { model: "bge-m3" }, origin: "--vllm-model" },
    ]);
    expect(layers.get("Index")).toEqual([
      {
        impl: "opensearch",
        select: false,
        config: { url: "http://os:9200" },
        origin: "OPENSEARCH_URL",
      },
      { impl: "opensearch", select: true, config: {}, origin: "--index" },
      {
        impl: "opensearch",
        select: false,
        config: { url: "http://os2:9200" },
        origin: "--opensearch-url",
      },
    ]);
  });

  it("adds nothing for a type nothing set", () => {
    expect([...overrideLayers({}, { embedder: "hashing" }).keys()]).toEqual(["Embed"]);
    expect(overrideLayers({}, {}).size).toBe(0);
  });
});

describe("overrideSetters", () => {
  it("names the flag and the variable of each key they set", () => {
    expect(Object.fromEntries(overrideSetters)).toEqual({
      Embed: [
        { impl: "vllm", key: "url", by: ["--vllm-url", "VLLM_URL"] },
        { impl: "vllm", key: "model", by: ["--vllm-model", "VLLM_MODEL"] },
      ],
      Index: [{ impl: "opensearch", key: "url", by: ["--opensearch-url", "OPENSEARCH_URL"] }],
    });
  });
});
