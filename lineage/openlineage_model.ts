/**
 * The OpenLineage 2-0-2 event model as types, and constructors for the static metadata events
 * (JobEvent, DatasetEvent) the kit can send besides run events: e.g. a pipeline's definition and
 * the datasets it reads and writes, before any run.
 *
 * @module
 */
import type { Facet } from "./facets.ts";
import { DATASET_EVENT_SCHEMA_URL, JOB_EVENT_SCHEMA_URL, PRODUCER } from "./facet_urls.ts";

/** Facets by key. */
export type Facets = Readonly<Record<string, Facet>>;

/** A run: its id and facets. */
export interface Run {
  readonly runId: string;
  readonly facets?: Facets;
}

/** A job: namespace, name, facets. */
export interface Job {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Facets;
}

/** A dataset as read or written by a run. */
export interface Dataset {
  readonly namespace: string;
  readonly name: string;
  readonly facets?: Facets;
}

/** An input dataset with its input facets (e.g. `inputStatistics`). */
export interface InputDataset extends Dataset {
  readonly inputFacets?: Facets;
}

/** An output dataset with its output facets (e.g. `outputStatistics`). */
export interface OutputDataset extends Dataset {
  readonly outputFacets?: Facets;
}

/** Run lifecycle event types. */
export type EventType = "START" | "RUNNING" | "COMPLETE" | "ABORT" | "FAIL" | "OTHER";

/** A run event. */
export interface RunEvent {
  readonly eventType: EventType;
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly run: Run;
  readonly job: Job;
  readonly inputs?: ReadonlyArray<InputDataset>;
  readonly outputs?: ReadonlyArray<OutputDataset>;
}

/** A static job metadata event (no run). */
export interface JobEvent {
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly job: Job;
  readonly inputs?: ReadonlyArray<InputDataset>;
  readonly outputs?: ReadonlyArray<OutputDataset>;
}

/** A static dataset metadata event (no job, no run). */
export interface DatasetEvent {
  readonly eventTime: string;
  readonly producer: string;
  readonly schemaURL: string;
  readonly dataset: Dataset;
}

/** Builds a JobEvent: a job's definition and datasets, outside any run. */
export const jobEvent = (input: {
  readonly time: Date;
  readonly job: Job;
  readonly inputs?: ReadonlyArray<InputDataset>;
  readonly outputs?: ReadonlyArray<OutputDataset>;
}): JobEvent => ({
  eventTime: input.time.toISOString(),
  producer: PRODUCER,
  schemaURL: JOB_EVENT_SCHEMA_URL,
  job: input.job,
  ...(input.inputs ? { inputs: input.inputs } : {}),
  ...(input.outputs ? { outputs: input.outputs } : {}),
});

/** Builds a DatasetEvent: a dataset's metadata (schema, documentation …) outside any run. */
export const datasetEvent = (
  input: { readonly time: Date; readonly dataset: Dataset },
): DatasetEvent => ({
  eventTime: input.time.toISOString(),
  producer: PRODUCER,
  schemaURL: DATASET_EVENT_SCHEMA_URL,
  dataset: input.dataset,
});
