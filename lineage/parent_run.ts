/**
 * The run a pipeline run belongs to when another system started it (an Airflow task, a dbt job,
 * a parent lineage-kit process), and how to pass our own run on to a child process.
 *
 * Read from `OPENLINEAGE_PARENT_ID` (`namespace/job/runId`, Airflow's `lineage_parent_id` form),
 * with `OPENLINEAGE_ROOT_PARENT_ID` in the same form for the root, or from `OPENLINEAGE_CONTEXT`
 * (JSON `{"runId", "job": {"namespace", "name"}, "root"?: {…}}`, for namespaces with a `/`).
 *
 * @module
 */

/** A run as OpenLineage's `parent` facet names it. */
export interface RunRef {
  /** The run's id. */
  readonly runId: string;
  /** The run's job. */
  readonly job: { readonly namespace: string; readonly name: string };
}

/** The parent of the pipeline run, and the root of the parent's hierarchy when known. */
export interface ParentRun extends RunRef {
  /** The root run of the parent's hierarchy, when the parent named one. */
  readonly root?: RunRef;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses `namespace/job/runId`: the namespace ends at the first `/`, the run id follows the last. */
export const parseParentId = (value: string): RunRef | string => {
  const first = value.indexOf("/");
  const last = value.lastIndexOf("/");
  if (first <= 0 || last === first) {
    return `expected namespace/job/runId (got ${JSON.stringify(value)})`;
  }
  const runId = value.slice(last + 1);
  const name = value.slice(first + 1, last);
  if (!UUID.test(runId)) return `the run id must be a UUID (got ${JSON.stringify(runId)})`;
  if (name === "") return `the job name is empty (got ${JSON.stringify(value)})`;
  return { runId, job: { namespace: value.slice(0, first), name } };
};

const runRefOf = (value: unknown, label: string): RunRef | string => {
  const v = value as { runId?: unknown; job?: { namespace?: unknown; name?: unknown } } | null;
  if (v === null || typeof v !== "object") return `${label} must be an object`;
  if (typeof v.runId !== "string" || !UUID.test(v.runId)) return `${label}.runId must be a UUID`;
  if (typeof v.job?.namespace !== "string" || v.job.namespace === "") {
    return `${label}.job.namespace must be a non-empty string`;
  }
  if (typeof v.job?.name !== "string" || v.job.name === "") {
    return `${label}.job.name must be a non-empty string`;
  }
  return { runId: v.runId, job: { namespace: v.job.namespace, name: v.job.name } };
};

/** Parses `OPENLINEAGE_CONTEXT`. */
export const parseContext = (value: string): ParentRun | string => {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return "expected JSON {runId, job: {namespace, name}, root?}";
  }
  const run = runRefOf(json, "the value");
  if (typeof run === "string") return run;
  const root = (json as { root?: unknown }).root;
  if (root === undefined) return run;
  const rootRef = runRefOf(root, "root");
  return typeof rootRef === "string" ? rootRef : { ...run, root: rootRef };
};

const idOf = (run: RunRef): string => `${run.job.namespace}/${run.job.name}/${run.runId}`;

/**
 * The environment a child process needs so that its runs name `run` as their parent and
 * `root` (default: `run` itself) as their root.
 *
 * @example
 * ```ts
 * import { childProcessEnv } from "./parent_run.ts";
 * const env = childProcessEnv({
 *   runId: "0190d1a2-0000-7000-8000-000000000001",
 *   job: { namespace: "lineage-kit", name: "auto" },
 * });
 * // { OPENLINEAGE_PARENT_ID: "lineage-kit/auto/0190d1a2-…", OPENLINEAGE_ROOT_PARENT_ID: … }
 * ```
 */
export const childProcessEnv = (run: RunRef, root: RunRef = run): Record<string, string> => {
  // `namespace/job/runId` cannot carry a namespace with a `/` (such as a URL): use the JSON form.
  if (run.job.namespace.includes("/") || root.job.namespace.includes("/")) {
    return { OPENLINEAGE_CONTEXT: JSON.stringify({ ...run, root }) };
  }
  return { OPENLINEAGE_PARENT_ID: idOf(run), OPENLINEAGE_ROOT_PARENT_ID: idOf(root) };
};
