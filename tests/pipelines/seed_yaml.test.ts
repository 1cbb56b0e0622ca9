// The specification's own example files load unchanged: `…Stage` type spellings, a gate without a
// policy, policies that omit backoff keys, and unknown source names (warnings, not errors); and a
// run through the example pipeline succeeds.
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { loadKit } from "../../kit/load_kit.ts";
import { runPipeline } from "../../kit/run_pipeline.ts";
import { formatProblem } from "../../policies/problem.ts";
import { fixturesDir, repoRoot, tempDir } from "../_harness.ts";

const seed = (file: string) => resolve(fixturesDir, "seed", file);

describe("the seed's pipeline and policy files", () => {
  it("validate, reading IngestStage as Ingest and a policy-less gate as a one-attempt gate", async () => {
    const kit = await loadKit({
      cwd: repoRoot,
      files: [seed("auto.yaml"), seed("pdf-two-phase.yaml"), seed("resilience.yaml")],
    });
    const auto = kit.config.pipeline("auto")!;
    expect(auto.stages.map((s) => s.type)).toEqual([
      "Ingest",
      "Parse",
      "Chunk",
      "Embed",
      "Index",
      "Extract",
      "KG",
    ]);
    const pdf = kit.config.pipeline("pdf-two-phase")!;
    expect(pdf.stage("gate_pdf_ir_ready").policy).toBe("gate");
    expect(pdf.policyOf("gate_pdf_ir_ready")).toMatchObject({ name: "gate", maxAttempts: 1 });
    expect(kit.config.policies.get("default")).toMatchObject({
      backoffStrategy: "exponential",
      backoffInitialSeconds: 1,
      backoffMaxSeconds: 30,
      backoffJitterSeconds: 0,
    });
    expect(kit.config.warnings.map(formatProblem)).toEqual([
      `${seed("auto.yaml")}:10:5: applicable_sources: unknown source "semantic-scholar" ` +
      "(known: clinicaltrials, openalex, openalex-pdf, openfda, europepmc, unpaywall); " +
      "no document is routed to it",
      `${seed("pdf-two-phase.yaml")}:7:5: applicable_sources: unknown source "pmc" ` +
      "(known: clinicaltrials, openalex, openalex-pdf, openfda, europepmc, unpaywall); " +
      "no document is routed to it",
    ]);
  });

  it("runs documents through the seed's auto pipeline under the seed's policies", async () => {
    const dir = await tempDir();
    const summary = await runPipeline({
      pipeline: seed("auto.yaml"),
      policies: seed("resilience.yaml"),
      records: resolve(repoRoot, "data/records/clinicaltrials"),
      store: `${dir}/store`,
      lineage: `${dir}/lineage`,
    });
    expect(summary.jobs.failed).toBe(0);
    expect(summary.jobs.succeeded).toBeGreaterThan(0);
  });
});
