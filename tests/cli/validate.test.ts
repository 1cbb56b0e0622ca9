import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { parseCommand } from "../../cli/validate.ts";
import { repoRoot, tempDir } from "../_harness.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

// The CLI as a user runs it: a separate Deno process, from any working directory.
const validate = async (args: ReadonlyArray<string>, cwd = repoRoot): Promise<Run> => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-A", join(repoRoot, "cli", "validate.ts"), ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
};

const lines = (text: string): ReadonlyArray<string> => text.split("\n").filter((l) => l !== "");

const badPipeline = `version: "1.0.0"
name: bad
description: two problems
applicable_sources: [openalex]
stages:
  - name: ingest
    type: Ingest
    policy: gpu_bound
  - name: parse
    type: Parse
    policy: default
    depends_on: [ingest, missing]
`;

const badPolicies = `policies:
  default:
    max_attempts: 3
    backoff_strategy: fibonacci
    backoff_initial_seconds: 1
    backoff_max_seconds: 30
    backoff_jitter_seconds: 1
    timeout_seconds: 30
`;

describe("deno task validate", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
    await Deno.writeTextFile(join(dir, "bad.yaml"), badPipeline);
    await Deno.writeTextFile(join(dir, "policies.yaml"), badPolicies);
    await Deno.writeTextFile(
      join(dir, "good.yaml"),
      badPipeline.replace("gpu_bound", "polite-api").replace(", missing", "").replace(
        "name: bad",
        "name: good",
      ).replace("openalex", "unpaywall"),
    );
  });
  afterAll(() => Deno.remove(dir, { recursive: true }));

  it("checks the shipped configuration from any directory and exits 0", async () => {
    const run = await validate([], dir);
    expect(run).toEqual({
      code: 0,
      stdout: "OK: 2 pipelines (auto, pdf-two-phase), 15 stages, 3 policies " +
        "(default, gpu-bound, polite-api)\n",
      stderr: "",
    });
  });

  it("prints every problem of the given files to stderr, one per line, and exits 1", async () => {
    const run = await validate(["bad.yaml"], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(lines(run.stderr)).toEqual([
      `bad.yaml:8:5: stage "ingest": unknown policy "gpu_bound" (known: default, gpu-bound, ` +
      `polite-api)`,
      `bad.yaml:12:26: stage "parse": depends_on "missing" is not a stage (stages: ingest, parse)`,
    ]);
  });

  it("checks pipelines against a policy file given with them", async () => {
    const run = await validate(["good.yaml", "policies.yaml"], dir);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      `policies.yaml:4:5: policy "default": unknown backoff_strategy "fibonacci" ` +
      `(allowed: exponential, linear, none)`,
    ]);
  });

  it("accepts valid files and summarises them", async () => {
    const run = await validate(["good.yaml"], dir);
    expect(run).toEqual({
      code: 0,
      stdout: "OK: 1 pipeline (good), 2 stages, 3 policies (default, gpu-bound, polite-api)\n",
      stderr: "",
    });
  });

  it("reports a missing file at 1:1", async () => {
    const run = await validate(["nope.yaml"], dir);
    expect({ code: run.code, stderr: lines(run.stderr) }).toEqual({
      code: 1,
      stderr: ["nope.yaml:1:1: file not found"],
    });
  });

  it("prints the result as JSON with --json", async () => {
    const run = await validate(["--json", "bad.yaml"], dir);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      ok: false,
      problems: [
        {
          file: "bad.yaml",
          line: 8,
          column: 5,
          message: `stage "ingest": unknown policy "gpu_bound" (known: default, gpu-bound, ` +
            `polite-api)`,
        },
        {
          file: "bad.yaml",
          line: 12,
          column: 26,
          message: `stage "parse": depends_on "missing" is not a stage (stages: ingest, parse)`,
        },
      ],
    });
  });

  it("prints the usage and exits 2 on an unknown flag", async () => {
    const run = await validate(["--strict", "bad.yaml"], dir);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(lines(run.stderr).slice(0, 2)).toEqual([
      "validate: unknown option --strict (known: --json, --explain, --help, --config)",
      "usage: deno task validate [FILES…] [--json] [--explain]",
    ]);
  });
});

describe("parseCommand()", () => {
  it("separates files from flags", () => {
    expect(parseCommand(["a.yaml", "--json", "b.yaml"])).toEqual({
      _tag: "Validate",
      explain: false,
      files: ["a.yaml", "b.yaml"],
      json: true,
    });
    expect(parseCommand([])).toEqual({ _tag: "Validate", files: [], json: false, explain: false });
    expect(parseCommand(["--help"])).toEqual({ _tag: "Help" });
  });

  it("rejects unknown long and short flags", () => {
    expect(parseCommand(["--jsn"])).toEqual({
      _tag: "UsageError",
      message: "unknown option --jsn (known: --json, --explain, --help, --config)",
    });
    expect(parseCommand(["-j"])).toEqual({ _tag: "UsageError", message: "unknown option -j" });
    expect(parseCommand(["--json=yes"])).toEqual({
      _tag: "UsageError",
      message: "--json takes no value",
    });
  });
});

describe("deno task validate --explain", () => {
  it("prints each stage's effective policy: attempts, delays without jitter, jitter, timeout, breaker, rate", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", "-A", "cli/validate.ts", "--explain"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    expect(out.code).toBe(0);
    const text = new TextDecoder().decode(out.stdout);
    const row = (stage: string) =>
      text.split("\n").find((l) => l.trimStart().startsWith(`${stage} `));
    expect(text).toContain("auto");
    expect(row("parse")).toMatch(/default\s+3\s+1s, 2s\s+up to 1s\s+30s\s+5 failures, open 60s/);
    expect(row("ingest")).toMatch(/polite-api\s+10\s+1s, 2s, 3s, 4s, 5s, 6s, 7s, 8s, 9s/);
    expect(row("ingest")).toMatch(/5\/s/);
  });
});
