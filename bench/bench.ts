/**
 * `deno task bench`: the pipeline bench (`pipeline_bench.ts`), with `--startup` the startup bench
 * (`startup_bench.ts`), or with `--footprint` the footprint bench (`footprint_bench.ts`). Each is
 * loaded only when chosen.
 *
 * @module
 */
if (Deno.args.includes("--startup")) {
  const { main } = await import("./startup_bench.ts");
  Deno.exit(await main(Deno.args));
} else if (Deno.args.includes("--footprint")) {
  const { main } = await import("./footprint_bench.ts");
  Deno.exit(await main(Deno.args));
} else {
  await import("./pipeline_bench.ts");
}
