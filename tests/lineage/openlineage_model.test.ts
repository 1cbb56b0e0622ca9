// deno-lint-ignore-file no-explicit-any -- events are JSON
import { describe, expect, it } from "vitest";
import { datasetEvent, jobEvent } from "../../lineage/openlineage_model.ts";
import * as Facets from "../../lineage/facets.ts";
import { makeOpenLineageValidator } from "../../testing/openlineage_validator.ts";

const validator = () => makeOpenLineageValidator();

const time = new Date("2026-01-01T00:00:00Z");
const input = { namespace: "https://clinicaltrials.gov", name: "/api/v2/studies" };
const output = { namespace: "file", name: "/data/db.public.lk_chunks" };

describe("OpenLineage static events and the facets the kit can emit", () => {
  it("jobEvent() and datasetEvent() build events the official schemas and Marquez rules accept", async () => {
    const v = await validator();
    const job = jobEvent({
      time,
      job: {
        namespace: "lineage-kit",
        name: "auto",
        facets: {
          jobType: Facets.jobType("DAG"),
          documentation: Facets.jobDocumentation("structured records into the graph"),
          ownership: Facets.ownership([{ name: "team:kg-ingest", type: "MAINTAINER" }]),
          tags: Facets.jobTags([{ key: "domain", value: "biomedical", source: "USER" }]),
          sourceCodeLocation: Facets.sourceCodeLocation("pipelines/auto.yaml"),
        },
      },
      inputs: [{ ...input, inputFacets: { inputStatistics: Facets.inputStatistics(20, 42_000) } }],
      outputs: [{
        ...output,
        facets: {
          documentation: Facets.datasetDocumentation("chunks with their vectors"),
          lifecycleStateChange: Facets.lifecycleStateChange("OVERWRITE"),
          columnLineage: Facets.columnLineage({
            body: [{ ...input, field: "protocolSection.descriptionModule.briefSummary" }],
          }),
        },
      }],
    });
    expect(job.schemaURL).toBe(
      "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
    );
    expect(v.validate(job)).toEqual([]);
    const dataset = datasetEvent({
      time,
      dataset: {
        ...output,
        facets: { schema: Facets.schema([{ name: "body", type: "text" }]) },
      },
    });
    expect(v.validate(dataset)).toEqual([]);
  });

  it("run facets nominalTime and jobDependencies validate in a run event", async () => {
    const v = await validator();
    const runId = "01934f2c-6e1a-7b3c-8d4e-5f6a7b8c9d0e";
    const event = {
      eventType: "START",
      eventTime: time.toISOString(),
      producer: Facets.PRODUCER,
      schemaURL: Facets.RUN_EVENT_SCHEMA_URL,
      run: {
        runId,
        facets: {
          nominalTime: Facets.nominalTime(time, new Date("2026-01-02T00:00:00Z")),
          jobDependencies: Facets.jobDependencies([{
            namespace: "lineage-kit",
            job: "auto.parse",
            runId,
          }]),
        },
      },
      job: {
        namespace: "lineage-kit",
        name: "auto.chunk",
        facets: { jobType: Facets.jobType("TASK") },
      },
      inputs: [],
      outputs: [],
    };
    expect(v.validate(event)).toEqual([]);
    // The validator is not lenient: a broken facet is reported at its place.
    const broken = structuredClone(event) as Record<string, any>;
    delete broken.run.facets.nominalTime.nominalStartTime;
    const issues = v.validate(broken);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.path.startsWith("/run/facets/nominalTime"))).toBe(true);
  });
});
