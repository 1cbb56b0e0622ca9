/**
 * Where a stage's implementation and `config:` come from besides its pipeline file: a project
 * file (`lineage-kit.yaml`) below the pipeline's own `config:` block, and the environment and
 * command-line flags above it. Pure: the kit reads the sources and hands the layers in.
 *
 * A layer either chooses the implementation (`select`) or only configures one (`impl` without
 * `select`: `VLLM_URL` sets the vLLM embedder's URL but does not make a pipeline embed with
 * vLLM). A layer that names an implementation applies only when that implementation is the one
 * chosen; a layer that names none applies to whichever is.
 *
 * @module
 */

/** One source of a stage type's implementation and configuration. */
export interface StageConfigLayer {
  /** The implementation the layer is about (`vllm`); absent: whichever is chosen. */
  readonly impl?: string;
  /** Whether the layer chooses `impl` for the stage. */
  readonly select: boolean;
  /** Configuration keys as written (snake_case), without `impl`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Where the layer comes from, for messages: `lineage-kit.yaml:4:3`, `VLLM_URL`, `--vllm-url`. */
  readonly origin: string;
}

/** What else sets one configuration key of an implementation (for messages). */
export interface KeySetter {
  /** The implementation the key belongs to (`vllm`). */
  readonly impl: string;
  /** The key as written (`model`). */
  readonly key: string;
  /** What sets it besides the files, as the user writes it: `--vllm-model`, `VLLM_MODEL`. */
  readonly by: ReadonlyArray<string>;
}

/** The layers of every stage type, by registered type name. */
export interface StageConfigLayers {
  /** Below the pipeline's own `config:` (a project file). */
  readonly base?: ReadonlyMap<string, StageConfigLayer>;
  /** Above it, in increasing precedence (environment, then command-line flags). */
  readonly overrides?: ReadonlyMap<string, ReadonlyArray<StageConfigLayer>>;
  /** What can set a key the overrides did not, by type: named when a stage lacks the key. */
  readonly setters?: ReadonlyMap<string, ReadonlyArray<KeySetter>>;
}

/** A stage's implementation and configuration once every layer applied. */
export interface EffectiveStageConfig {
  /** The implementation chosen; absent: the type's default. */
  readonly impl?: string;
  /** The merged configuration (without `impl`). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Where configuration came from besides the pipeline file, in precedence order. */
  readonly origins: ReadonlyArray<string>;
}

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** A pipeline stage's own `config:` block as a layer (its `impl` chooses). */
const pipelineLayer = (config: unknown): StageConfigLayer => {
  const block = isRecord(config) ? config : {};
  const { impl, ...rest } = block;
  return typeof impl === "string"
    ? { impl, select: true, config: rest, origin: "pipeline" }
    : { select: false, config: rest, origin: "pipeline" };
};

/**
 * The implementation and configuration of a stage of `type` whose pipeline file wrote `config`,
 * under the given layers: the last layer that chooses an implementation wins (flags over
 * environment over the pipeline over the project file; none: `defaultImpl`), and the
 * configuration of every layer that applies to it is merged in the same order, later keys winning.
 *
 * @example
 * ```ts
 * import { effectiveStageConfig } from "./stage_settings.ts";
 *
 * const settings = effectiveStageConfig("Embed", {}, {
 *   base: new Map([["Embed", { impl: "vllm", select: true, config: { url: "http://gpu-1:8000" }, origin: "lineage-kit.yaml:2:3" }]]),
 *   overrides: new Map([["Embed", [{ impl: "vllm", select: false, config: { model: "bge-m3" }, origin: "VLLM_MODEL" }]]]),
 * });
 * console.log(settings.impl, settings.config); // vllm { url: "http://gpu-1:8000", model: "bge-m3" }
 * ```
 *
 * @category combinators
 */
export const effectiveStageConfig = (
  type: string,
  config: unknown,
  layers: StageConfigLayers = {},
  defaultImpl?: string,
): EffectiveStageConfig => {
  const base = layers.base?.get(type);
  const ordered: ReadonlyArray<StageConfigLayer> = [
    ...(base === undefined ? [] : [base]),
    pipelineLayer(config),
    ...(layers.overrides?.get(type) ?? []),
  ];
  const impl = ordered.reduce<string | undefined>(
    (chosen, layer) => (layer.select && layer.impl !== undefined ? layer.impl : chosen),
    undefined,
  );
  const chosen = impl ?? defaultImpl;
  const applies = ordered.filter((l) => l.impl === undefined || l.impl === chosen);
  const merged = Object.assign({}, ...applies.map((l) => l.config)) as Record<string, unknown>;
  return {
    ...(impl === undefined ? {} : { impl }),
    config: merged,
    origins: applies
      .filter((l) => l.origin !== "pipeline" && (l.select || Object.keys(l.config).length > 0))
      .map((l) => l.origin),
  };
};
