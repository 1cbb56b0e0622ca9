// `lineage-kit.yaml`, the environment and the command-line shortcuts choosing and configuring
// stage implementations; every problem at its file:line:column; plugins adding stage types.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join, resolve } from "node:path";
import { loadKit } from "../../kit/load_kit.ts";
import { SetupError } from "../../kit/setup_error.ts";
import { repoRoot, tempDir } from "../_harness.ts";

let dir: string;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => Deno.remove(dir, { recursive: true }));

const project = async (name: string, text: string): Promise<string> => {
  const folder = join(dir, name);
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(join(folder, "lineage-kit.yaml"), text);
  return folder;
};

const problemsOf = async (cwd: string, options: Parameters<typeof loadKit>[0] = {}) => {
  try {
    await loadKit({ cwd, env: {}, ...options });
  } catch (e) {
    if (e instanceof SetupError) return e.message.split("\n");
    throw e;
  }
  throw new Error("expected the kit to be refused");
};

const vllmProject = `stages:
  embed:
    impl: vllm
    url: http://gpu-1:8000
    model: BAAI/bge-m3
    max_batch_size: 32
`;

describe("lineage-kit.yaml", () => {
  it("chooses and configures an implementation for every pipeline that uses the type", async () => {
    const cwd = await project("vllm", vllmProject);
    const kit = await loadKit({ cwd, env: {} });
    for (const pipeline of kit.config.pipelines) {
      expect(pipeline.definitionOf("embed").implementation).toBe("vllm");
      expect(pipeline.configOf("embed")).toEqual({
        url: "http://gpu-1:8000",
        model: "BAAI/bge-m3",
        maxBatchSize: 32,
      });
      expect(pipeline.definitionOf("index").implementation).toBe("embedded");
    }
  });

  it("lets the environment configure and the flags choose, flags winning", async () => {
    const cwd = await project("vllm-env", vllmProject);
    const env = { VLLM_URL: "http://gpu-2:8000", VLLM_MODEL: "intfloat/e5" };
    const viaEnv = await loadKit({ cwd, env });
    expect(viaEnv.config.pipeline("auto")!.configOf("embed")).toEqual({
      url: "http://gpu-2:8000",
      model: "intfloat/e5",
      maxBatchSize: 32,
    });
    const flagged = await loadKit({
      cwd,
      env,
      shortcuts: { vllmUrl: "http://gpu-3:8000" },
    });
    expect(flagged.config.pipeline("auto")!.configOf("embed")).toMatchObject({
      url: "http://gpu-3:8000",
    });
    const hashing = await loadKit({ cwd, env, shortcuts: { embedder: "hashing" } });
    expect(hashing.config.pipeline("auto")!.definitionOf("embed").implementation).toBe(
      "feature-hashing-v1",
    );
    // A variable for an implementation nobody chose configures nothing.
    const none = await loadKit({ cwd: repoRoot, env });
    expect(none.config.pipeline("auto")!.definitionOf("embed").implementation).toBe(
      "feature-hashing-v1",
    );
  });

  it("reports every problem at its line and column", async () => {
    const cwd = await project(
      "broken",
      `stages:
  embedder: { impl: vllm }
  embed:
    impl: gpu
  index:
    impl: opensearch
    url: not-a-url
input_limits:
  max_depth: 0
colour: blue
`,
    );
    expect(await problemsOf(cwd)).toEqual([
      `lineage-kit.yaml:10:1: unknown key "colour" (allowed: plugins, stages, input_limits, outbox)`,
    ]);
    await Deno.writeTextFile(
      join(cwd, "lineage-kit.yaml"),
      (await Deno.readTextFile(join(cwd, "lineage-kit.yaml"))).replace("colour: blue\n", ""),
    );
    expect(await problemsOf(cwd)).toEqual([
      `lineage-kit.yaml:2:3: unknown stage type "embedder" (known: Ingest, Download, Gate, ` +
      `Parse, Chunk, Embed, Index, Extract, KG)`,
      `lineage-kit.yaml:4:5: unknown implementation "gpu" of type Embed (known: ` +
      `feature-hashing-v1, vllm)`,
      `lineage-kit.yaml:7:5: stage type Index (opensearch): "url" must be an http(s) URL`,
      `lineage-kit.yaml:9:3: input_limits: max_depth must be a positive integer (got 0)`,
    ]);
  });

  it("names the sources of a configuration still incomplete at the pipeline's stage", async () => {
    const lines = await problemsOf(repoRoot, {
      env: { VLLM_URL: "http://gpu-1:8000" },
      shortcuts: { embedder: "vllm" },
    });
    expect(lines).toEqual([
      `pipelines/auto.yaml:23:5: stage "embed": missing required key "model" in config ` +
      `(Embed/vllm configured also by VLLM_URL, --embedder; --vllm-model or VLLM_MODEL sets it)`,
      `pipelines/pdf-two-phase.yaml:33:5: stage "embed": missing required key "model" in ` +
      `config (Embed/vllm configured also by VLLM_URL, --embedder; --vllm-model or VLLM_MODEL ` +
      `sets it)`,
    ]);
    // Each missing key names its own setters.
    const bare = await problemsOf(repoRoot, { env: {}, shortcuts: { embedder: "vllm" } });
    expect(bare.filter((l) => l.startsWith("pipelines/auto.yaml"))).toEqual([
      `pipelines/auto.yaml:23:5: stage "embed": missing required key "url" in config ` +
      `(Embed/vllm configured also by --embedder; --vllm-url or VLLM_URL sets it)`,
      `pipelines/auto.yaml:23:5: stage "embed": missing required key "model" in config ` +
      `(Embed/vllm configured also by --embedder; --vllm-model or VLLM_MODEL sets it)`,
    ]);
  });

  it("loads plugins that add a stage type a pipeline file then uses", async () => {
    const cwd = await project(
      "plugin",
      `plugins: [./stages.ts]\nstages:\n  word_count: { min_length: 2 }\n`,
    );
    const contracts = resolve(repoRoot, "stages/contracts.ts");
    const schemas = resolve(repoRoot, "stages/ir_schemas.ts");
    await Deno.writeTextFile(
      join(cwd, "stages.ts"),
      `import { Effect } from "effect";
import { z } from "zod";
import { defineStage } from "${contracts}";
import { documentSchema } from "${schemas}";
export const stages = [defineStage({
  type: "WordCount",
  input: { Parse: documentSchema },
  output: z.object({ words: z.number() }),
  config: z.strictObject({ min_length: z.number().int().min(1) }),
  run: (_ctx, { Parse: doc }, config) => Effect.succeed({
    words: doc.title.split(/\\s+/).filter((w) => w.length >= config.min_length).length,
  }),
})];
`,
    );
    await Deno.writeTextFile(
      join(cwd, "counted.yaml"),
      `version: "1"
name: counted
description: words
applicable_sources: [openalex]
stages:
  - { name: ingest, type: Ingest, policy: default }
  - { name: parse, type: Parse, policy: default, depends_on: [ingest] }
  - { name: count, type: WordCount, policy: default, depends_on: [parse] }
`,
    );
    const kit = await loadKit({ cwd, env: {}, files: [join(cwd, "counted.yaml")] });
    const counted = kit.config.pipeline("counted")!;
    expect(counted.definitionOf("count").type).toBe("WordCount");
    expect(counted.configOf("count")).toEqual({ min_length: 2 });
  });

  it("reports a --config file that does not exist, and a plugin that does not load", async () => {
    expect(await problemsOf(dir, { config: "missing.yaml" })).toEqual([
      "missing.yaml:1:1: file not found",
    ]);
    const cwd = await project("bad-plugin", "plugins: [./nowhere.ts]\n");
    const [line] = await problemsOf(cwd);
    expect(line).toMatch(/^lineage-kit\.yaml:1:11: plugin "\.\/nowhere\.ts" could not be loaded: /);
  });
});
