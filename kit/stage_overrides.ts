/**
 * Choosing implementations without code, above the pipeline files and the project file: the
 * environment (`VLLM_URL`, `VLLM_MODEL`, `OPENSEARCH_URL`) and the command-line shortcuts
 * (`--embedder`, `--vllm-url`, `--vllm-model`, `--index`, `--opensearch-url`), flags winning.
 *
 * @module
 */
import type { KeySetter, StageConfigLayer } from "../pipelines/stage_settings.ts";
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

/** A configuration key the environment and a flag set without choosing the implementation. */
interface KeyShortcut {
  readonly type: string;
  readonly impl: string;
  readonly key: string;
  readonly env: string;
  readonly flag: `--${string}`;
  readonly field: "vllmUrl" | "vllmModel" | "opensearchUrl";
}

// In the order their layers apply within the environment and within the flags.
const keyShortcuts: ReadonlyArray<KeyShortcut> = [
  {
    type: "Embed",
    impl: "vllm",
    key: "url",
    env: "VLLM_URL",
    flag: "--vllm-url",
    field: "vllmUrl",
  },
  {
    type: "Embed",
    impl: "vllm",
    key: "model",
    env: "VLLM_MODEL",
    flag: "--vllm-model",
    field: "vllmModel",
  },
  {
    type: "Index",
    impl: "opensearch",
    key: "url",
    env: "OPENSEARCH_URL",
    flag: "--opensearch-url",
    field: "opensearchUrl",
  },
];

// The flags that choose an implementation, and the names they take.
const choosers = [
  { type: "Embed", field: "embedder", choices: embedderChoices },
  { type: "Index", field: "index", choices: indexChoices },
] as const;

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
  const byType = new Map<string, StageConfigLayer[]>();
  const add = (type: string, l: StageConfigLayer) =>
    byType.set(type, [...byType.get(type) ?? [], l]);
  for (const k of keyShortcuts) {
    const value = env[k.env];
    if (value !== undefined && value.trim() !== "") {
      add(k.type, layer(k.impl, false, { [k.key]: value }, k.env));
    }
  }
  // A choice first, so the flags that configure the implementation apply above it.
  for (const c of choosers) {
    const chosen = flags[c.field];
    if (chosen !== undefined) {
      add(c.type, layer(c.choices[chosen] ?? chosen, true, {}, `--${c.field}`));
    }
    for (const k of keyShortcuts.filter((k) => k.type === c.type)) {
      const value = flags[k.field];
      if (value !== undefined) add(k.type, layer(k.impl, false, { [k.key]: value }, k.flag));
    }
  }
  return byType;
};

/**
 * Who sets a configuration key besides the files, by stage type, for the message about a stage
 * that lacks it: `model` of Embed/vllm is set by `--vllm-model` or `VLLM_MODEL`.
 *
 * @category constructors
 */
export const overrideSetters: ReadonlyMap<string, ReadonlyArray<KeySetter>> = new Map(
  choosers.map(({ type }) => [
    type,
    keyShortcuts.filter((k) => k.type === type).map((k) => ({
      impl: k.impl,
      key: k.key,
      by: [k.flag, k.env],
    })),
  ]),
);
