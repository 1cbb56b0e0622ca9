/**
 * The package version, the `version` of `deno.json`, as a constant: events name their producer
 * and custom facet schemas by it. Kept in sync with `deno.json` by a test
 * (`tests/lineage/kit_version.test.ts`), which fails on the first run after a version bump.
 *
 * @module
 */

/**
 * The version of `@medkg/lineage-kit`: the `producer` URI, the `processing_engine` facet and
 * the custom facet schema URLs carry it.
 *
 * @example
 * ```ts
 * import { KIT_VERSION } from "./kit_version.ts";
 *
 * console.assert(/^\d+\.\d+\.\d+/.test(KIT_VERSION));
 * ```
 *
 * @category models
 */
export const KIT_VERSION = "0.1.0";
