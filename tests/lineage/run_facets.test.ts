// deno-lint-ignore-file no-explicit-any -- events are read as JSON
import { beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Effect } from "effect";
import { loadPipelines } from "../../kit/load_pipelines.ts";
import type { Job } from "../../pipelines/ledger.ts";
import { runScope } from "../../pipelines/run_claim.ts";
import {
  pipelineEvents,
  type PipelineRunScope,
  type StageAttempt,
  stageEvents,
} from "../../lineage/run_events.ts";
import { columnLineageOf } from "../../lineage/column_lineage.ts";
import { checkpointDataset, fileDataset } from "../../lineage/dataset_naming.ts";
import { sourceDatasets } from "../../lineage/datasets.ts";
import { gitSourceOf, originUrl } from "../../lineage/git_source.ts";
import { parsePipeline } from "../../pipelines/loader.ts";
import { formatProblem } from "../../policies/problem.ts";
import { parsePolicies } from "../../policies/policy.ts";
import { builtinStageRegistry } from "../../adapters/builtin_stages.ts";
import { sourceNames } from "../../stages/ir.ts";
import {
  makeOpenLineageValidator,
  type OpenLineageValidator,
} from "../../testing/openlineage_validator.ts";
import { repoRoot, tempDir } from "../_harness.ts";

let validator: OpenLineageValidator;
beforeAll(async () => {
  validator = await makeOpenLineageValidator();
});

const store = { namespace: "postgres://db:5432", prefix: "kg" };
const scope: PipelineRunScope = {
  namespace: "lineage-kit",
  pipeline: {
    name: "auto",
    version: "1.0.0",
    description: "records",
    owners: [{ name: "team:kg-ingest" }, { name: "user:jdoe", type: "MAINTAINER" }],
    tags: [{ key: "domain", value: "trials" }],
  },
  jobId: "job-1",
  tenantId: "default",
  docId: "clinicaltrials:NCT1",
  correlationId: "c",
  runNumber: 2,
  runCreatedAt: new Date(Date.UTC(2026, 0, 1)),
  nominalTime: { start: new Date(Date.UTC(2026, 0, 1)), end: new Date(Date.UTC(2026, 0, 2)) },
  force: true,
};
const parse: StageAttempt = {
  stage: "parse",
  type: "Parse",
  attempt: 1,
  maxAttempts: 1,
  policy: "default",
  implementation: "test",
  inputs: [{ ...checkpointDataset(store, "auto.ingest"), rowCount: 1 }],
  outputs: [checkpointDataset(store, "auto.parse")],
  ...columnLineageOf({ columnLineage: { title: ["briefTitle"] } }),
};

const ol = (events: ReadonlyArray<{ channel: string; payload: unknown }>): any =>
  events.find((e) => e.channel === "openlineage")!.payload;

describe("run event facets", () => {
  it("the pipeline job carries ownership and tags from its YAML, its runs nominalTime", () => {
    const e = ol(
      pipelineEvents(scope, { transition: "START", event: "started", time: new Date(0) }),
    );
    expect(e.job.facets.ownership.owners).toEqual(scope.pipeline.owners);
    expect(e.job.facets.tags.tags).toEqual([{
      key: "domain",
      value: "trials",
      source: "PIPELINE",
    }]);
    expect(e.run.facets.nominalTime).toMatchObject({
      nominalStartTime: "2026-01-01T00:00:00.000Z",
      nominalEndTime: "2026-01-02T00:00:00.000Z",
    });
    expect(validator.validate(e)).toEqual([]);
  });

  it("a completed stage: inputStatistics, outputStatistics, OVERWRITE on a forced run, declared column lineage", () => {
    const start = ol(
      stageEvents(scope, parse, { transition: "START", event: "started", time: new Date(1) }),
    );
    expect(start.inputs[0].inputFacets).toBeUndefined();
    expect(start.outputs[0].outputFacets).toBeUndefined();
    const e = ol(stageEvents(scope, parse, {
      transition: "COMPLETE",
      event: "completed",
      time: new Date(2),
      outputCount: 1,
    }));
    expect(e.job.facets.ownership.owners).toHaveLength(2);
    expect(e.run.facets.nominalTime.nominalStartTime).toBe("2026-01-01T00:00:00.000Z");
    expect(e.inputs[0].inputFacets.inputStatistics.rowCount).toBe(1);
    expect(e.outputs[0].outputFacets.outputStatistics.rowCount).toBe(1);
    expect(e.outputs[0].facets.lifecycleStateChange.lifecycleStateChange).toBe("OVERWRITE");
    expect(e.outputs[0].facets.columnLineage.fields).toEqual({
      title: {
        inputFields: [{
          namespace: "postgres://db:5432",
          name: "kg.public.lk_checkpoints.auto.ingest",
          field: "briefTitle",
        }],
      },
    });
    expect(validator.validate(e)).toEqual([]);
    const unforced = ol(stageEvents({ ...scope, force: false }, parse, {
      transition: "COMPLETE",
      event: "completed",
      time: new Date(2),
    }));
    expect(unforced.outputs[0].facets.lifecycleStateChange).toBeUndefined();
  });

  it("a record file input carries the symlink to its source API", () => {
    const ingest: StageAttempt = {
      ...parse,
      stage: "ingest",
      inputs: [fileDataset("/r/NCT1.json", { sameAs: sourceDatasets.clinicaltrials })],
    };
    const e = ol(
      stageEvents(scope, ingest, { transition: "START", event: "started", time: new Date(0) }),
    );
    expect(e.inputs[0].facets.symlinks.identifiers).toEqual([
      { namespace: "https://clinicaltrials.gov", name: "/api/v2/studies", type: "API" },
    ]);
    expect(validator.validate(e)).toEqual([]);
  });

  it("columnLineageOf() reads a definition's columnLineage, and ignores other shapes", () => {
    expect(columnLineageOf({})).toEqual({});
    expect(columnLineageOf({ columnLineage: { a: "b" } })).toEqual({});
    expect(columnLineageOf({ columnLineage: { a: ["b", "c"] } })).toEqual({
      columnLineage: { a: ["b", "c"] },
    });
  });
});

describe("sourceCodeLocation and git", () => {
  it("names the pipeline file at its commit in a git work tree, following a linked worktree", async () => {
    const repo = await tempDir();
    const sha = "0123456789abcdef0123456789abcdef01234567";
    await Deno.mkdir(join(repo, "main/.git/refs/heads"), { recursive: true });
    await Deno.mkdir(join(repo, "main/.git/worktrees/wt"), { recursive: true });
    await Deno.mkdir(join(repo, "wt/pipelines"), { recursive: true });
    await Deno.writeTextFile(
      join(repo, "main/.git/config"),
      '[remote "origin"]\n\turl = https://user:tok@github.com/medkg/p.git\n',
    );
    await Deno.writeTextFile(
      join(repo, "main/.git/packed-refs"),
      `# pack-refs\n${sha} refs/heads/feature\n${"f".repeat(40)} refs/tags/v1\n^${sha}\n`,
    );
    await Deno.writeTextFile(
      join(repo, "main/.git/worktrees/wt/HEAD"),
      "ref: refs/heads/feature\n",
    );
    await Deno.writeTextFile(join(repo, "main/.git/worktrees/wt/commondir"), "../..\n");
    await Deno.writeTextFile(
      join(repo, "wt/.git"),
      `gitdir: ${join(repo, "main/.git/worktrees/wt")}\n`,
    );
    const file = join(repo, "wt/pipelines/auto.yaml");
    await Deno.writeTextFile(file, "name: auto\n");
    expect(gitSourceOf(file)).toEqual({
      repoUrl: "https://github.com/medkg/p.git",
      version: sha,
      branch: "feature",
      tag: "v1",
      path: "pipelines/auto.yaml",
    });
    const e = ol(pipelineEvents({ ...scope, pipeline: { ...scope.pipeline, file } }, {
      transition: "START",
      event: "started",
      time: new Date(0),
    }));
    expect(e.job.facets.sourceCodeLocation).toMatchObject({
      type: "git",
      repoUrl: "https://github.com/medkg/p.git",
      path: "pipelines/auto.yaml",
      version: sha,
      branch: "feature",
      tag: "v1",
    });
    expect(validator.validate(e)).toEqual([]);
    await Deno.remove(repo, { recursive: true });
  });

  it("names a project's pipeline file where it was read, whatever the working directory", async () => {
    const project = await tempDir();
    const sha = "89abcdef0123456789abcdef0123456789abcdef";
    await Deno.mkdir(join(project, ".git/refs/heads"), { recursive: true });
    await Deno.mkdir(join(project, "pipelines"));
    await Deno.writeTextFile(join(project, ".git/HEAD"), "ref: refs/heads/main\n");
    await Deno.writeTextFile(join(project, ".git/refs/heads/main"), `${sha}\n`);
    await Deno.copyFile(
      join(repoRoot, "pipelines/auto.yaml"),
      join(project, "pipelines/mine.yaml"),
    );
    const config = await Effect.runPromise(loadPipelines({
      baseDir: project,
      pipelineFiles: ["pipelines/mine.yaml"],
      policyFile: join(repoRoot, "policies/resilience.yaml"),
    }));
    const pipeline = config.pipeline("auto")!;
    // Problems still name the file as it was given.
    expect(pipeline.file).toBe("pipelines/mine.yaml");
    const job = { jobId: "job-1", tenantId: "t", docId: "d", correlationId: "c" } as Job;
    const e = ol(pipelineEvents(runScope(job, pipeline, scope, 1, new Date(0)), {
      transition: "START",
      event: "started",
      time: new Date(0),
    }));
    expect(e.job.facets.sourceCodeLocation).toMatchObject({
      type: "git",
      url: pathToFileURL(join(project, "pipelines/mine.yaml")).href,
      path: "pipelines/mine.yaml",
      version: sha,
      branch: "main",
    });
    await Deno.remove(project, { recursive: true });
  });

  it("originUrl() drops credentials and keeps scp-like remotes", () => {
    expect(originUrl('[remote "origin"]\n  url = https://u:p@h.example/r.git\n')).toBe(
      "https://h.example/r.git",
    );
    expect(originUrl('[remote "origin"]\n  url = git@github.com:o/r.git\n')).toBe(
      "git@github.com:o/r.git",
    );
    expect(originUrl('[remote "upstream"]\n  url = https://h/r\n')).toBeUndefined();
  });
});

describe("pipeline YAML owners: and tags:", () => {
  const known = { registry: builtinStageRegistry, sources: sourceNames };
  const head = `version: "1.0.0"
name: x
description: d
applicable_sources: [clinicaltrials]
stages:
  - {name: ingest, type: Ingest, policy: default}
`;
  const parseWith = async (extra: string) => {
    const policies = parsePolicies(
      "policies/resilience.yaml",
      await Deno.readTextFile(join(repoRoot, "policies/resilience.yaml")),
    ).policies;
    return parsePipeline("p.yaml", head + extra, policies, known);
  };

  it("owners are URNs or {name, type}; tags a mapping or key:value strings and labels", async () => {
    const a = await parseWith(
      "owners: [team:kg, {name: 'user:jdoe', type: MAINTAINER}]\ntags: {domain: trials, tier: 1}\n",
    );
    expect([a.problems, a.pipeline?.owners, a.pipeline?.tags]).toEqual([
      [],
      [{ name: "team:kg" }, { name: "user:jdoe", type: "MAINTAINER" }],
      [{ key: "domain", value: "trials" }, { key: "tier", value: "1" }],
    ]);
    const b = await parseWith("tags: ['domain:trials', pii]\n");
    expect(b.pipeline?.tags).toEqual([
      { key: "domain", value: "trials" },
      { key: "pii", value: "true" },
    ]);
  });

  it("refuses owners and tags of other shapes, at their place", async () => {
    const bad = await parseWith("owners: [{team: kg}]\ntags: 7\n");
    expect(bad.problems.map(formatProblem).length).toBeGreaterThan(0);
    for (const p of bad.problems.map(formatProblem)) expect(p).toMatch(/^p\.yaml:(7|8):\d+: /);
  });
});
