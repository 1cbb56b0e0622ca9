/**
 * Lineage: OpenLineage and CloudEvents built for every lifecycle transition, written to a
 * transactional outbox with the ledger change, and relayed to sinks (JSONL files, Marquez/HTTP,
 * Kafka, console) configured like the official OpenLineage clients.
 *
 * @example
 * ```ts
 * import { runIdFor } from "./mod.ts";
 *
 * const runId = runIdFor({
 *   namespace: "lineage-kit",
 *   job: "auto",
 *   document: "clinicaltrials:NCT00763412",
 *   attempt: "run-1",
 *   createdAt: new Date("2026-01-01T00:00:00Z"),
 * });
 * console.log(runId); // the same UUIDv7 in every process
 * ```
 *
 * @module
 */
export * from "./run_ids.ts";
export * from "./facet_urls.ts";
export * as Facets from "./facets.ts";
export * from "./datasets.ts";
export * from "./dataset_naming.ts";
export * from "./column_lineage.ts";
export * from "./kit_version.ts";
export * from "./event_policy.ts";
export * from "./circuit_breaker.ts";
export * from "./namespace_resolvers.ts";
export * from "./git_source.ts";
export * from "./outbox.ts";
export * from "./run_events.ts";
export * from "./gate_events.ts";
export * from "./mineru_events.ts";
export * from "./cloudevent_types.ts";
export * from "./kafka_cloudevents.ts";
export * from "./sink.ts";
export * from "./jsonl_sink.ts";
export * from "./console_sink.ts";
export * from "./composite_sink.ts";
export * from "./http_transport.ts";
export * from "./relay.ts";
export * from "./config.ts";
export * as OpenLineage from "./openlineage_model.ts";
export type { ParentRun, RunRef } from "./parent_run.ts";
export type { JobFilter } from "./job_filter.ts";
