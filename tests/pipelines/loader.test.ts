import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { Effect, Result } from "effect";
import {
  buildConfig,
  type Config,
  isPolicyDocument,
  loadConfig,
  parsePipeline,
} from "../../pipelines/loader.ts";
import { ConfigError, formatProblem } from "../../policies/problem.ts";
import { type Condition, evaluateCondition } from "../../pipelines/topology.ts";
import { parsePolicies } from "../../policies/policy.ts";
import { repoRoot, tempDir } from "../_harness.ts";
import { builtinStageRegistry } from "../../adapters/builtin_stages.ts";
import { sourceNames } from "../../stages/ir.ts";

const known = { registry: builtinStageRegistry, sources: sourceNames };

const read = (path: string): Promise<string> => Deno.readTextFile(join(repoRoot, path));
const shippedPolicies =
  parsePolicies("policies/resilience.yaml", await read("policies/resilience.yaml"))
    .policies;

const problemsOf = (text: string, file = "pipelines/broken.yaml"): ReadonlyArray<string> =>
  parsePipeline(file, text, shippedPolicies, known).problems.map(formatProblem);

const loaded = (
  options: Partial<Parameters<typeof loadConfig>[0]> = {},
): Promise<Result.Result<Config, ConfigError>> =>
  Effect.runPromise(Effect.result(loadConfig({ ...known, ...options })));

// Every problem a single file can have that does not hide another one.
const broken = `version: 1
name: Broken
description: every kind of problem at once
applicable_sources: [openalex, pubmed]
stages:
  - name: ingest
    type: Ingest
    policy: polite-api
    retries: 3
  - name: parse
    type: Parse
    policy: default
    depends_on: [ingest, ghost]
  - name: embed
    type: Embedder
    policy: gpu_bound
    depends_on: [parse]
  - name: chunk
    type: Chunk
    policy: default
    depends_on: [index]
    concurrency: 0
  - name: index
    type: Index
    policy: default
    depends_on: [chunk]
  - name: parse
    type: Parse
    policy: default
    depends_on: [ingest]
  - name: wait
    type: Gate
    policy: default
    depends_on: [parse]
    condition:
      any:
        - { ledger_field: pdf_ir_ready, equals: "yes" }
        - { ledger_field: pdf_size, op: exists }
    resume_stage: nowhere
    poll_interval_seconds: 0
  - name: extract
    type: Extract
    policy: default
    depends_on: [parse]
    resume_stage: kg
`;

// A well-formed pipeline to derive single-problem variants from.
const valid = `version: "1.0.0"
name: small
description: a gate and everything after it
applicable_sources: [openfda]
stages:
  - name: ingest
    type: Ingest
    policy: default
  - name: gate
    type: Gate
    policy: default
    depends_on: [ingest]
    condition: { ledger_field: pdf_ir_ready, equals: true }
    resume_stage: chunk
  - name: chunk
    type: Chunk
    policy: default
    depends_on: [gate]
  - name: extract
    type: Extract
    policy: default
    depends_on: [gate]
`;

describe("loadConfig()", () => {
  it("loads the shipped pipelines and policies with zero problems", async () => {
    const result = await loaded();
    if (Result.isFailure(result)) throw new Error(result.failure.message);
    const config = result.success;
    expect(config.pipelines.map((p) => [p.name, p.file, p.order])).toEqual([
      ["auto", "pipelines/auto.yaml", [
        "ingest",
        "parse",
        "chunk",
        "embed",
        "index",
        "extract",
        "kg",
      ]],
      ["pdf-two-phase", "pipelines/pdf-two-phase.yaml", [
        "ingest",
        "download",
        "gate_pdf_ir_ready",
        "chunk",
        "embed",
        "index",
        "extract",
        "kg",
      ]],
    ]);
    expect([...config.policies.keys()]).toEqual(["default", "gpu-bound", "polite-api"]);
  });

  it("routes each source to the pipeline that lists it", async () => {
    const config = Result.getOrThrow(await loaded());
    const routes = [
      "clinicaltrials",
      "openalex",
      "openfda",
      "openalex-pdf",
      "europepmc",
      "unpaywall",
      "pubmed",
    ].map((s) => [s, config.routeSource(s)?.name]);
    expect(routes).toEqual([
      ["clinicaltrials", "auto"],
      ["openalex", "auto"],
      ["openfda", "auto"],
      ["openalex-pdf", "pdf-two-phase"],
      ["europepmc", "pdf-two-phase"],
      ["unpaywall", "pdf-two-phase"],
      ["pubmed", undefined],
    ]);
    expect(config.pipeline("auto")?.name).toBe("auto");
    expect(config.pipeline("nope")).toBeUndefined();
  });

  it("compiles lookups: stage, policyOf, ancestors, dependents, descendants, gate defaults", async () => {
    const pdf = Result.getOrThrow(await loaded()).pipeline("pdf-two-phase")!;
    expect(pdf.stage("gate_pdf_ir_ready")).toEqual({
      name: "gate_pdf_ir_ready",
      type: "Gate",
      policy: "default",
      dependsOn: ["download"],
      config: {},
      gate: {
        condition: { field: "pdf_ir_ready", op: "equals", value: true },
        resumeStage: "chunk",
        timeoutSeconds: 900,
        pollIntervalSeconds: 10,
      },
    });
    expect(pdf.policyOf("embed")).toEqual(shippedPolicies.get("gpu-bound"));
    expect(pdf.ancestorsOf("extract")).toEqual(
      new Set(["chunk", "gate_pdf_ir_ready", "download", "ingest"]),
    );
    expect(pdf.dependentsOf("chunk")).toEqual(["embed", "extract"]);
    expect(pdf.descendantsOf("gate_pdf_ir_ready")).toEqual(
      new Set(["chunk", "embed", "index", "extract", "kg"]),
    );
    expect(() => pdf.stage("nope")).toThrow(`pipeline "pdf-two-phase" has no stage "nope"`);
  });

  describe("with files on disk", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await tempDir();
      await Deno.mkdir(join(dir, "pipelines"));
      await Deno.mkdir(join(dir, "policies"));
      await Deno.writeTextFile(join(dir, "pipelines", "small.yaml"), valid);
      await Deno.writeTextFile(join(dir, "pipelines", "broken.yaml"), "name: [\n");
      await Deno.writeTextFile(join(dir, "pipelines", "notes.txt"), "not a pipeline");
      await Deno.writeTextFile(
        join(dir, "policies", "resilience.yaml"),
        await read("policies/resilience.yaml"),
      );
    });
    afterAll(() => Deno.remove(dir, { recursive: true }));

    it("reads every pipelines/*.yaml under baseDir and reports them all", async () => {
      const result = await loaded({ baseDir: dir });
      expect(Result.isFailure(result) && result.failure.message).toBe(
        "pipelines/broken.yaml:2:1: YAML syntax error: Flow sequence in block collection must be " +
          "sufficiently indented and end with a ]",
      );
    });

    it("loads only the files it is given", async () => {
      const config = Result.getOrThrow(
        await loaded({ baseDir: dir, pipelineFiles: ["pipelines/small.yaml"] }),
      );
      expect(config.pipelines.map((p) => p.name)).toEqual(["small"]);
    });

    it("reports a missing file at 1:1 together with the other problems", async () => {
      const result = await loaded({
        baseDir: dir,
        pipelineFiles: ["pipelines/gone.yaml", "pipelines/small.yaml"],
        policyFile: "policies/none.yaml",
      });
      expect(Result.isFailure(result) && result.failure).toEqual(
        new ConfigError({
          problems: [
            { file: "policies/none.yaml", line: 1, column: 1, message: "file not found" },
            { file: "pipelines/gone.yaml", line: 1, column: 1, message: "file not found" },
          ],
        }),
      );
    });
  });
});

describe("parsePipeline()", () => {
  it("reports every problem of a broken file at once, in file order, at the offending node", () => {
    expect(problemsOf(broken)).toEqual([
      `pipelines/broken.yaml:1:1: "version" must be a string (got 1)`,
      `pipelines/broken.yaml:2:1: "name" must match ^[a-z][a-z0-9_-]*$ (got "Broken")`,
      `pipelines/broken.yaml:9:5: stage "ingest": unknown key "retries" (allowed: name, type, ` +
      `policy, depends_on, config, outputs, concurrency)`,
      `pipelines/broken.yaml:13:26: stage "parse": depends_on "ghost" is not a stage (stages: ` +
      `ingest, parse, embed, chunk, index, wait, extract)`,
      `pipelines/broken.yaml:15:5: stage "embed": unknown stage type "Embedder" (known: Ingest, ` +
      `Download, Gate, Parse, Chunk, Embed, Index, Extract, KG)`,
      `pipelines/broken.yaml:16:5: stage "embed": unknown policy "gpu_bound" (known: default, ` +
      `gpu-bound, polite-api)`,
      `pipelines/broken.yaml:21:18: cycle: chunk → index → chunk`,
      `pipelines/broken.yaml:22:5: stage "chunk": "concurrency" must be >= 1 (got 0)`,
      `pipelines/broken.yaml:27:5: stage "parse": duplicate stage name (first declared as ` +
      `stages[1])`,
      `pipelines/broken.yaml:37:41: stage "wait": "condition.any[0].equals" must be a boolean ` +
      `(got "yes")`,
      `pipelines/broken.yaml:38:13: stage "wait": unknown ledger_field "pdf_size" (allowed: ` +
      `pdf_downloaded, pdf_ir_ready, status, current_stage)`,
      `pipelines/broken.yaml:39:5: stage "wait": resume_stage "nowhere" is not a stage (stages: ` +
      `ingest, parse, embed, chunk, index, wait, extract)`,
      `pipelines/broken.yaml:40:5: stage "wait": "poll_interval_seconds" must be > 0 (got 0)`,
      `pipelines/broken.yaml:45:5: stage "extract": "resume_stage" is only allowed on Gate stages`,
    ]);
  });

  it("warns about a source no one knows in applicable_sources, without failing the file", () => {
    const text = valid.replace(
      "applicable_sources: [openfda]",
      "applicable_sources: [openfda, pubmed]",
    );
    const { pipeline, problems, warnings } = parsePipeline("p.yaml", text, shippedPolicies, known);
    expect(problems).toEqual([]);
    expect(pipeline?.applicableSources).toEqual(["openfda", "pubmed"]);
    expect(warnings.map(formatProblem)).toEqual([
      `p.yaml:4:31: applicable_sources: unknown source "pubmed" (known: clinicaltrials, ` +
      `openalex, openalex-pdf, openfda, europepmc, unpaywall); no document is routed to it`,
    ]);
  });

  it("compiles a valid pipeline; a Gate ancestor satisfies a Parse requirement", () => {
    const { pipeline, problems } = parsePipeline("small.yaml", valid, shippedPolicies, known);
    expect(problems).toEqual([]);
    expect(pipeline?.order).toEqual(["ingest", "gate", "chunk", "extract"]);
  });

  it.each([
    [
      "a YAML syntax error",
      valid.replace("name: small", "name: small\n  bad indent: x"),
      [
        `2:7: YAML syntax error: Nested mappings are not allowed in compact mappings`,
        `2:7: YAML syntax error: Implicit keys need to be on a single line`,
      ],
    ],
    [
      "a duplicate YAML key",
      valid.replace("name: small", "name: small\nname: other"),
      [`3:1: YAML syntax error: Map keys must be unique`],
    ],
    [
      "an alias to an unknown anchor",
      valid.replace("policy: default\n  - name: gate", "policy: *nope\n  - name: gate"),
      [`8:13: YAML error: Unresolved alias (the anchor must be set before the alias): nope`],
    ],
    [
      "a document that is not a mapping",
      "- ingest\n",
      [`1:1: the document must be a mapping (got a list)`],
    ],
    [
      "missing keys",
      "name: x\nstages: []\n",
      [
        `1:1: missing required key "version"`,
        `1:1: missing required key "description"`,
        `1:1: missing required key "applicable_sources"`,
        `2:1: "stages" must have at least 1 item (got 0 items)`,
      ],
    ],
    [
      "an unknown top-level key",
      `${valid}owner: me\n`,
      [`23:1: unknown key "owner" (allowed: version, name, description, applicable_sources, stages, owners, tags)`],
    ],
    [
      "a stage that is not a mapping",
      `${valid}  - kg\n`,
      [`23:5: stages[4]: the entry must be a mapping (got "kg")`],
    ],
    [
      "a bad stage name",
      valid.replace("name: chunk", "name: Chunk-1").replace(
        "resume_stage: chunk",
        "resume_stage: Chunk-1",
      )
        .replace("[gate]\n  - name: extract", "[gate]\n  - name: extract"),
      [`15:5: stage "Chunk-1": "name" must match ^[a-z][a-z0-9_]*$ (got "Chunk-1")`],
    ],
    [
      "a gate without its condition and resume_stage",
      valid.replace("    condition: { ledger_field: pdf_ir_ready, equals: true }\n", "")
        .replace("    resume_stage: chunk\n", ""),
      [
        `9:5: stage "gate": missing required key "condition"`,
        `9:5: stage "gate": missing required key "resume_stage"`,
      ],
    ],
    [
      "gate keys on a non-gate stage",
      valid.replace(
        "depends_on: [gate]\n  - name: extract",
        "depends_on: [gate]\n    timeout_seconds: 5\n  - name: extract",
      ),
      [`19:5: stage "chunk": "timeout_seconds" is only allowed on Gate stages`],
    ],
    [
      "a resume_stage upstream of its gate",
      valid.replace("resume_stage: chunk", "resume_stage: ingest"),
      [`14:5: stage "gate": resume_stage "ingest" is not downstream of the gate (downstream: chunk, extract)`],
    ],
    [
      "a gate resuming at itself",
      valid.replace("resume_stage: chunk", "resume_stage: gate"),
      [`14:5: stage "gate": resume_stage "gate" is not downstream of the gate (downstream: chunk, extract)`],
    ],
    [
      "a stage without the upstream output it reads",
      valid.replace(/depends_on: \[gate\]\n$/, "depends_on: [ingest]\n"),
      [
        `22:5: stage "extract": type Extract needs an upstream Parse or Gate stage (upstream: ` +
        `ingest)`,
      ],
    ],
    [
      "an Index stage missing both of its inputs",
      `${valid}  - name: index\n    type: Index\n    policy: default\n`,
      [
        `23:5: stage "index": type Index needs an upstream Chunk stage (upstream: none)`,
        `23:5: stage "index": type Index needs an upstream Embed stage (upstream: none)`,
      ],
    ],
    [
      "a self-dependency",
      valid.replace("depends_on: [ingest]\n    condition", "depends_on: [gate]\n    condition"),
      [`12:18: cycle: gate → gate`],
    ],
    [
      "a dependency listed twice",
      valid.replace(
        "depends_on: [gate]\n  - name: extract",
        "depends_on: [gate, gate]\n  - name: extract",
      ),
      [`18:24: stage "chunk": depends_on lists "gate" twice`],
    ],
    [
      "a source listed twice",
      valid.replace("[openfda]", "[openfda, openfda]"),
      [`4:31: applicable_sources lists "openfda" twice`],
    ],
    [
      "a bad condition",
      valid.replace(
        "{ ledger_field: pdf_ir_ready, equals: true }",
        "{ all: [{ ledger_field: status, op: in, value: [] }, " +
          "{ ledger_field: status, op: gt, value: 1 }, " +
          "{ ledger_field: current_stage, op: exists, value: x }] }",
      ),
      [
        `13:56: stage "gate": "condition.all[0].value" must have at least 1 item (got 0 items)`,
        `13:93: stage "gate": unknown op "gt" (allowed: equals, not_equals, exists, in)`,
        `13:156: stage "gate": "condition.all[2].value" is not allowed with op "exists"`,
      ],
    ],
    [
      "an unknown job status in a condition",
      valid.replace(
        "ledger_field: pdf_ir_ready, equals: true",
        "ledger_field: status, equals: done",
      ),
      [`13:40: stage "gate": unknown job status "done" (allowed: queued, running, paused, succeeded, failed, cancelled)`],
    ],
    [
      "a dataset name Marquez would reject",
      valid.replace(
        "    depends_on: [gate]\n  - name: extract",
        "    depends_on: [gate]\n    outputs: [chunks#1]\n  - name: extract",
      ),
      [`19:15: stage "chunk": "outputs[0]" must be non-empty, without ':', '#' or spaces`],
    ],
  ])("reports %s", (_, text, expected) => {
    expect(problemsOf(text, "p.yaml")).toEqual(expected.map((e) => `p.yaml:${e}`));
  });
});

describe("buildConfig()", () => {
  const policyFile = { file: "policies/resilience.yaml", text: "" };
  beforeAll(async () => {
    Object.assign(policyFile, { text: await read("policies/resilience.yaml") });
  });

  it("reports a source routed by two pipelines and a reused pipeline name, in the later file", () => {
    const other = valid.replace("description:", "# second\ndescription:");
    const { config, problems } = buildConfig([policyFile], [
      { file: "pipelines/a.yaml", text: valid },
      { file: "pipelines/b.yaml", text: other },
    ], known);
    expect(config).toBeUndefined();
    expect(problems.map(formatProblem)).toEqual([
      `pipelines/b.yaml:2:1: pipeline name "small" is already used by pipelines/a.yaml`,
      `pipelines/b.yaml:5:22: source "openfda" is already routed to pipeline "small" ` +
      `(pipelines/a.yaml:4:22)`,
    ]);
  });

  it("does not check policy names against a policy file that has problems of its own", () => {
    const { problems } = buildConfig([{ file: "r.yaml", text: "policies: 3\n" }], [
      { file: "p.yaml", text: valid.replace("policy: default", "policy: missing") },
    ], known);
    expect(problems.map(formatProblem)).toEqual([
      `r.yaml:1:1: "policies" must be a mapping (got 3)`,
    ]);
  });

  it("names no known policies when there are none", () => {
    const { problems } = buildConfig([{ file: "r.yaml", text: "policies: {}\n" }], [
      { file: "p.yaml", text: valid.replace(/policy: default/g, "policy: x") },
    ], known);
    expect(problems.map(formatProblem).slice(0, 1)).toEqual([
      `p.yaml:8:5: stage "ingest": unknown policy "x" (known: none)`,
    ]);
  });
});

describe("isPolicyDocument()", () => {
  it("tells policy files from pipeline files by a top-level policies key", async () => {
    expect(isPolicyDocument(await read("policies/resilience.yaml"))).toBe(true);
    expect(isPolicyDocument(await read("pipelines/auto.yaml"))).toBe(false);
    expect(isPolicyDocument("stages:\n  - policies: x\n")).toBe(false);
  });
});

describe("evaluateCondition()", () => {
  const fields = {
    pdf_downloaded: true,
    pdf_ir_ready: false,
    status: "paused",
    current_stage: null,
  };
  it.each<[Condition, boolean]>([
    [{ field: "pdf_downloaded", op: "equals", value: true }, true],
    [{ field: "pdf_ir_ready", op: "equals", value: true }, false],
    [{ field: "pdf_ir_ready", op: "not_equals", value: true }, true],
    [{ field: "status", op: "in", value: ["queued", "paused"] }, true],
    [{ field: "status", op: "in", value: ["running"] }, false],
    [{ field: "current_stage", op: "exists" }, false],
    [{ field: "status", op: "exists" }, true],
    [{
      all: [{ field: "pdf_downloaded", op: "equals", value: true }, {
        field: "pdf_ir_ready",
        op: "equals",
        value: true,
      }],
    }, false],
    [{
      any: [{ field: "pdf_downloaded", op: "equals", value: true }, {
        field: "pdf_ir_ready",
        op: "equals",
        value: true,
      }],
    }, true],
  ])("evaluates %j to %s", (condition, expected) => {
    expect(evaluateCondition(condition, fields)).toBe(expected);
  });

  it("decodes every condition form from YAML", () => {
    const gateOf = (condition: string): unknown =>
      parsePipeline(
        "p.yaml",
        valid.replace("{ ledger_field: pdf_ir_ready, equals: true }", condition),
        shippedPolicies,
        known,
      )
        .pipeline?.stage("gate").gate?.condition;
    expect(gateOf("{ ledger_field: status, op: not_equals, value: failed }")).toEqual({
      field: "status",
      op: "not_equals",
      value: "failed",
    });
    expect(
      gateOf(
        "{ any: [{ ledger_field: pdf_downloaded, op: exists }, " +
          "{ all: [{ ledger_field: current_stage, equals: gate }] }] }",
      ),
    )
      .toEqual({
        any: [
          { field: "pdf_downloaded", op: "exists" },
          { all: [{ field: "current_stage", op: "equals", value: "gate" }] },
        ],
      });
  });
});
