import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { FacetSchemaUrl, PRODUCER, RUN_EVENT_SCHEMA_URL } from "../../lineage/facet_urls.ts";
import {
  type FacetPosition,
  makeCloudEventValidator,
  makeOpenLineageValidator,
  type OpenLineageValidator,
} from "../../testing/openlineage_validator.ts";

const fixtures = new URL("../fixtures/", import.meta.url);
const specDir = new URL("specs/openlineage/", fixtures);
const kitSchemas = new URL("../../lineage/schemas/", import.meta.url);

// Tests edit parsed events in place several levels deep; typing every level would hide the edit.
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

function recorded(file: string): Json {
  return JSON.parse(readFileSync(new URL(`openlineage-events/${file}`, fixtures), "utf8"));
}

const RUN_ID = "01936893-9751-7a91-a2a0-a51101a3970c";

/** A valid kit-style START event with the given run facets. */
function kitEvent(runFacets: Json = {}): Json {
  return {
    eventType: "START",
    eventTime: "2026-01-02T03:04:05.678Z",
    producer: PRODUCER,
    schemaURL: RUN_EVENT_SCHEMA_URL,
    run: { runId: RUN_ID, facets: runFacets },
    job: { namespace: "lineage-kit", name: "trials.parse" },
    inputs: [{ namespace: "inmemory://", name: "trials.fetch.out" }],
    outputs: [{ namespace: "inmemory://", name: "trials.parse.out" }],
  };
}

const base = { _producer: PRODUCER };

let validator: OpenLineageValidator;

beforeAll(async () => {
  validator = await makeOpenLineageValidator({ specDir, extraSchemaDirs: [kitSchemas] });
});

describe("makeOpenLineageValidator() on recorded events", () => {
  it.each([
    "01-airflow-dag-start.json",
    "02-airflow-task-start-with-parent.json",
    "03-airflow-task-complete-io-columnlineage.json",
    "04-airflow-python-task-start-sourcecode.json",
    "05-airflow-dag-complete.json",
  ])("accepts %s", (file) => {
    expect(validator.validate(recorded(file))).toEqual([]);
  });

  it("rejects 12 (run without runId) at /run/runId", () => {
    expect(validator.validate(recorded("12-NEGATIVE-no-run-id.json"))).toEqual([
      { path: "/run/runId", message: "must have required property 'runId'" },
    ]);
  });

  it("rejects 13 (parent facet without run.runId) at the parent's runId", () => {
    expect(validator.validate(recorded("13-NEGATIVE-parent-facet-missing-runid.json"))).toEqual([
      { path: "/run/facets/parent/run/runId", message: "must have required property 'runId'" },
    ]);
  });

  it("rejects 13 under core 2-0-2 too, where only the parent facet schema catches it", () => {
    const event = recorded("13-NEGATIVE-parent-facet-missing-runid.json");
    event.schemaURL = RUN_EVENT_SCHEMA_URL;
    expect(validator.validate(event)).toEqual([
      { path: "/run/facets/parent/run/runId", message: "must have required property 'runId'" },
    ]);
  });

  it("finds in 11 what checking facets by their key adds to checking by _schemaURL", () => {
    expect(validator.validate(recorded("11-synthetic-full-facets.json"))).toEqual([
      { path: "/inputs/0/facets/dataSource/uri", message: 'must match format "uri"' },
      {
        path: "/inputs/0/inputFacets/dataQualityMetrics/columnMetrics",
        message: "must have required property 'columnMetrics'",
      },
      { path: "/outputs/0/facets/dataSource/uri", message: 'must match format "uri"' },
    ]);
  });

  it("loads the schemas shipped with the package when given no folder", async () => {
    const shipped = await makeOpenLineageValidator();
    for (const file of ["01-airflow-dag-start.json", "02-airflow-task-start-with-parent.json"]) {
      expect(shipped.validate(recorded(file))).toEqual([]);
    }
    const event = recorded("01-airflow-dag-start.json");
    delete event.run.runId;
    expect(shipped.validate(event)).toEqual(validator.validate(event));
    expect(shipped.facetSchemasFor("run", "lineageKit_attempt")).toEqual(
      validator.facetSchemasFor("run", "lineageKit_attempt"),
    );
  });

  it("accepts the spec directory as a path relative to the repository root", async () => {
    const fromRoot = await makeOpenLineageValidator({
      specDir: "tests/fixtures/specs/openlineage",
    });
    expect(fromRoot.validate(recorded("02-airflow-task-start-with-parent.json"))).toEqual([]);
  });
});

describe("makeOpenLineageValidator() core schema choice", () => {
  it("falls back to the current core for an unknown spec version", () => {
    const event = recorded("01-airflow-dag-start.json");
    event.schemaURL = "https://openlineage.io/spec/9-9-9/OpenLineage.json#/$defs/RunEvent";
    expect(validator.validate(event)).toEqual([]);
    delete event.run.runId;
    expect(validator.validate(event)).toEqual([
      { path: "/run/runId", message: "must have required property 'runId'" },
    ]);
  });

  it("uses the definition the schemaURL names", () => {
    const jobEvent = {
      eventTime: "2026-01-02T03:04:05Z",
      producer: PRODUCER,
      schemaURL: "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
      job: { namespace: "lineage-kit", name: "trials" },
    };
    expect(validator.validate(jobEvent)).toEqual([]);
    expect(validator.validate({ ...jobEvent, run: { runId: RUN_ID } })).toEqual([
      { path: "", message: "must NOT be valid" },
      { path: "/schemaURL", message: 'must end in "/RunEvent" for a run event' },
    ]);
  });
});

describe("makeOpenLineageValidator() facets", () => {
  it("maps facet keys by position from the schemas' properties and base facets", () => {
    const entries: Array<[FacetPosition, string]> = [
      ["run", "parent"],
      ["job", "jobType"],
      ["job", "ownership"],
      ["dataset", "ownership"],
      ["dataset", "schema"],
      ["inputDataset", "inputStatistics"],
      ["outputDataset", "outputStatistics"],
      ["inputDataset", "subset"],
      ["outputDataset", "subset"],
      ["run", "lineageKit_attempt"],
      ["job", "parent"],
      ["dataset", "outputStatistics"],
    ];
    expect(entries.map(([position, key]) => validator.facetSchemasFor(position, key))).toEqual([
      [FacetSchemaUrl.ParentRunFacet],
      [FacetSchemaUrl.JobTypeJobFacet],
      [FacetSchemaUrl.OwnershipJobFacet],
      ["https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"],
      [FacetSchemaUrl.SchemaDatasetFacet],
      [FacetSchemaUrl.InputStatisticsInputDatasetFacet],
      [FacetSchemaUrl.OutputStatisticsOutputDatasetFacet],
      ["https://openlineage.io/spec/facets/1-0-0/BaseSubsetDatasetFacet.json#/$defs/InputSubsetInputDatasetFacet"],
      ["https://openlineage.io/spec/facets/1-0-0/BaseSubsetDatasetFacet.json#/$defs/OutputSubsetOutputDatasetFacet"],
      [FacetSchemaUrl.LineageKitAttemptRunFacet],
      [],
      [],
    ]);
  });

  it("checks a facet by its key even when its _schemaURL is not a known schema", () => {
    const event = recorded("02-airflow-task-start-with-parent.json");
    event.run.facets.parent._schemaURL = "https://example.com/schemas/Parent.json";
    delete event.run.facets.parent.run.runId;
    expect(validator.validate(event)).toEqual([
      { path: "/run/facets/parent/run/runId", message: "must have required property 'runId'" },
    ]);
  });

  it("checks a facet under the same key only where that key is defined", () => {
    const event = recorded("01-airflow-dag-start.json");
    event.job.facets.parent = { ...base, _schemaURL: "https://example.com/p", run: {} };
    expect(validator.validate(event)).toEqual([]);
  });

  it("checks input and output facets against their own schemas", () => {
    const event = kitEvent();
    event.inputs[0].inputFacets = {
      inputStatistics: { ...base, _schemaURL: "https://example.com/s", rowCount: "many" },
    };
    event.outputs[0].outputFacets = {
      outputStatistics: {
        ...base,
        _schemaURL: FacetSchemaUrl.OutputStatisticsOutputDatasetFacet,
        rowCount: 1.5,
      },
    };
    expect(validator.validate(event)).toEqual([
      { path: "/inputs/0/inputFacets/inputStatistics/rowCount", message: "must be integer" },
      { path: "/outputs/0/outputFacets/outputStatistics/rowCount", message: "must be integer" },
    ]);
  });

  it("checks a custom key against the schema its _schemaURL names, with or without fragment", () => {
    const nominal = { ...base, nominalStartTime: "yesterday" };
    const event = kitEvent({
      myNominal: { ...nominal, _schemaURL: FacetSchemaUrl.NominalTimeRunFacet },
      nominalTime: {
        ...nominal,
        _schemaURL: "https://openlineage.io/spec/facets/1-0-0/NominalTimeRunFacet.json",
      },
    });
    expect(validator.validate(event)).toEqual([
      { path: "/run/facets/myNominal/nominalStartTime", message: 'must match format "date-time"' },
      {
        path: "/run/facets/nominalTime/nominalStartTime",
        message: 'must match format "date-time"',
      },
    ]);
  });

  it("checks facets forwarded inside the parent facet", () => {
    const parent = {
      ...base,
      _schemaURL: FacetSchemaUrl.ParentRunFacet,
      run: { runId: RUN_ID },
      job: { namespace: "lineage-kit", name: "trials" },
      root: {
        run: { runId: RUN_ID },
        job: {
          namespace: "lineage-kit",
          name: "trials",
          facets: { jobType: { ...base, _schemaURL: FacetSchemaUrl.JobTypeJobFacet } },
        },
      },
    };
    expect(validator.validate(kitEvent({ parent }))).toEqual([
      {
        path: "/run/facets/parent/root/job/facets/jobType/processingType",
        message: "must have required property 'processingType'",
      },
      {
        path: "/run/facets/parent/root/job/facets/jobType/integration",
        message: "must have required property 'integration'",
      },
    ]);
  });

  it("allows unknown custom facets that carry _producer and _schemaURL, and only those", () => {
    expect(validator.validate(kitEvent({ x_custom: { ...base, _schemaURL: "https://x/y", a: 1 } })))
      .toEqual([]);
    const core = "https://openlineage.io/spec/2-0-2/OpenLineage.json";
    expect(validator.validate(kitEvent({ x_custom: { ...base, _schemaURL: core, a: 1 } })))
      .toEqual([]);
    expect(validator.validate(kitEvent({ x_custom: { a: 1 } }))).toEqual([
      {
        path: "/run/facets/x_custom/_producer",
        message: "must have required property '_producer'",
      },
      {
        path: "/run/facets/x_custom/_schemaURL",
        message: "must have required property '_schemaURL'",
      },
    ]);
  });

  it("does not apply a facet's schema to a deletion marker", () => {
    const event = recorded("01-airflow-dag-start.json");
    event.job.facets.ownership = {
      ...base,
      _schemaURL: FacetSchemaUrl.OwnershipJobFacet,
      _deleted: true,
    };
    expect(validator.validate(event)).toEqual([]);
  });
});

describe("makeOpenLineageValidator() on the kit's facets", () => {
  const attempt = (fields: Json) => ({
    lineageKit_attempt: {
      ...base,
      _schemaURL: FacetSchemaUrl.LineageKitAttemptRunFacet,
      ...fields,
    },
  });
  const gpu = (fields: Json) => ({
    lineageKit_gpu: { ...base, _schemaURL: FacetSchemaUrl.LineageKitGpuRunFacet, ...fields },
  });

  it("accepts well-formed attempt and GPU facets", () => {
    const facets = {
      ...attempt({
        attempt: 2,
        maxAttempts: 3,
        policy: "gpu-bound",
        retryOf: "01936893-9751-7b3c-8f76-8ac6d0e5f8a3",
        backoffMs: 1500,
        errorType: "Transient",
      }),
      ...gpu({ gpuUsed: true, service: "vllm", model: "m", device: "H100" }),
    };
    expect(validator.validate(kitEvent(facets))).toEqual([]);
  });

  it("rejects a zero attempt, a malformed retryOf and a GPU facet without gpuUsed", () => {
    const facets = {
      ...attempt({ attempt: 0, maxAttempts: 3, policy: "default", retryOf: "previous" }),
      ...gpu({ service: "vllm" }),
    };
    expect(validator.validate(kitEvent(facets))).toEqual([
      { path: "/run/facets/lineageKit_attempt/attempt", message: "must be >= 1" },
      { path: "/run/facets/lineageKit_attempt/retryOf", message: 'must match format "uuid"' },
      {
        path: "/run/facets/lineageKit_gpu/gpuUsed",
        message: "must have required property 'gpuUsed'",
      },
    ]);
  });
});

describe("makeOpenLineageValidator() Marquez rules", () => {
  it("rejects a jobType facet without jobType, unless Marquez rules are off", async () => {
    const event = recorded("01-airflow-dag-start.json");
    delete event.job.facets.jobType.jobType;
    const issue = {
      path: "/job/facets/jobType/jobType",
      message: "must have required property 'jobType'",
    };
    expect(validator.validate(event)).toEqual([issue]);
    const plain = await makeOpenLineageValidator({ specDir, marquez: false });
    expect(plain.validate(event)).toEqual([]);
  });

  it("rejects a dataset namespace with a space", () => {
    const event = recorded("03-airflow-task-complete-io-columnlineage.json");
    event.outputs[0].namespace = "gs://mock bucket";
    expect(validator.validate(event)).toEqual([
      {
        path: "/outputs/0/namespace",
        message: 'must match pattern "^[a-zA-Z:;=/0-9_\\-\\.@+]{1,1024}$"',
      },
    ]);
  });

  it("rejects two Kafka brokers in one namespace and ':' or '#' in names", () => {
    const event = kitEvent();
    event.inputs[0] = { namespace: "kafka://a:9092,b:9092", name: "topic#1" };
    event.job.name = "trials:parse";
    expect(validator.validate(event)).toEqual([
      { path: "/job/name", message: "must not contain ':' or '#'" },
      {
        path: "/inputs/0/namespace",
        message: 'must match pattern "^[a-zA-Z:;=/0-9_\\-\\.@+]{1,1024}$"',
      },
      { path: "/inputs/0/name", message: "must not contain ':' or '#'" },
    ]);
  });

  it("rejects a run event whose schemaURL does not end in /RunEvent", () => {
    const event = kitEvent();
    event.schemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json";
    expect(validator.validate(event)).toEqual([
      { path: "/schemaURL", message: 'must end in "/RunEvent" for a run event' },
    ]);
  });
});

/** Where each spec test folder's facet belongs in an event. */
const SPEC_TEST_POSITIONS: Readonly<Record<string, FacetPosition>> = {
  BaseSubsetDatasetFacet: "inputDataset",
  ColumnLineageDatasetFacet: "dataset",
  DataQualityAssertionsDatasetFacet: "inputDataset",
  DataQualityMetricsDatasetFacet: "dataset",
  DataQualityMetricsInputDatasetFacet: "inputDataset",
  DatasetTypeDatasetFacet: "dataset",
  DatasetVersionDatasetFacet: "dataset",
  DatasourceDatasetFacet: "dataset",
  DocumentationDatasetFacet: "dataset",
  DocumentationJobFacet: "job",
  EnvironmentVariablesRunFacet: "run",
  ErrorMessageRunFacet: "run",
  ExternalQueryRunFacet: "run",
  ExtractionErrorRunFacet: "run",
  HierarchyDatasetFacet: "dataset",
  JobTypeJobFacet: "job",
  LifecycleStateChangeDatasetFacet: "dataset",
  LineageFacet: "job",
  NominalTimeRunFacet: "run",
  OutputStatisticsOutputDatasetFacet: "outputDataset",
  OwnershipDatasetFacet: "dataset",
  OwnershipJobFacet: "job",
  ParentRunFacet: "run",
  ProcessingEngineRunFacet: "run",
  SQLJobFacet: "job",
  SchemaDatasetFacet: "dataset",
  SourceCodeJobFacet: "job",
  SourceCodeLocationJobFacet: "job",
  StorageDatasetFacet: "dataset",
  SymlinksDatasetFacet: "dataset",
  TagsDatasetFacet: "dataset",
  TagsJobFacet: "job",
  TagsRunFacet: "run",
};

/**
 * Examples whose `_schemaURL` names a published schema they do not satisfy. The published
 * ProcessingEngineRunFacet 1-0-0 requires `engine_version`, a property it never defines (1-1-0
 * fixed it to `version`); upstream checks its examples against the current files only.
 */
const KNOWN_ISSUES: Readonly<Record<string, ReadonlyArray<{ path: string; message: string }>>> = {
  "ProcessingEngineRunFacet/1.json": [
    {
      path: "/run/facets/processing_engine/engine_version",
      message: "must have required property 'engine_version'",
    },
  ],
};

function placeFacets(position: FacetPosition, facets: Json): Json {
  const event = kitEvent();
  if (position === "run") event.run.facets = facets;
  if (position === "job") event.job.facets = facets;
  if (position === "dataset") event.outputs[0].facets = facets;
  if (position === "inputDataset") event.inputs[0].inputFacets = facets;
  if (position === "outputDataset") event.outputs[0].outputFacets = facets;
  return event;
}

describe("makeOpenLineageValidator() on the spec's own facet examples", () => {
  const testsDir = new URL("spec/tests/", specDir);
  const folders = readdirSync(testsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const cases = folders.flatMap((folder) =>
    readdirSync(new URL(`${folder}/`, testsDir)).sort().map((file) => [folder, file] as const)
  );

  it("places every example folder", () => {
    expect(folders).toEqual(Object.keys(SPEC_TEST_POSITIONS).sort());
  });

  it.each(cases)("accepts %s/%s", (folder, file) => {
    const facets = JSON.parse(readFileSync(new URL(`${folder}/${file}`, testsDir), "utf8"));
    // The dataset-level lineage example belongs on a dataset; the others describe jobs.
    const position = file === "dataset-to-dataset.json" ? "dataset" : SPEC_TEST_POSITIONS[folder];
    expect(validator.validate(placeFacets(position, facets))).toEqual(
      KNOWN_ISSUES[`${folder}/${file}`] ?? [],
    );
  });
});

describe("makeCloudEventValidator()", () => {
  const schemaPath = new URL("specs/cloudevents/cloudevents.json", fixtures);
  const minimal = { specversion: "1.0", id: "1", source: "/lineage-kit/trials/parse", type: "t" };

  it("accepts a minimal event and the kit's stage event", async () => {
    const validator = await makeCloudEventValidator(schemaPath);
    expect(validator.validate(minimal)).toEqual([]);
    const stageEvent = {
      ...minimal,
      type: "org.medicalkg.orchestration.stage.completed",
      subject: "NCT01234567",
      time: "2026-01-02T03:04:05.678Z",
      datacontenttype: "application/json",
      tenantid: "t1",
      correlationid: "c1",
      olrunid: RUN_ID,
      oleventtype: "COMPLETE",
      partitionkey: "NCT01234567",
      data: { duration_ms: 12, output_count: 3, retry_count: 0, gpu_used: false },
    };
    expect(validator.validate(stageEvent)).toEqual([]);
  });

  it("rejects an event without specversion", async () => {
    const validator = await makeCloudEventValidator(schemaPath);
    const { specversion: _, ...event } = minimal;
    expect(validator.validate(event)).toEqual([
      { path: "/specversion", message: "must have required property 'specversion'" },
    ]);
  });

  it("rejects a bad time, an upper-case attribute name and data with data_base64", async () => {
    const validator = await makeCloudEventValidator(schemaPath);
    const event = { ...minimal, time: "today", tenantId: "t1", data: {}, data_base64: "Zm9v" };
    expect(validator.validate(event)).toEqual([
      { path: "/time", message: 'must match format "date-time"' },
      { path: "/tenantId", message: "attribute names must be [a-z0-9]+" },
      { path: "/data_base64", message: "must not be present together with data" },
    ]);
  });
});
