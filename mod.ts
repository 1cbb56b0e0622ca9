/**
 * lineage-kit: declarative, OpenLineage-first document pipelines as Effect programs.
 *
 * @module
 */
export * from "./stages/mod.ts";
