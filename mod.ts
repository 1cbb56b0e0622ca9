/**
 * lineage-kit: declarative, OpenLineage-first document pipelines as Effect programs.
 *
 * Pipelines are YAML (`pipelines/*.yaml`), resilience comes from named policies
 * (`policies/resilience.yaml`), and every stage attempt is recorded in a job ledger and emitted as
 * a paired CloudEvent and OpenLineage run event through a transactional outbox.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { isRetryable, loadPipelines, Transient } from "./mod.ts";
 *
 * const config = await Effect.runPromise(loadPipelines());
 * console.log(config.routeSource("clinicaltrials")?.name); // "auto"
 * console.log(isRetryable(new Transient({ message: "503" }))); // true
 * ```
 *
 * @module
 */
export * from "./stages/mod.ts";
export * from "./policies/mod.ts";
export * from "./lineage/mod.ts";
export * from "./pipelines/mod.ts";
export * from "./adapters/mod.ts";
export * from "./kit/mod.ts";
