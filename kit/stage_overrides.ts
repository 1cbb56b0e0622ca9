/**
 * Choosing implementations without code, above the pipeline files and the project file: the
 * environment (`VLLM_URL`, `VLLM_MODEL`, `OPENSEARCH_URL`) and the command-line shortcuts
 * (`--embedder`, `--vllm-url`, `--vllm-model`, `--index`, `--opensearch-url`), flags winning.
 *
 * @module
 */
import type { StageConfigLayer } from "../pipelines/stage_settings.ts";
import { hashingModel } from "../stages/hashing_embedder.ts";

/** The embedders `--embedder` picks, by the name the flag takes. */
export const embedderChoices: Readonly<Record<string, string>> = {
  hashing: hashingModel,
  vllm: "vllm",
};

/** The indexes `--index` picks, by the name the flag takes. */
export const indexChoices: Readonly<Record<string, string>> = {
  embedded: "embedded",
  opensearch: "opensearch",
};

/** The command-line shortcuts, as given. */
export interface StageShortcuts {
  /** `--embedder hashing|vllm`. */
  readonly embedder?: string;
  /** `--vllm-url URL`. */
  readonly vllmUrl?: string;
  /** `--vllm-model NAME`. */
  readonly vllmModel?: string;
  /** `--index embedded|opensearch`. */
  readonly index?: string;
  /** `--opensearch-url URL`. */
  readonly opensearchUrl?: string;
}

const layer = (
  impl: string,
  select: boolean,
  config: Readonly<Record<string, unknown>>,
  origin: string,
): StageConfigLayer => ({ impl, select, config, origin });

/**
 * The layers the environment and the shortcuts add, per stage type, in increasing precedence.
 * A value that names no implementation configures the one it belongs to (`VLLM_URL` configures
 * the vLLM embedder when a pipeline, the project file or `--embedder` chooses it).
 *
 * @example
 * ```ts
 * import { overrideLayers } from "./stage_overrides.ts";
 *
 * const layers = overrideLayers({ VLLM_MODEL: "bge-m3" }, { embedder: "vllm", vllmUrl: "http://gpu:8000" });
 * console.log(layers.get("Embed")?.map((l) => l.origin)); // ["VLLM_MODEL", "--embedder", "--vllm-url"]
 * ```
 *
 * @category constructors
 */
export const overrideLayers = (
  env: Readonly<Record<string, string | undefined>>,
  flags: StageShortcuts = {},
): ReadonlyMap<string, ReadonlyArray<StageConfigLayer>> => {
  const embed: StageConfigLayer[] = [];
  const index: StageConfigLayer[] = [];
  const set = (value: string | undefined) => value !== undefined && value.trim() !== "";
  if (set(env.VLLM_URL)) embed.push(layer("vllm", false, { url: env.VLLM_URL }, "VLLM_URL"));
  if (set(env.VLLM_MODEL)) {
    embed.push(layer("vllm", false, { model: env.VLLM_MODEL }, "VLLM_MODEL"));
  }
  if (set(env.OPENSEARCH_URL)) {
    index.push(layer("opensearch", false, { url: env.OPENSEARCH_URL }, "OPENSEARCH_URL"));
  }
  if (flags.embedder !== undefined) {
    embed.push(layer(embedderChoices[flags.embedder] ?? flags.embedder, true, {}, "--embedder"));
  }
  if (flags.vllmUrl !== undefined) {
    embed.push(layer("vllm", false, { url: flags.vllmUrl }, "--vllm-url"));
  }
  if (flags.vllmModel !== undefined) {
    embed.push(layer("vllm", false, { model: flags.vllmModel }, "--vllm-model"));
  }
  if (flags.index !== undefined) {
    index.push(layer(indexChoices[flags.index] ?? flags.index, true, {}, "--index"));
  }
  if (flags.opensearchUrl !== undefined) {
    index.push(layer("opensearch", false, { url: flags.opensearchUrl }, "--opensearch-url"));
  }
  return new Map([
    ...(embed.length > 0 ? [["Embed", embed] as const] : []),
    ...(index.length > 0 ? [["Index", index] as const] : []),
  ]);
};
