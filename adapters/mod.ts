/**
 * Everything that talks to the outside: the store (PGlite or PostgreSQL), the sources (recorded
 * files and live APIs), vLLM, MinerU, PDF downloads and Kafka, plus the embedded defaults wired
 * together. Each folder is exported as a namespace.
 *
 * @example
 * ```ts
 * import { Store } from "./mod.ts";
 *
 * const store = await Store.openEmbeddedStore(); // in memory
 * await store.close();
 * ```
 *
 * @module
 */
export * as Store from "./store/mod.ts";
export * as Sources from "./sources/mod.ts";
export * as Http from "./http/mod.ts";
export * as Vllm from "./vllm/mod.ts";
export * as Mineru from "./mineru/mod.ts";
export * as Download from "./download/mod.ts";
export * as Kafka from "./kafka/mod.ts";
export * as OpenSearch from "./opensearch/mod.ts";
export * as Prometheus from "./prometheus/mod.ts";
export * from "./builtin_stages.ts";
// Types the kit's public options name, also at the top level (namespace members are not).
export type { Store as OpenStore } from "./store/store.ts";
export type { HttpIngestOptions } from "./sources/http_ingest.ts";
export type { InputLimits, InputLimitsOptions } from "./sources/input_limits.ts";
export type { LiveQuery } from "./sources/live_requests.ts";
export type { PageProgress } from "./sources/live_settings.ts";
export type { SqlClient, SqlExecutor } from "./store/sql_client.ts";
