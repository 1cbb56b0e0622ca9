/**
 * The V8 flag `deno.json` gives the `run-pipeline`, `worker` and `resume` tasks: a bench that
 * measures their time or memory starts its process with it, as those tasks do.
 *
 * @module
 */

/** V8's young generation capped at 4 MB (see docs/operating.md). */
export const runTaskV8Flag = "--v8-flags=--max-semi-space-size=4";
