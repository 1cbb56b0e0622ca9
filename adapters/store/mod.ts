/**
 * The store: job ledger, checkpoints, lineage outbox, hybrid index and knowledge graph, on
 * embedded PGlite or a PostgreSQL server with the same migrations.
 *
 * @module
 */
export * from "./store.ts";
export * from "./sql_client.ts";
export * from "./migrations.ts";
export * from "./hybrid_search.ts";
export * from "./store_stats.ts";
export * from "./embedded_index.ts";
export * from "./embedded_graph.ts";
export * from "./store_database.ts";
