/**
 * `deno task bench --startup`: how long `run-pipeline` takes from a new process to its exit, and
 * its peak memory, on the bundled records: a machine's first store (an empty template cache), a
 * new store (cold: copied from the shipped template), and again on the same store where every job
 * is done (warm: the process, the store's opening, the skip). Each is its own `deno` process, as a
 * user starts it; the template cache lives in a temporary folder. Cold over warm is given as the
 * ratio of the medians and as the median of each cold start over the warm start right after it,
 * and where the time goes: run-pipeline's phases (its `--json` line), the process's start and
 * module loading before them and its exit after.
 *
 * Usage: deno task bench --startup [--repeat N] [--json]
 *
 * @module
 */
import { join } from "node:path";
import { parseArgs, UsageError } from "../cli/_args.ts";
import { median } from "./_bench_report.ts";
import { runTaskEnv, runTaskV8Flag } from "./_task_flags.ts";
import { runPhases } from "../kit/run_pipeline.ts";

const usage = `usage: deno task bench --startup [--repeat N] [--json]

  --repeat N   cold and warm starts measured N times each; medians are reported (default: 3)
  --json       end with one line of JSON
  --help       this text

Peak memory is read with /usr/bin/time -f %M where it is installed.`;

interface Sample {
  readonly seconds: number;
  /** Peak resident set size in MB; undefined without /usr/bin/time. */
  readonly peakMb?: number;
  /** Seconds by phase: run-pipeline's own (its `--json` line), then the process around them. */
  readonly phases: Readonly<Record<string, number>>;
}

// The process's start and module loading come before run-pipeline's first phase, its exit after
// the last (`since_start` is when it printed its summary).
const PHASES = ["start", ...runPhases, "exit"];

/**
 * One start's seconds by phase, from run-pipeline's stdout (its `--json` line last) and the wall
 * time of its process: `start` before its first phase, `exit` after it printed.
 */
export const phasesOf = (stdout: string, seconds: number): Record<string, number> => {
  const last = stdout.trimEnd().split("\n").at(-1) ?? "";
  const { phases, since_start: sinceStart } = JSON.parse(last) as {
    phases: Record<string, number>;
    since_start: number;
  };
  const ran = Object.values(phases).reduce((a, b) => a + b, 0);
  return { start: sinceStart - ran, ...phases, exit: seconds - sinceStart };
};

const timeBinary = await Deno.stat("/usr/bin/time").then(() => "/usr/bin/time", () => undefined);

// The flags and environment the run-pipeline task gives Deno (deno.json).
const denoFlags = ["run", "-A", runTaskV8Flag, "cli/run_pipeline.ts"];

const runOnce = async (store: string, cache: string, scratch: string): Promise<Sample> => {
  const rssFile = join(scratch, "rss");
  const args = [...denoFlags, "--store", store, "--json"];
  const [cmd, cmdArgs] = timeBinary
    ? [timeBinary, ["-f", "%M", "-o", rssFile, Deno.execPath(), ...args]]
    : [Deno.execPath(), args];
  const started = performance.now();
  const out = await new Deno.Command(cmd, {
    args: cmdArgs,
    env: { ...runTaskEnv, LINEAGE_KIT_CACHE_DIR: cache },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (!out.success) {
    throw new Error(`run-pipeline failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
  const phases = phasesOf(new TextDecoder().decode(out.stdout), seconds);
  if (!timeBinary) return { seconds, phases };
  const kb = Number((await Deno.readTextFile(rssFile)).trim().split("\n").at(-1));
  return { seconds, peakMb: Math.round(kb / 1024), phases };
};

// The median, and the range: on a small shared machine one start can take a third longer than
// the next.
const summary = (samples: ReadonlyArray<Sample>) => {
  const seconds = samples.map((s) => s.seconds);
  return {
    seconds: Number(median(seconds).toFixed(2)),
    seconds_range: [Math.min(...seconds), Math.max(...seconds)].map((s) => Number(s.toFixed(2))),
    ...(samples[0]?.peakMb === undefined
      ? {}
      : { peak_mb: median(samples.map((s) => s.peakMb ?? 0)) }),
    phases: Object.fromEntries(
      PHASES.map((p) => [p, Number(median(samples.map((s) => s.phases[p] ?? 0)).toFixed(3))]),
    ),
  };
};

/** Runs the startup bench; returns the exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  let repeat: number;
  let json: boolean;
  try {
    const { flags } = parseArgs(args.filter((a) => a !== "--startup"), {
      repeat: { type: "integer", min: 1 },
      json: { type: "boolean" },
      help: { type: "boolean" },
    });
    if (flags.help) {
      console.log(usage);
      return 0;
    }
    repeat = (flags.repeat as number | undefined) ?? 3;
    json = flags.json === true;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n${usage}`);
    return 2;
  }
  const scratch = await Deno.makeTempDir({ prefix: "lk-startup-" });
  try {
    const cache = join(scratch, "cache");
    const first = await runOnce(join(scratch, "first"), cache, scratch);
    const cold: Sample[] = [];
    const warm: Sample[] = [];
    for (let i = 0; i < repeat; i++) {
      const store = join(scratch, `store-${i}`);
      cold.push(await runOnce(store, cache, scratch));
      warm.push(await runOnce(store, cache, scratch));
    }
    // Each cold start over the warm one right after it, on the same store: the machine's pace
    // drifts over minutes, and a pair taken together shares it.
    const pairs = cold.map((c, i) => c.seconds / warm[i].seconds);
    const coldSummary = summary(cold);
    const warmSummary = summary(warm);
    const result = {
      first_store: summary([first]),
      cold: coldSummary,
      warm: warmSummary,
      cold_over_warm: Number((coldSummary.seconds / warmSummary.seconds).toFixed(2)),
      cold_over_warm_pairs: {
        median: Number(median(pairs).toFixed(2)),
        range: [Math.min(...pairs), Math.max(...pairs)].map((r) => Number(r.toFixed(2))),
      },
    };
    const line = (name: string, s: ReturnType<typeof summary>) =>
      `${name.padEnd(44)}${s.seconds.toFixed(2)} s (${
        s.seconds_range.map((x) => x.toFixed(2)).join("-")
      })${s.peak_mb === undefined ? "" : `   peak ${s.peak_mb} MB`}`;
    console.log(`run-pipeline on the bundled records, median of ${repeat}`);
    console.log(line("first store (empty template cache)", result.first_store));
    console.log(line("cold (new store from the template)", result.cold));
    console.log(line("warm (same store again, every job done)", result.warm));
    const { median: pairMedian, range } = result.cold_over_warm_pairs;
    console.log(
      `cold / warm: ${result.cold_over_warm} (medians); each pair: median ${pairMedian} (${
        range.map((r) => r.toFixed(2)).join("-")
      })`,
    );
    console.log(`\nwhere the time goes (medians, s)      cold    warm`);
    for (const p of PHASES) {
      const [c, w] = [result.cold.phases[p], result.warm.phases[p]];
      console.log(`  ${p.padEnd(36)}${c.toFixed(2).padStart(6)}  ${w.toFixed(2).padStart(6)}`);
    }
    if (json) console.log(JSON.stringify(result));
    return 0;
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
