import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as worker } from "../../cli/worker.ts";
import { main as sensor } from "../../cli/sensor.ts";
import { main as mineruBridge } from "../../cli/mineru_bridge.ts";
import { repoRoot, runCli, tempDir } from "../_harness.ts";
import { family, parseExposition, valueOf } from "../_prometheus.ts";

const openfda = resolve(repoRoot, "data/records/openfda");

const metricsUrl = (command: string, stderr: string): string => {
  const found = new RegExp(`^${command}: metrics at (http://127\\.0\\.0\\.1:\\d+/metrics)$`, "m")
    .exec(stderr);
  if (!found) throw new Error(`${command} printed no metrics URL:\n${stderr}`);
  return found[1];
};

let dir: string;
let store: string;
beforeAll(async () => {
  dir = await tempDir();
  store = resolve(dir, "store");
  const seeded = await runCli(runPipeline, ["--store", store, "--input", openfda]);
  if (seeded.code !== 0) throw new Error(`run-pipeline failed:\n${seeded.stderr}`);
});
afterAll(() => Deno.remove(dir, { recursive: true }));

describe("--metrics-port", () => {
  it("run-pipeline serves /metrics for the run and stops serving when it returns", async () => {
    const ran = await runCli(runPipeline, [
      "--store",
      store,
      "--input",
      openfda,
      "--force",
      "--metrics-port",
      "0",
      "--json",
    ]);
    expect(ran.code).toBe(0);
    const url = metricsUrl("run-pipeline", ran.stderr);
    await expect(fetch(url)).rejects.toThrow();
  });

  it("worker, sensor and mineru-bridge serve it too, each for as long as it runs", async () => {
    const commands = [
      ["worker", worker, ["--once"]],
      ["sensor", sensor, ["--once"]],
      ["mineru-bridge", mineruBridge, ["--once", "--mineru-url", "http://127.0.0.1:9"]],
    ] as const;
    for (const [name, main, args] of commands) {
      const ran = await runCli(main, ["--store", store, ...args, "--metrics-port", "0"]);
      expect({ name, code: ran.code }).toEqual({ name, code: 0 });
      await expect(fetch(metricsUrl(name, ran.stderr))).rejects.toThrow();
    }
  });

  it(
    "a sensor process answers scrapes with its metrics and the store's jobs until it ends",
    async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-q",
          "-A",
          resolve(repoRoot, "cli/sensor.ts"),
          "--store",
          store,
          "--metrics-port",
          "0",
        ],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      // Read stderr until the endpoint's line, then keep draining it so the child never blocks.
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
        url = /^sensor: metrics at (\S+)$/m.exec(seen)?.[1];
      }
      const drained = (async () => {
        while (!(await reader.read()).done);
      })();
      expect(url, seen).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // Scrape until the sensor's first pass is in (it starts right after the endpoint).
      let families = parseExposition("");
      for (
        let i = 0;
        i < 200 && !families.some((f) => f.name === "lineagekit_sensor_passes_total");
        i++
      ) {
        const response = await fetch(url!);
        expect(response.status).toBe(200);
        expect(response.headers.get("content-type")).toBe(
          "text/plain; version=0.0.4; charset=utf-8",
        );
        families = parseExposition(await response.text());
        if (!families.some((f) => f.name === "lineagekit_sensor_passes_total")) {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(family(families, "lineagekit_sensor_passes_total").series).toEqual([
        { labels: { trigger: "start" }, value: 1 },
      ]);
      // The four openFDA jobs run-pipeline ran, read from the ledger at scrape time.
      expect(valueOf(families, "lineagekit_jobs", { status: "succeeded" })).toBe(4);
      expect(valueOf(families, "lineagekit_jobs", { status: "paused" })).toBe(0);
      child.kill("SIGTERM");
      await child.status;
      await drained;
      await expect(fetch(url!)).rejects.toThrow();
    },
    120_000,
  );

  it("refuses a port that is taken, and --metrics-host without --metrics-port (exit 2)", async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      const busy = await runCli(runPipeline, [
        "--store",
        store,
        "--input",
        openfda,
        "--metrics-port",
        String(port),
      ]);
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(
        `run-pipeline: --metrics-port: cannot serve metrics on http://127.0.0.1:${port}/metrics: `,
      );
    } finally {
      taken.close();
    }
    const hostOnly = await runCli(worker, ["--store", store, "--metrics-host", "0.0.0.0"]);
    expect(hostOnly.code).toBe(2);
    expect(hostOnly.stderr).toContain("worker: --metrics-host needs --metrics-port");
  });
});
