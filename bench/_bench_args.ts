/**
 * The bench's command line: its options, `--help`, and a usage message with exit status 2 for
 * anything else, as every command of the kit answers.
 *
 * @module
 */
import { parseArgs, UsageError } from "../cli/_args.ts";

/** The bench's usage text. */
export const benchUsage = `usage: deno task bench [--docs N] [--concurrency N] [--repeat N]

  --docs N         synthetic documents per run (default: 300)
  --concurrency N  jobs in flight at once (default: 8)
  --repeat N       measured runs of each side; the median is reported (default: 3)
  --help           this text`;

/** The bench's options. */
export interface BenchOptions {
  readonly docs: number;
  readonly concurrency: number;
  readonly repeat: number;
}

/**
 * Reads the bench's options, or the exit status to end with: 0 after printing the usage for
 * `--help`, 2 after printing the problem and the usage for a bad option.
 */
export const benchOptionsFrom = (args: ReadonlyArray<string>): BenchOptions | number => {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(benchUsage);
    return 0;
  }
  try {
    const { flags, positional } = parseArgs(args, {
      docs: { type: "integer", min: 1 },
      concurrency: { type: "integer", min: 1 },
      repeat: { type: "integer", min: 1 },
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
    return {
      docs: (flags.docs as number | undefined) ?? 300,
      concurrency: (flags.concurrency as number | undefined) ?? 8,
      repeat: (flags.repeat as number | undefined) ?? 3,
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n${benchUsage}`);
    return 2;
  }
};
