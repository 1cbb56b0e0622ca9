/**
 * `deno task bench`: the pipeline bench (`pipeline_bench.ts`), or with `--startup` the startup
 * bench (`startup_bench.ts`). Each is loaded only when chosen.
 *
 * @module
 */
if (Deno.args.includes("--startup")) {
  const { main } = await import("./startup_bench.ts");
  Deno.exit(await main(Deno.args));
} else {
  await import("./pipeline_bench.ts");
}
