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
  /** The run's globally unique id (a UUID; the kit makes UUIDv7). */
  readonly runId: string;
  /** The run facets. */
  readonly facets?: Facets;
}

/** A job: namespace, name, facets. */
export interface Job {
  /** The namespace containing the job. */
  readonly namespace: string;
  /** The job's unique name within its namespace. */
  readonly name: string;
  /** The job facets. */
  readonly facets?: Facets;
}

/** A dataset as read or written by a run. */
export interface Dataset {
  /** The namespace containing the dataset. */
  readonly namespace: string;
  /** The dataset's unique name within its namespace. */
  readonly name: string;
  /** The dataset facets. */
  readonly facets?: Facets;
}

/** An input dataset with its input facets (e.g. `inputStatistics`). */
export interface InputDataset extends Dataset {
  /** The input facets of this dataset. */
  readonly inputFacets?: Facets;
}

/** An output dataset with its output facets (e.g. `outputStatistics`). */
export interface OutputDataset extends Dataset {
  /** The output facets of this dataset. */
  readonly outputFacets?: Facets;
}

/** Run lifecycle event types. */
export type EventType = "START" | "RUNNING" | "COMPLETE" | "ABORT" | "FAIL" | "OTHER";

/** A run event. */
export interface RunEvent {
  /** The run's state transition. */
  readonly eventType: EventType;
  /** When the event occurred, as an ISO 8601 date-time. */
  readonly eventTime: string;
  /** A URI identifying the producer of the event. */
  readonly producer: string;
  /** The URL of the OpenLineage schema version the event follows. */
  readonly schemaURL: string;
  /** The run the event is about. */
  readonly run: Run;
  /** The job the run belongs to. */
  readonly job: Job;
  /** The datasets the run reads. */
  readonly inputs?: ReadonlyArray<InputDataset>;
  /** The datasets the run writes. */
  readonly outputs?: ReadonlyArray<OutputDataset>;
}

/** A static job metadata event (no run). */
export interface JobEvent {
  /** When the event occurred, as an ISO 8601 date-time. */
  readonly eventTime: string;
  /** A URI identifying the producer of the event. */
  readonly producer: string;
  /** The URL of the OpenLineage schema version the event follows. */
  readonly schemaURL: string;
  /** The job described. */
  readonly job: Job;
  /** The datasets the job reads. */
  readonly inputs?: ReadonlyArray<InputDataset>;
  /** The datasets the job writes. */
  readonly outputs?: ReadonlyArray<OutputDataset>;
}

/** A static dataset metadata event (no job, no run). */
export interface DatasetEvent {
  /** When the event occurred, as an ISO 8601 date-time. */
  readonly eventTime: string;
  /** A URI identifying the producer of the event. */
  readonly producer: string;
  /** The URL of the OpenLineage schema version the event follows. */
  readonly schemaURL: string;
  /** The dataset described. */
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
