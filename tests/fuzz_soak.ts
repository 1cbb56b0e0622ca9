/**
 * `deno task fuzz [--runs N] [--files N] [--seed N] [--store DIR|URL]`: the longer soak of the
 * hostile-input property (`tests/cli/poison_input.test.ts`). Each run writes a batch of hostile
 * and valid record files and runs `run-pipeline` over them in-process, into one store (a fresh
 * embedded one by default; `--store postgres://…` soaks a PostgreSQL server), and checks every
 * document's outcome (see `tests/_poison_check.ts`). Prints what each failing run got wrong and the
 * seed that replays it; exits 1 when any run misbehaved.
 */
import * as fc from "fast-check";
import { parseArgs, UsageError } from "../cli/_args.ts";
import { mutationNames, recordBatch } from "./_hostile_records.ts";
import { checkRun } from "./_poison_check.ts";
import { tempDir } from "./_harness.ts";

const usage = `usage: deno task fuzz [--runs N] [--files N] [--seed N] [--store DIR|URL]

  --runs N         batches to run (default: 25)
  --files N        record files per batch, at most (default: 12)
  --seed N         fast-check seed, to replay a run (default: random)
  --store DIR|URL  the store to run into (default: a fresh embedded store, removed afterwards)`;

const optionsFrom = (args: ReadonlyArray<string>) => {
  const { flags, positional } = parseArgs(args, {
    runs: { type: "integer", min: 1 },
    files: { type: "integer", min: 2 },
    seed: { type: "integer" },
    store: { type: "string" },
  });
  if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
  return {
    runs: (flags.runs as number | undefined) ?? 25,
    files: (flags.files as number | undefined) ?? 12,
    seed: (flags.seed as number | undefined) ?? Math.floor(Math.random() * 2 ** 31),
    store: flags.store as string | undefined,
  };
};

const main = async (args: ReadonlyArray<string>): Promise<number> => {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    return 0;
  }
  let options;
  try {
    options = optionsFrom(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`fuzz: ${e.message}\n${usage}`);
    return 2;
  }
  const store = options.store ?? await tempDir("lk-fuzz-store-");
  const batches = fc.sample(recordBatch(options.files), {
    numRuns: options.runs,
    seed: options.seed,
  });
  const counts = new Map<string, number>(mutationNames.map((name) => [name, 0]));
  let valid = 0;
  let failedRuns = 0;
  try {
    for (const [i, files] of batches.entries()) {
      for (const file of files) {
        if (file.expect.kind === "valid") valid += 1;
        else counts.set(file.expect.mutation, (counts.get(file.expect.mutation) ?? 0) + 1);
      }
      const problems = await checkRun(store, files);
      if (problems.length > 0) {
        failedRuns += 1;
        console.log(`run ${i + 1}: ${problems.length} problem(s)`);
        for (const p of problems) console.log(`  ${p}`);
      }
    }
  } finally {
    if (options.store === undefined) await Deno.remove(store, { recursive: true });
  }
  const hostile = [...counts].map(([name, n]) => `${n} ${name}`).join(", ");
  console.log(
    `\n${batches.length} runs (seed ${options.seed}): ${valid} valid files, hostile: ${hostile}; ` +
      `${failedRuns} run(s) misbehaved`,
  );
  return failedRuns > 0 ? 1 : 0;
};

if (import.meta.main) Deno.exit(await main(Deno.args));
