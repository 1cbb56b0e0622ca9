import { describe, expect, it } from "vitest";
import { benchOptionsFrom, benchUsage } from "../../bench/_bench_args.ts";
import { runCli } from "../_harness.ts";

const run = (args: ReadonlyArray<string>) =>
  runCli((a) => {
    const options = benchOptionsFrom(a);
    return Promise.resolve(typeof options === "number" ? options : -1);
  }, args);

describe("benchOptionsFrom()", () => {
  it("prints the usage for --help and ends with 0", async () => {
    expect(await run(["--help"])).toEqual({ code: 0, stdout: benchUsage, stderr: "" });
  });

  it("answers a bad option with the problem, the usage and 2", async () => {
    expect(await run(["--docs", "0"])).toEqual({
      code: 2,
      stdout: "",
      stderr: `bench: --docs: expected an integer >= 1, got "0"\n${benchUsage}`,
    });
    expect((await run(["--fast"])).stderr.split("\n")[0]).toBe(
      "bench: unknown option --fast (known: --docs, --concurrency, --repeat, --json, --store, " +
        "--peer-runtime, --skip-peers)",
    );
    expect((await run(["--store", ".lineage-kit"])).stderr.split("\n")[0]).toBe(
      'bench: --store: expected memory or a postgres:// URL, got ".lineage-kit"',
    );
    expect((await run(["--peer-runtime", "bun"])).stderr.split("\n")[0]).toBe(
      'bench: --peer-runtime: expected one of deno, node, got "bun"',
    );
  });

  it("reads the options, with defaults for those not given", () => {
    expect(benchOptionsFrom(["--docs", "20"])).toEqual({
      docs: 20,
      concurrency: 8,
      repeat: 3,
      json: false,
      peerRuntime: "deno",
      skipPeers: false,
    });
    expect(
      benchOptionsFrom([
        "--json",
        "--store",
        "postgres://u@h:5432/db",
        "--peer-runtime",
        "node",
        "--skip-peers",
      ]),
    ).toEqual({
      docs: 300,
      concurrency: 8,
      repeat: 3,
      json: true,
      store: "postgres://u@h:5432/db",
      peerRuntime: "node",
      skipPeers: true,
    });
  });
});
