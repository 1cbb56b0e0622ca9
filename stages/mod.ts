/**
 * Stage contracts, the document IR, typed errors and the kit's pure built-in stages.
 *
 * @module
 */
export * from "./context.ts";
export * from "./contracts.ts";
export * from "./errors.ts";
export * from "./ir.ts";
export * from "./chunker.ts";
export * from "./hashing_embedder.ts";
export * from "./extract.ts";
export * from "./normalise_name.ts";
export * from "./document_sections.ts";
export * from "./ir_schemas.ts";
export * from "./stage_registry.ts";
export * from "./source_contract.ts";
export * from "./stage_config.ts";
export * from "./schema_issues.ts";
