/**
 * Stage contracts, the document IR, typed errors and the kit's pure built-in stages.
 *
 * @module
 */
export * from "./context.ts";
export * from "./contracts.ts";
export * from "./errors.ts";
export * from "./ir.ts";
