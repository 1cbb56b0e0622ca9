// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import {
  makeCloudEventValidator,
  makeOpenLineageValidator,
} from "../../testing/openlineage_validator.ts";
import { fixturesDir, readJsonl, runCli, tempDir } from "../_harness.ts";
import { datasetNamingProblems } from "../../lineage/dataset_naming.ts";
import { KIT_VERSION } from "../../lineage/kit_version.ts";
import { gitSourceOf } from "../../lineage/git_source.ts";
import { pathToFileURL } from "node:url";

type Event = Record<string, any>;

describe("lineage of run-pipeline (bundled records plus bad input)", () => {
  let store: string;
  let bad: string;
  let openlineage: Event[];
  let cloudevents: Event[];
  const storeNamespace = () => pathToFileURL(resolve(store, "db")).href;

  beforeAll(async () => {
    store = await tempDir();
    bad = await tempDir();
    const ct = JSON.parse(
      await Deno.readTextFile(resolve(fixturesDir, "clinicaltrials/NCT06171568.json")),
    );
    ct.protocolSection.identificationModule.briefTitle = ["not", "a", "string"];
    ct.protocolSection.identificationModule.nctId = "NCT99999999";
    await Deno.writeTextFile(resolve(bad, "wrong_type.json"), JSON.stringify(ct));
    await Deno.writeTextFile(resolve(bad, "truncated.json"), '{"studies": [');
    expect((await runCli(runPipeline, ["--store", store])).code).toBe(0);
    expect(
      (await runCli(runPipeline, ["--store", store, "--input", bad, "--source", "clinicaltrials"]))
        .code,
    )
      .toBe(1);
    openlineage = await readJsonl(resolve(store, "lineage/openlineage.jsonl"));
    cloudevents = await readJsonl(resolve(store, "lineage/cloudevents.jsonl"));
  });
  afterAll(async () => {
    await Deno.remove(store, { recursive: true });
    await Deno.remove(bad, { recursive: true });
  });

  it("every OpenLineage event validates against the official 2-0-2 schema, each facet against its own", async () => {
    const validator = await makeOpenLineageValidator();
    expect(openlineage.length).toBeGreaterThan(100);
    const problems = openlineage.flatMap((e, i) =>
      validator.validate(e).map((issue) =>
        `line ${i + 1} ${e.job.name} ${e.eventType}: ${issue.path} ${issue.message}`
      )
    );
    expect(problems).toEqual([]);
  });

  it("every CloudEvent validates against the CloudEvents schema", async () => {
    const validator = await makeCloudEventValidator();
    const problems = cloudevents.flatMap((e, i) =>
      validator.validate(e).map((issue) =>
        `line ${i + 1} ${e.type}: ${issue.path} ${issue.message}`
      )
    );
    expect(problems).toEqual([]);
  });

  it("every OpenLineage event has exactly one CloudEvent partner naming its run and event type", () => {
    expect(cloudevents.length).toBe(openlineage.length);
    const key = (runId: string, type: string) => `${runId}/${type}`;
    const partners = new Map<string, number>();
    for (const ce of cloudevents) {
      const k = key(ce.olrunid, ce.oleventtype);
      partners.set(k, (partners.get(k) ?? 0) + 1);
    }
    const unpaired = openlineage.filter((e) => partners.get(key(e.run.runId, e.eventType)) !== 1);
    expect(unpaired).toEqual([]);
  });

  it("every run starts with START and ends with exactly one terminal event, nothing after it", () => {
    const byRun = new Map<string, string[]>();
    for (const e of openlineage) {
      byRun.set(e.run.runId, [...(byRun.get(e.run.runId) ?? []), e.eventType]);
    }
    const bad = [...byRun.entries()].filter(([, types]) =>
      types.length !== 2 || types[0] !== "START" ||
      !["COMPLETE", "FAIL", "ABORT"].includes(types[1])
    );
    expect(bad).toEqual([]);
  });

  it("stage runs carry the pipeline run as parent and root, and the parent START comes first", () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const e of openlineage) {
      if (e.eventType === "START") seen.add(e.run.runId);
      const parent = e.run.facets.parent;
      if (e.job.facets.jobType.jobType === "DAG") {
        if (parent) problems.push(`${e.job.name}: pipeline run has a parent`);
        continue;
      }
      if (!parent) {
        problems.push(`${e.job.name}: no parent`);
        continue;
      }
      if (parent.root.run.runId !== parent.run.runId) {
        problems.push(`${e.job.name}: root is not the parent`);
      }
      if (!e.job.name.startsWith(`${parent.job.name}.`)) {
        problems.push(`${e.job.name}: not under ${parent.job.name}`);
      }
      if (!seen.has(parent.run.runId)) {
        problems.push(`${e.job.name}: parent START not before child`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("failed jobs end their pipeline run and failing stage run with FAIL and an errorMessage naming the field", () => {
    const failedPipelines = openlineage.filter((e) =>
      e.eventType === "FAIL" && e.job.name === "auto"
    );
    expect(failedPipelines).toHaveLength(2);
    const messages = failedPipelines.map((e) => e.run.facets.errorMessage.message).sort();
    expect(messages[0]).toMatch(/^ingest: InvalidInput: .*truncated\.json:1:\d+: invalid JSON/);
    expect(messages[1]).toMatch(
      /^parse: InvalidInput: .*wrong_type\.json: protocolSection\.identificationModule\.briefTitle/,
    );
    for (const e of failedPipelines) {
      expect(e.run.facets.errorMessage.programmingLanguage).toBe("TypeScript");
    }
    const failedCe = cloudevents.filter((e) =>
      e.type === "org.medicalkg.orchestration.stage.failed"
    );
    expect(failedCe.map((e) => e.data.error_type)).toEqual(["InvalidInput", "InvalidInput"]);
    expect(failedCe.map((e) => e.data.reason)).toEqual(["invalid_input", "invalid_input"]);
  });

  it("datasets connect the stages: each stage reads what its dependencies wrote; outputs carry outputStatistics", () => {
    const completes = openlineage.filter((e) =>
      e.eventType === "COMPLETE" && e.job.name.startsWith("auto.")
    );
    const outputsOf = new Map<string, string[]>();
    for (const e of completes) {
      outputsOf.set(e.job.name, e.outputs.map((d: Event) => `${d.namespace}|${d.name}`));
      for (const d of e.outputs) {
        expect(d.outputFacets.outputStatistics.rowCount).toBeGreaterThanOrEqual(0);
      }
    }
    const chunk = completes.find((e) => e.job.name === "auto.chunk")!;
    expect(chunk.inputs.map((d: Event) => `${d.namespace}|${d.name}`)).toEqual(
      outputsOf.get("auto.parse"),
    );
    // A dataset's facets come with its run's START only; COMPLETE names the same datasets.
    const ingestStart = openlineage.find((e) =>
      e.eventType === "START" && e.job.name === "auto.ingest" &&
      e.inputs[0].facets.symlinks?.identifiers[0].namespace === "https://clinicaltrials.gov"
    )!;
    const ingest = completes.find((e) => e.run.runId === ingestStart.run.runId)!;
    expect(ingest.inputs[0].facets).toBeUndefined();
    expect(ingest.inputs[0].namespace).toBe("file");
    expect(ingest.inputs[0].name).toMatch(/^\/.*\/data\/records\/clinicaltrials\/NCT\d+\.json$/);
    expect(ingestStart.inputs[0].name).toBe(ingest.inputs[0].name);
    expect(ingestStart.inputs[0].facets.symlinks.identifiers).toEqual([
      { namespace: "https://clinicaltrials.gov", name: "/api/v2/studies", type: "API" },
    ]);
    expect(ingest.outputs.map((d: Event) => [d.namespace, d.name])).toEqual([
      [storeNamespace(), "postgres.public.lk_checkpoints.auto.ingest"],
    ]);
    const index = completes.find((e) => e.job.name === "auto.index")!;
    expect(index.outputs.map((d: Event) => [d.namespace, d.name])).toEqual([
      [storeNamespace(), "postgres.public.lk_chunks"],
    ]);
  });

  it("every dataset is named per the OpenLineage conventions: record files, the store's folder as a file URI, APIs; never inmemory://", () => {
    const namespaces = new Set<string>();
    for (const e of openlineage) {
      for (const d of [...e.inputs, ...e.outputs]) {
        namespaces.add(d.namespace);
        expect(datasetNamingProblems(d)).toEqual([]);
        if (d.namespace === storeNamespace()) {
          expect(d.name).toMatch(/^postgres\.public\.lk_[a-z_]+(\.auto\.[a-z_]+)?$/);
        }
      }
    }
    expect([...namespaces].sort()).toEqual(["file", storeNamespace()]);
  });

  it("every event and facet names the versioned producer", () => {
    const producers = new Set<string>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (typeof o._producer === "string") producers.add(o._producer);
        Object.values(o).forEach(walk);
      }
    };
    for (const e of openlineage) {
      producers.add(e.producer);
      walk(e);
    }
    expect([...producers]).toEqual([`https://jsr.io/@medkg/lineage-kit/${KIT_VERSION}`]);
  });

  it("completed stages carry inputStatistics and outputStatistics; the pipeline its source code location at the git revision", () => {
    const completes = openlineage.filter((e) =>
      e.eventType === "COMPLETE" && e.job.name.startsWith("auto.")
    );
    expect(completes.length).toBeGreaterThan(20);
    for (const e of completes) {
      expect(e.inputs.length).toBeGreaterThan(0);
      for (const d of e.inputs) expect(d.inputFacets.inputStatistics.rowCount).toBeGreaterThan(0);
      for (const d of e.outputs) {
        expect(d.outputFacets.outputStatistics.rowCount).toBeGreaterThanOrEqual(0);
      }
    }
    const start = openlineage.find((e) => e.job.name === "auto" && e.eventType === "START")!;
    const scl = start.job.facets.sourceCodeLocation;
    // A checkout names the commit; a copy without `.git` (a published package) the file alone.
    const git = gitSourceOf(new URL("../../pipelines/auto.yaml", import.meta.url).pathname);
    if (git?.version) {
      expect(scl).toMatchObject({ type: "git", path: "pipelines/auto.yaml", version: git.version });
      expect(scl.version).toMatch(/^[0-9a-f]{40}$/);
    } else {
      expect(scl).toMatchObject({ type: "file" });
    }
    expect(scl.url).toMatch(/^file:\/\/.*\/pipelines\/auto\.yaml$/);
  });
});
