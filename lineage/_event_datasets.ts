/**
 * Datasets as they appear in run events: identity, the facets their kind calls for (where the
 * data lives, what a checkpoint is, other identities), and on a terminal event the statistics of
 * what was read and written.
 *
 * @module
 */
import type { DatasetId } from "./datasets.ts";
import * as Facets from "./facets.ts";

/**
 * The dataset facets every mention of `d` carries.
 *
 * @category constructors
 */
export const datasetFacets = (d: DatasetId): Record<string, Facets.Facet> => ({
  dataSource: Facets.dataSource(d.namespace),
  ...(d.kind === "checkpoint"
    ? {
      datasetType: Facets.datasetType("TABLE", "CHECKPOINT"),
      documentation: Facets.datasetDocumentation(
        "What a stage handed to the next ones: its rows of the store's lk_checkpoints table, " +
          "one per job.",
      ),
    }
    : d.kind === "table"
    ? { datasetType: Facets.datasetType("TABLE") }
    : d.kind === "topic"
    ? { datasetType: Facets.datasetType("TOPIC") }
    : {}),
  ...(d.symlinks && d.symlinks.length > 0 ? { symlinks: Facets.symlinks(d.symlinks) } : {}),
});

/**
 * An input of a run event; `final` (a terminal event) adds `inputStatistics` when known. The
 * dataset's own facets, which do not change within a run, come only with `described` (the START
 * event): OpenLineage consumers merge a run's events, so repeating them is bulk.
 *
 * @category constructors
 */
export const inputDataset = (
  d: DatasetId,
  final: boolean,
  described = true,
): Record<string, unknown> => ({
  namespace: d.namespace,
  name: d.name,
  ...(described ? { facets: datasetFacets(d) } : {}),
  ...(final && d.rowCount !== undefined
    ? { inputFacets: { inputStatistics: Facets.inputStatistics(d.rowCount) } }
    : {}),
});

/**
 * What a COMPLETE event knows about an output.
 *
 * @category models
 */
export interface OutputDetails {
  /** Rows written (`outputStatistics`). */
  readonly rowCount?: number;
  /** Dataset facets to add (e.g. `schema`, `columnLineage`). */
  readonly facets?: Readonly<Record<string, unknown>>;
  /** The run replaced what an earlier run wrote (`lifecycleStateChange: OVERWRITE`). */
  readonly overwrite?: boolean;
}

/**
 * An output of a run event; details only on a COMPLETE event, the dataset's own facets only with
 * `described` (the START event), as for {@link inputDataset}.
 *
 * @category constructors
 */
export const outputDataset = (
  d: DatasetId,
  details?: OutputDetails,
  described = true,
): Record<string, unknown> => ({
  namespace: d.namespace,
  name: d.name,
  facets: {
    ...(described ? datasetFacets(d) : {}),
    ...(details?.overwrite
      ? { lifecycleStateChange: Facets.lifecycleStateChange("OVERWRITE") }
      : {}),
    ...details?.facets,
  },
  ...(details?.rowCount !== undefined
    ? { outputFacets: { outputStatistics: Facets.outputStatistics(details.rowCount) } }
    : {}),
});

/**
 * The `columnLineage` facet of a stage's outputs from what the stage declares: each output field
 * and the input fields it is derived from, looked up in every input dataset of the attempt.
 *
 * @category constructors
 */
export const declaredColumnLineage = (
  declared: Readonly<Record<string, ReadonlyArray<string>>> | undefined,
  inputs: ReadonlyArray<DatasetId>,
): Facets.Facet | undefined => {
  if (declared === undefined || inputs.length === 0) return undefined;
  const fields = Object.fromEntries(
    Object.entries(declared).map(([out, from]) => [
      out,
      from.flatMap((field) => inputs.map((d) => ({ namespace: d.namespace, name: d.name, field }))),
    ]),
  );
  return Object.keys(fields).length === 0 ? undefined : Facets.columnLineage(fields);
};
