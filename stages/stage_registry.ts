/**
 * The stage registry: every stage type the kit knows and its implementations. Pipelines name a
 * type (`type: Embed`) and optionally an implementation (`config: { impl: vllm }`); the registry
 * says which definition that is. Built-in and user-defined stages are registered the same way.
 *
 * @module
 */
import type { AnyStageDefinition, StageType } from "./contracts.ts";

/** The stage types and implementations a loader checks pipelines against and a runner runs. */
export interface StageRegistry {
  /** Every registered stage type, in registration order. */
  readonly types: ReadonlyArray<StageType>;
  /** The implementations of a type, the default first; empty for an unknown type. */
  readonly implementations: (type: StageType) => ReadonlyArray<AnyStageDefinition>;
  /**
   * The definition of a type's implementation, or its default implementation when `impl` is not
   * given; undefined when either is unknown.
   */
  readonly resolve: (type: StageType, impl?: string) => AnyStageDefinition | undefined;
  /**
   * The registered type a name written in YAML means: the name itself, or the seed spelling with
   * a `Stage` suffix (`IngestStage` → `Ingest`); undefined when neither is registered.
   */
  readonly canonicalType: (name: string) => StageType | undefined;
  /**
   * A registry with more definitions: one with the same type and implementation as a registered
   * one replaces it; a new implementation of a known type becomes that type's default (the caller
   * brought it to be used), unless `defaults` says otherwise.
   */
  readonly with: (
    definitions: Iterable<AnyStageDefinition>,
    options?: { readonly defaults?: Readonly<Record<StageType, string>> },
  ) => StageRegistry;
}

const build = (
  byType: ReadonlyMap<StageType, ReadonlyArray<AnyStageDefinition>>,
): StageRegistry => {
  const registry: StageRegistry = {
    types: [...byType.keys()],
    implementations: (type) => byType.get(type) ?? [],
    resolve: (type, impl) => {
      const found = byType.get(type) ?? [];
      return impl === undefined ? found[0] : found.find((d) => d.implementation === impl);
    },
    canonicalType: (name) => {
      if (byType.has(name)) return name;
      const short = name.endsWith("Stage") ? name.slice(0, -"Stage".length) : undefined;
      return short !== undefined && byType.has(short) ? short : undefined;
    },
    with: (definitions, options = {}) => {
      const next = new Map(byType);
      for (const d of definitions) {
        const others = (next.get(d.type) ?? []).filter((o) =>
          o.implementation !== d.implementation
        );
        next.set(d.type, [d, ...others]);
      }
      for (const [type, impl] of Object.entries(options.defaults ?? {})) {
        const found = next.get(type) ?? [];
        const chosen = found.find((d) => d.implementation === impl);
        if (chosen) next.set(type, [chosen, ...found.filter((d) => d !== chosen)]);
      }
      return build(next);
    },
  };
  return registry;
};

/**
 * A registry of the given definitions. Within a type the first definition is the default
 * implementation.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { z } from "zod";
 * import { defineStage } from "./contracts.ts";
 * import { makeStageRegistry } from "./stage_registry.ts";
 *
 * const hello = defineStage({
 *   type: "Hello",
 *   output: z.string(),
 *   run: () => Effect.succeed("hello"),
 * });
 * const registry = makeStageRegistry([hello]);
 * console.log(registry.canonicalType("HelloStage")); // "Hello"
 * ```
 *
 * @category constructors
 */
export const makeStageRegistry = (
  definitions: Iterable<AnyStageDefinition> = [],
): StageRegistry => {
  const byType = new Map<StageType, Array<AnyStageDefinition>>();
  for (const d of definitions) {
    const found = byType.get(d.type) ?? [];
    byType.set(d.type, [...found.filter((o) => o.implementation !== d.implementation), d]);
  }
  return build(byType);
};
