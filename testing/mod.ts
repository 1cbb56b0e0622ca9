/**
 * Test helpers shipped with lineage-kit, for checking the kit's events and your own: an offline
 * OpenLineage validator (official schemas, custom facet schemas, Marquez's rules) and a
 * CloudEvents validator.
 *
 * @example
 * ```ts
 * import { makeOpenLineageValidator } from "./mod.ts";
 *
 * const validator = await makeOpenLineageValidator();
 * const issues = validator.validate({
 *   eventType: "START",
 *   eventTime: "2026-01-01T00:00:00Z",
 *   producer: "https://jsr.io/@medkg/lineage-kit",
 *   schemaURL: "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
 *   run: { runId: "01936893-9751-7a91-a2a0-a51101a3970c" },
 *   job: { namespace: "lineage-kit", name: "trials" },
 * });
 * console.assert(issues.length === 0);
 * ```
 *
 * @module
 */
export * from "./openlineage_validator.ts";
export * from "./stage_runner.ts";
export * from "./stage_laws.ts";
export * from "./ir_arbitraries.ts";
export * from "./lineage_pairs.ts";
export * from "./vllm_sim.ts";
