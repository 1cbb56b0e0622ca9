// deno-lint-ignore-file no-explicit-any -- the bench's JSON
import { describe, expect, it } from "vitest";
import { main } from "../../bench/workers_bench.ts";
import { lastJsonLine, runCli } from "../_harness.ts";

const serverUrl = Deno.env.get("DATABASE_URL");

describe("deno task bench --workers", () => {
  it.skipIf(!serverUrl)(
    "runs the queued documents in worker processes sharing the server",
    async () => {
      const { code, stdout, stderr } = await runCli(main, [
        "--workers",
        "2",
        "--store",
        serverUrl!,
        "--docs",
        "40",
        "--concurrency",
        "4",
        "--repeat",
        "1",
        "--json",
      ]);
      expect(code, stderr).toBe(0);
      const result = lastJsonLine(stdout) as Record<string, any>;
      expect(result).toMatchObject({ docs: 40, workers: 2, concurrency_per_worker: 4 });
      expect(result.kit_docs_per_s).toBeGreaterThan(0);
      expect(stderr).toMatch(/bench: round 1\/1: 2 workers/);
    },
  );

  it("needs a PostgreSQL server to share: anything else is a usage error (exit 2)", async () => {
    for (const args of [["--workers", "2"], ["--workers", "2", "--store", "memory"]]) {
      const { code, stderr } = await runCli(main, args);
      expect(code).toBe(2);
      expect(stderr).toMatch(/--store: workers share a PostgreSQL server/);
      expect(stderr).toMatch(/usage: deno task bench --workers N/);
    }
    const { code, stderr } = await runCli(main, ["--workers", "none", "--store", "postgres://x"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--workers/);
  });
});
