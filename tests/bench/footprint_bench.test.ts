// deno-lint-ignore-file no-explicit-any -- the bench's JSON
import { describe, expect, it } from "vitest";
import { main } from "../../bench/footprint_bench.ts";
import { lastJsonLine, runCli } from "../_harness.ts";

describe("deno task bench --footprint", () => {
  it("runs its documents in waves with a live sink and reports the store per document", async () => {
    const { code, stdout, stderr } = await runCli(main, [
      "--footprint",
      "--docs",
      "20",
      "--wave",
      "10",
      "--concurrency",
      "4",
      "--json",
    ]);
    expect(code, stderr).toBe(0);
    const result = lastJsonLine(stdout) as Record<string, any>;
    // Every document's 16 OpenLineage events reached the sink (at least once).
    expect(result.events_delivered).toBeGreaterThanOrEqual(20 * 16);
    expect(result.samples.map((s: { docs: number }) => s.docs)).toEqual([10, 20]);
    expect(result.store_kb_per_doc).toBeGreaterThan(0);
    // store_mb is rounded to 0.1 MB: within 0.05 MB of the same size.
    expect(Math.abs(result.store_kb_per_doc - result.store_mb * 1024 / 20)).toBeLessThan(3);
    expect(Object.keys(result.tables_kb_per_doc)).toContain("lk_jobs");
    expect(stderr).toMatch(/bench: 20 documents/);
  });

  it("answers a bad flag with its usage and exit status 2", async () => {
    const { code, stderr } = await runCli(main, ["--footprint", "--docs", "none"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--docs/);
    expect(stderr).toMatch(/usage: deno task bench --footprint/);
  });
});

describe("the run tasks' V8 flag and environment", () => {
  it("are the ones deno.json gives every command", async () => {
    const { runTaskEnv, runTaskV8Flag } = await import("../../bench/_task_flags.ts");
    const { tasks } = JSON.parse(
      await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
    ) as { tasks: Record<string, string> };
    // The same flags everywhere: V8 refuses code cached under other flags, so a command started
    // differently would make the next one compile the kit's modules again.
    const commands = Object.keys(tasks).filter((task) => / cli\/\w+\.ts/.test(tasks[task]));
    expect(commands).toEqual(
      expect.arrayContaining(["run-pipeline", "worker", "resume", "status"]),
    );
    for (const task of commands) {
      const words = tasks[task].split(" ");
      expect(words).toContain(runTaskV8Flag);
      for (const [name, value] of Object.entries(runTaskEnv)) {
        expect(words.slice(0, words.indexOf("deno"))).toContain(`${name}=${value}`);
      }
    }
  });
});
