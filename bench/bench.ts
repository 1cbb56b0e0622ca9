/**
 * `deno task bench`: the pipeline bench (`pipeline_bench.ts`), with `--startup` the startup bench
 * (`startup_bench.ts`), with `--footprint` the footprint bench (`footprint_bench.ts`, in a
 * process of its own with the run tasks' V8 flag), or with `--workers` the bench of worker
 * processes sharing a server store (`workers_bench.ts`). Each is loaded only when chosen.
 *
 * @module
 */
if (Deno.args.includes("--workers")) {
  const { main } = await import("./workers_bench.ts");
  Deno.exit(await main(Deno.args));
} else if (Deno.args.includes("--startup")) {
  const { main } = await import("./startup_bench.ts");
  Deno.exit(await main(Deno.args));
} else if (Deno.args.includes("--footprint")) {
  // In a process started as the run tasks start theirs, so its memory is what a long run's is.
  const { runTaskEnv, runTaskV8Flag } = await import("./_task_flags.ts");
  const { fileURLToPath } = await import("node:url");
  const bench = fileURLToPath(new URL("./footprint_bench.ts", import.meta.url));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", runTaskV8Flag, bench, ...Deno.args],
    env: runTaskEnv,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  Deno.exit((await child.status).code);
} else {
  await import("./pipeline_bench.ts");
}
