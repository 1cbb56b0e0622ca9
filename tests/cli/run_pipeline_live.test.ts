/**
 * `run-pipeline --source S --query/--ids/--filter/--limit`: the flags become a live query, bad
 * combinations are usage errors, and a live source that fails is a setup failure (exit 2) naming
 * the URL, before any job.
 */
import { http, HttpResponse } from "msw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main, runOptionsFrom } from "../../cli/run_pipeline.ts";
import { runCli, tempDir } from "../_harness.ts";
import { useMockServer } from "../_fixtures/http.ts";

const { server, recorder } = useMockServer();
const env = { get: (_key: string): string | undefined => undefined };
const options = (args: ReadonlyArray<string>) => runOptionsFrom(args, env);

describe("run-pipeline live query flags", () => {
  it("turns --source with --query, --ids, --filter and --limit into a live query", () => {
    expect(options(["--source", "clinicaltrials", "--query", "melanoma", "--limit", "50"]))
      .toMatchObject({
        inputs: [],
        query: { source: "clinicaltrials", query: "melanoma", limit: 50 },
      });
    expect(options(["--source", "openalex", "--ids", "W3045921891, W3046863325,"]))
      .toMatchObject({ query: { source: "openalex", ids: ["W3045921891", "W3046863325"] } });
    expect(options(["--source", "openalex", "--query", "x", "--filter", "is_oa:true"]))
      .toMatchObject({ query: { source: "openalex", query: "x", filter: "is_oa:true" } });
  });

  it("refuses combinations that mean nothing, naming the flags", () => {
    const refusals: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [
        ["--query", "melanoma"],
        "--query needs --source (live sources: clinicaltrials, openalex, openalex-pdf, openfda)",
      ],
      [
        ["--source", "europepmc", "--query", "x"],
        '--query: source "europepmc" cannot list records live ' +
        "(live sources: clinicaltrials, openalex, openalex-pdf, openfda)",
      ],
      [
        ["--source", "clinicaltrials", "--limit", "5"],
        "--limit applies to --query, --ids or --filter",
      ],
      [
        ["--source", "clinicaltrials", "--ids", "NCT00763412", "--query", "x"],
        "--ids names the records: it cannot be combined with --query or --filter",
      ],
      [
        ["--source", "openfda", "--filter", "x"],
        "--filter is OpenAlex's filter= syntax: --source openfda takes --query or --ids",
      ],
      [
        ["--source", "clinicaltrials", "--query", "x", "--input", "data/records"],
        "--input reads record files and --query lists records live: give one of them",
      ],
      [["--source", "clinicaltrials", "--query", " "], "--query is empty"],
      [
        ["--source", "clinicaltrials", "--ids", ","],
        '--ids: expected comma-separated keys, got ","',
      ],
      [
        ["--source", "clinicaltrials", "--query", "x", "--limit", "10001"],
        "--limit: at most 10000, got 10001",
      ],
      [
        ["--source", "clinicaltrials", "--query", "x", "--limit", "0"],
        '--limit: expected an integer >= 1, got "0"',
      ],
    ];
    for (const [args, message] of refusals) {
      expect(() => options(args), args.join(" ")).toThrow(message);
    }
  });
});

describe("run-pipeline with a failing live source", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir("lk-live-cli-");
  });
  afterAll(() => Deno.remove(dir, { recursive: true }));

  it("exits 2 before any job, naming the URL", async () => {
    const url = "https://clinicaltrials.gov/api/v2/studies/NCT09999999";
    server.use(http.get(url, () => new HttpResponse(null, { status: 404 })));
    const result = await runCli(main, [
      "--source",
      "clinicaltrials",
      "--ids",
      "NCT09999999",
      "--store",
      `${dir}/store`,
      "--lineage",
      `${dir}/lineage`,
    ]);
    expect(result).toEqual({
      code: 2,
      stdout: "",
      stderr: `run-pipeline: --source clinicaltrials: live discovery failed: GET ${url}: HTTP 404`,
    });
    expect((await recorder.requests()).map((r) => r.url)).toEqual([url]);
  });

  it("exits 2 with the source's own refusal of a malformed key, before any request", async () => {
    const result = await runCli(main, [
      "--source",
      "clinicaltrials",
      "--ids",
      "NCT123",
      "--store",
      `${dir}/store`,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "run-pipeline: --source clinicaltrials: ClinicalTrials.gov discovery: " +
        'ids[0]: expected an NCT number (NCT and 8 digits), received "NCT123"',
    );
    expect(await recorder.requests()).toEqual([]);
  });
});
