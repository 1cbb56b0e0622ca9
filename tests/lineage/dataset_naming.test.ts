import { describe, expect, it } from "vitest";
import {
  apiDataset,
  checkpointDataset,
  datasetNamingProblems,
  embeddedStoreLocation,
  fileDataset,
  kafkaTopicDataset,
  postgresTableDataset,
  recordInputDatasets,
  safeDatasetName,
  serverStoreLocation,
  storeTableDataset,
} from "../../lineage/dataset_naming.ts";
import { sourceDatasets, stageOutputDatasets } from "../../lineage/datasets.ts";
import { storeDatasetLocation } from "../../adapters/store/store.ts";

describe("storeDatasetLocation()", () => {
  it("names a PostgreSQL store postgres://host:port with its database, without credentials", () => {
    expect(storeDatasetLocation("postgres://kit:s3cret@DB.Internal:6543/kg?sslmode=require"))
      .toEqual({ namespace: "postgres://db.internal:6543", prefix: "kg" });
    expect(storeDatasetLocation("postgresql://db/")).toEqual({
      namespace: "postgres://db:5432",
      prefix: "postgres",
    });
  });

  it("names the embedded store by the file:// URI of its database folder, database postgres", () => {
    expect(storeDatasetLocation("/var/lib/kit")).toEqual({
      namespace: "file:///var/lib/kit/db",
      prefix: "postgres",
    });
  });

  it("falls back to namespace file for a folder Marquez cannot take as a namespace", () => {
    expect(embeddedStoreLocation("/home/me/my store/db")).toEqual({
      namespace: "file",
      prefix: "/home/me/my store/db/postgres",
    });
  });
});

describe("dataset constructors", () => {
  const server = serverStoreLocation("postgres://db:5432/kg");

  it("store tables and checkpoints: database.schema.table in the store's namespace", () => {
    expect(storeTableDataset(server, "lk_chunks")).toEqual({
      namespace: "postgres://db:5432",
      name: "kg.public.lk_chunks",
      kind: "table",
    });
    expect(checkpointDataset(server, "auto.parse")).toEqual({
      namespace: "postgres://db:5432",
      name: "kg.public.lk_checkpoints.auto.parse",
      kind: "checkpoint",
    });
    expect(postgresTableDataset({ host: "wh", database: "dw", schema: "s", table: "t" }))
      .toEqual({ namespace: "postgres://wh:5432", name: "dw.s.t", kind: "table" });
  });

  it("stage outputs: declared tables, else the YAML outputs or the stage as checkpoints; never inmemory://", () => {
    const stage = { pipeline: "auto", stage: "parse" };
    expect(stageOutputDatasets(stage, server).map((d) => d.name)).toEqual([
      "kg.public.lk_checkpoints.auto.parse",
    ]);
    expect(stageOutputDatasets({ ...stage, tables: ["lk_chunks"] }, server).map((d) => d.name))
      .toEqual(["kg.public.lk_chunks"]);
    expect(stageOutputDatasets({ ...stage, outputs: ["trials.parsed"] }, server).map((d) => d.name))
      .toEqual(["kg.public.lk_checkpoints.trials.parsed"]);
  });

  it("files, APIs and topics; ':' and '#' in names are percent-encoded", () => {
    expect(fileDataset("/data/a:b#c.json")).toEqual({
      namespace: "file",
      name: "/data/a%3Ab%23c.json",
      kind: "file",
    });
    expect(fileDataset("rel/x.json", { cwd: "/work" }).name).toBe("/work/rel/x.json");
    expect(apiDataset("https://api.fda.gov/drug/label.json?limit=1")).toEqual({
      namespace: "https://api.fda.gov",
      name: "/drug/label.json",
      kind: "api",
    });
    expect(kafkaTopicDataset("broker-1", "events")).toEqual({
      namespace: "kafka://broker-1:9092",
      name: "events",
      kind: "topic",
    });
    expect(safeDatasetName("50%:x")).toBe("50%25%3Ax");
  });

  it("a record file links to its source API with a symlink; live and inline records read the API", () => {
    const api = sourceDatasets.clinicaltrials;
    expect(
      recordInputDatasets({ kind: "file", file: "/r/NCT1.json" }, api),
    ).toEqual([{
      namespace: "file",
      name: "/r/NCT1.json",
      kind: "file",
      rowCount: 1,
      symlinks: [{ namespace: "https://clinicaltrials.gov", name: "/api/v2/studies", type: "API" }],
    }]);
    expect(recordInputDatasets({ kind: "url" }, api)).toEqual([{ ...api, rowCount: 1 }]);
    expect(recordInputDatasets({ kind: "inline" }, undefined)).toEqual([]);
  });

  it("datasetNamingProblems() names what Marquez refuses", () => {
    expect(datasetNamingProblems({ namespace: "file:///a b", name: "x:y" })).toEqual([
      'namespace "file:///a b" must match ^[a-zA-Z:;=/0-9_\\-.@+]{1,1024}$',
      "name \"x:y\" must be non-empty, without ':' or '#'",
    ]);
  });
});
