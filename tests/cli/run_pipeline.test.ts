import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as status } from "../../cli/status.ts";
import { fixturesDir, lastJsonLine, runCli, tempDir } from "../_harness.ts";
import { runPhases } from "../../kit/run_pipeline.ts";

describe("deno task run-pipeline on the bundled records", () => {
  let store: string;
  beforeAll(async () => {
    store = await tempDir();
  });
  afterAll(() => Deno.remove(store, { recursive: true }));

  it("processes ≥ 10 documents, skips them on a re-run, and --force re-processes them without duplicates", async () => {
    const first = await runCli(runPipeline, ["--store", store, "--json"]);
    expect(first.code).toBe(0);
    const firstSummary = lastJsonLine(first.stdout) as {
      jobs: Record<string, number>;
      events: Record<string, number>;
      phases: Record<string, number>;
      since_start: number;
    };
    expect(Object.keys(firstSummary.phases)).toEqual(runPhases);
    const phasesTook = Object.values(firstSummary.phases).reduce((a, b) => a + b, 0);
    expect(firstSummary.since_start).toBeGreaterThanOrEqual(phasesTook);
    expect(firstSummary.jobs.succeeded).toBeGreaterThanOrEqual(10);
    expect(firstSummary.jobs).toMatchObject({ failed: 0, paused: 0, skipped: 0 });
    // Each job: a pipeline run (2 events) + 7 stage runs (2 events each) = 16 per channel.
    expect(firstSummary.events).toEqual({
      openlineage: firstSummary.jobs.succeeded * 16,
      cloudevents: firstSummary.jobs.succeeded * 16,
    });
    const statsAfterFirst = JSON.parse((await runCli(status, ["--store", store, "--json"])).stdout);
    expect(statsAfterFirst.chunks).toBeGreaterThan(0);
    expect(statsAfterFirst.kg.nodes).toBeGreaterThan(0);
    expect(statsAfterFirst.kg.edges).toBeGreaterThan(0);

    const second = await runCli(runPipeline, ["--store", store, "--json"]);
    expect(second.code).toBe(0);
    expect(lastJsonLine(second.stdout)).toMatchObject({
      jobs: { succeeded: 0, failed: 0, paused: 0, skipped: firstSummary.jobs.succeeded },
      events: { openlineage: 0, cloudevents: 0 },
    });

    const forced = await runCli(runPipeline, ["--store", store, "--json", "--force"]);
    expect(forced.code).toBe(0);
    expect(lastJsonLine(forced.stdout)).toMatchObject({
      jobs: { succeeded: firstSummary.jobs.succeeded, skipped: 0 },
    });
    const statsAfterForce = JSON.parse((await runCli(status, ["--store", store, "--json"])).stdout);
    // The outbox and the store's size grow with every run; what the store holds does not.
    expect({ ...statsAfterForce, outbox: null, footprint: null }).toEqual({
      ...statsAfterFirst,
      outbox: null,
      footprint: null,
    });
  });
});

describe("deno task run-pipeline on bad input", () => {
  let dir: string;
  let store: string;
  beforeAll(async () => {
    dir = await tempDir();
    store = await tempDir();
    const ct = JSON.parse(
      await Deno.readTextFile(
        resolve(fixturesDir, "clinicaltrials/search_phelan_limit5_20260811.json"),
      ),
    );
    // One record with a wrong-typed field; the other four stay valid.
    ct.studies[1].protocolSection.identificationModule.nctId = 12345;
    await Deno.writeTextFile(resolve(dir, "ct_page.json"), JSON.stringify(ct, null, 2));
    const label = await Deno.readTextFile(resolve(fixturesDir, "openalex/W2741809807.json"));
    await Deno.writeTextFile(resolve(dir, "truncated.json"), label.slice(0, 500));
  });
  afterAll(async () => {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(store, { recursive: true });
  });

  it("fails each bad record alone with a message naming file and field, and exits 1", async () => {
    const result = await runCli(runPipeline, ["--store", store, "--input", dir, "--json"]);
    expect(result.code).toBe(1);
    expect(lastJsonLine(result.stdout)).toMatchObject({
      jobs: { succeeded: 4, failed: 2, paused: 0, skipped: 0, held: 0, cancelled: 0 },
    });
    const lines = result.stdout.split("\n");
    const failed = lines.filter((l) => /\bfailed\b/.test(l) && l.includes("InvalidInput"));
    expect(failed).toHaveLength(2);
    expect(
      failed.some((l) =>
        l.includes("ct_page.json") &&
        l.includes("studies[1].protocolSection.identificationModule.nctId")
      ),
    ).toBe(true);
    expect(failed.some((l) => l.includes("truncated.json") && l.includes("invalid JSON"))).toBe(
      true,
    );
  });

  it("rejects unknown options with exit 2 and the usage text", async () => {
    const result = await runCli(runPipeline, ["--store", store, "--concurrency", "0"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--concurrency: expected an integer >= 1, got "0"');
    const badEvents = await runCli(runPipeline, ["--store", store, "--events", "kafka://"]);
    expect(badEvents.code).toBe(2);
    expect(badEvents.stderr).toContain(
      '--events: expected kafka://host:port[,host:port][/topic], got "kafka://"',
    );
    const unknown = await runCli(runPipeline, ["--frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option --frobnicate");
  });
});

describe("deno task run-pipeline under an outside parent run", () => {
  it("records OPENLINEAGE_PARENT_ID as the pipeline run's parent and root of every stage run", async () => {
    const store = await tempDir();
    const parentRunId = "01934f2c-6e1a-7b3c-8d4e-5f6a7b8c9d0e";
    Deno.env.set("OPENLINEAGE_PARENT_ID", `airflow/ingest_dag.run_lineage_kit/${parentRunId}`);
    try {
      const result = await runCli(runPipeline, [
        "--store",
        store,
        "--input",
        resolve(fixturesDir, "clinicaltrials/NCT06171568.json"),
      ]);
      expect(result.code).toBe(0);
      const events = (await Deno.readTextFile(resolve(store, "lineage/openlineage.jsonl")))
        .trim().split("\n").map((l) => JSON.parse(l));
      const pipelineStart = events.find((e) => e.job.name === "auto" && e.eventType === "START");
      expect(pipelineStart.run.facets.parent).toMatchObject({
        run: { runId: parentRunId },
        job: { namespace: "airflow", name: "ingest_dag.run_lineage_kit" },
        root: { run: { runId: parentRunId }, job: { namespace: "airflow" } },
      });
      const stages = events.filter((e) => e.job.name.startsWith("auto."));
      expect(stages.length).toBe(14);
      for (const e of stages) {
        expect(e.run.facets.parent.run.runId).toBe(pipelineStart.run.runId);
        expect(e.run.facets.parent.root.run.runId).toBe(parentRunId);
      }
    } finally {
      Deno.env.delete("OPENLINEAGE_PARENT_ID");
      await Deno.remove(store, { recursive: true });
    }
  });
});
