// `run-pipeline --embedder vllm` against an OpenAI-compatible embeddings server on loopback (the
// simulated vLLM server the testing module ships): batching across documents, GPU failures that
// fail every job at once, and a server that is down stopping the run before any job.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { closeSharedVllmBatchers } from "../../adapters/vllm/shared_batcher.ts";
import { openStore } from "../../adapters/store/store.ts";
import { type SimulatedVllm, startSimulatedVllm } from "../../testing/vllm_sim.ts";
import { Effect } from "effect";
import { lastJsonLine, runCli, tempDir } from "../_harness.ts";

let sim: SimulatedVllm;
beforeAll(() => {
  sim = startSimulatedVllm({ dimensions: 48 });
});
afterAll(() => sim.stop());
afterEach(async () => {
  // Each run is its own process in practice; here one process runs them all.
  await Effect.runPromise(closeSharedVllmBatchers);
  sim.reset();
});

const vllmFlags =
  () => ["--embedder", "vllm", "--vllm-url", sim.url, "--vllm-model", sim.models[0]];

const rowsOf = async (store: string) => {
  const opened = await openStore(store, { keepLeases: true });
  try {
    const [counts] = await opened.client.query<{ chunks: number; nodes: number; edges: number }>(
      `select (select count(*)::int from lk_chunks) as chunks,
              (select count(*)::int from lk_kg_nodes) as nodes,
              (select count(*)::int from lk_kg_edges) as edges`,
    );
    const errors = await opened.client.query<
      { error: { type: string; stage: string; message: string } }
    >(
      "select error from lk_jobs where status = 'failed'",
    );
    const attempts = await opened.client.query<{ attempts: Record<string, number> }>(
      "select attempts from lk_jobs",
    );
    return {
      counts,
      errors: errors.map((e) => e.error),
      attempts: attempts.map((a) => a.attempts),
    };
  } finally {
    await opened.close();
  }
};

describe("run-pipeline --embedder vllm", () => {
  it("embeds the bundled records through far fewer requests than documents", async () => {
    const store = await tempDir();
    const run = await runCli(runPipeline, ["--store", store, "--json", ...vllmFlags()]);
    expect(run.code).toBe(0);
    const summary = lastJsonLine(run.stdout) as { jobs: Record<string, number> };
    expect(summary.jobs).toMatchObject({ succeeded: 20, failed: 0 });
    const stats = sim.stats();
    expect(stats.embeddingRequests).toBeGreaterThan(0);
    expect(stats.embeddingRequests).toBeLessThan(summary.jobs.succeeded);
    const { counts } = await rowsOf(store);
    expect(counts.chunks).toBe(stats.texts);
  });

  it.each(
    [
      ["a gateway answering 503", "gateway-unavailable", "GpuUnavailable"],
      ["a CUDA out-of-memory body", "out-of-memory", "GpuOutOfMemory"],
    ] as const,
  )(
    "fails every job after one attempt on %s, writing no index or graph rows",
    async (_, failure, type) => {
      const store = await tempDir();
      sim.set({ failure });
      const run = await runCli(runPipeline, ["--store", store, "--json", ...vllmFlags()]);
      expect(run.code).toBe(1);
      expect((lastJsonLine(run.stdout) as { jobs: Record<string, number> }).jobs).toMatchObject({
        succeeded: 0,
        failed: 20,
      });
      const { counts, errors, attempts } = await rowsOf(store);
      expect(counts).toEqual({ chunks: 0, nodes: 0, edges: 0 });
      // Once five have failed, the vLLM breaker fails the rest fast, naming the GPU failure.
      expect(errors.length).toBe(20);
      for (const e of errors) {
        expect(e.stage).toBe("embed");
        if (e.type !== type) {
          expect(e.type).toBe("CircuitOpen");
          expect(e.message).toContain(`after ${type}: `);
        }
      }
      expect(errors.filter((e) => e.type === type).length).toBeGreaterThanOrEqual(1);
      expect(attempts.every((a) => a.embed === 1)).toBe(true);
    },
  );

  it("exits 2 with one line naming the URL when the server is down, before any job runs", async () => {
    const store = await tempDir();
    const down = "http://127.0.0.1:9";
    const run = await runCli(runPipeline, [
      "--store",
      store,
      "--embedder",
      "vllm",
      "--vllm-url",
      down,
      "--vllm-model",
      "m",
    ]);
    expect(run.code).toBe(2);
    const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(down);
    await expect(Deno.stat(`${store}/db`)).rejects.toThrow();
  });
});
