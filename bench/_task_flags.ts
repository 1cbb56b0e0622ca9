/**
 * The V8 flag and the environment `deno.json` gives every command's task (`run-pipeline`,
 * `worker`, `status`, …): a bench that measures their time or memory starts its process with them,
 * as those tasks do.
 *
 * @module
 */

/** V8's young generation capped at 4 MB, one thread compiling WebAssembly (see docs/operating.md). */
export const runTaskV8Flag = "--v8-flags=--max-semi-space-size=4,--wasm-num-compilation-tasks=1";

/**
 * One malloc arena for the whole process (see docs/operating.md): V8 compiles the database's
 * WebAssembly on background threads, and glibc gave each its own arena, which kept what a compile
 * had used.
 */
export const runTaskEnv: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "1" };
