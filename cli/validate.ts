/**
 * `deno task validate [FILES…] [--json]`: checks pipeline and policy files and prints every
 * problem as `file:line:column: message`. Without files it checks the shipped configuration.
 * Exits 0 when everything is valid, 1 when there are problems, 2 on a usage error.
 *
 * @module
 */
import { Result } from "effect";
import type { Config } from "../pipelines/loader.ts";
import { loadKit } from "../kit/load_kit.ts";
import { SetupError } from "../kit/setup_error.ts";
import { formatProblem, type Problem, sortProblems } from "../policies/problem.ts";
import { explainConfig } from "../policies/explain.ts";
import { parseArgs, UsageError } from "./_args.ts";

/** What the command line asks for. */
export type ValidateCommand =
  | {
    readonly _tag: "Validate";
    readonly files: ReadonlyArray<string>;
    readonly json: boolean;
    readonly explain: boolean;
    readonly config?: string;
  }
  | { readonly _tag: "Help" }
  | { readonly _tag: "UsageError"; readonly message: string };

/** The usage text. */
export const usage: string = `usage: deno task validate [FILES…] [--json] [--explain]

Checks pipeline files (pipelines/*.yaml) and policy files (a top-level "policies:" key), and
the project file (./lineage-kit.yaml, or --config FILE) with its plugins. Without FILES, checks
the shipped pipelines and policies/resilience.yaml. Pipeline files are checked against the
shipped policies unless a policy file is given too.

  --config FILE  the project file (default: ./lineage-kit.yaml when present)
  --json     print the result as JSON on stdout
  --explain  also print each stage's attempts, delays, jitter, timeout, breaker and rate limit
  --help     print this help`;

/** Parses the arguments; an unknown flag is a usage error. */
export const parseCommand = (args: ReadonlyArray<string>): ValidateCommand => {
  try {
    const { flags, positional } = parseArgs(args, {
      json: { type: "boolean" },
      explain: { type: "boolean" },
      help: { type: "boolean" },
      config: { type: "string" },
    });
    // The shared parser only knows long flags; a short one here is a typo, not a file name.
    const short = positional.find((arg) => arg.startsWith("-"));
    if (short !== undefined) throw new UsageError(`unknown option ${short}`);
    return flags.help === true ? { _tag: "Help" } : {
      _tag: "Validate",
      files: positional,
      json: flags.json === true,
      explain: flags.explain === true,
      ...(typeof flags.config === "string" ? { config: flags.config } : {}),
    };
  } catch (error) {
    if (error instanceof UsageError) return { _tag: "UsageError", message: error.message };
    throw error;
  }
};

/** The one-line summary of a valid configuration. */
export const summary = (config: Config): string => {
  const pipelines = config.pipelines.map((p) => p.name);
  const stages = config.pipelines.reduce((n, p) => n + p.stages.length, 0);
  const policies = [...config.policies.keys()];
  return `OK: ${plural(pipelines.length, "pipeline")} (${pipelines.join(", ")}), ` +
    `${plural(stages, "stage")}, ${plural(policies.length, "policy", "policies")} ` +
    `(${policies.join(", ")})`;
};

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

const jsonReport = (outcome: Result.Result<Config, ReadonlyArray<Problem>>): string =>
  JSON.stringify(
    Result.isSuccess(outcome)
      ? {
        ok: true,
        pipelines: outcome.success.pipelines.map((p) => p.name),
        stages: outcome.success.pipelines.reduce((n, p) => n + p.stages.length, 0),
        policies: [...outcome.success.policies.keys()],
        ...(outcome.success.warnings.length === 0 ? {} : {
          warnings: outcome.success.warnings.map((w) => formatProblem(w)),
        }),
      }
      : { ok: false, problems: outcome.failure },
    null,
    2,
  );

/** Runs the command and returns its exit code. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  const command = parseCommand(args);
  if (command._tag === "Help") {
    console.log(usage);
    return 0;
  }
  if (command._tag === "UsageError") {
    console.error(`validate: ${command.message}\n\n${usage}`);
    return 2;
  }
  let outcome: Result.Result<Config, ReadonlyArray<Problem>>;
  try {
    const kit = await loadKit({
      ...(command.config === undefined ? {} : { config: command.config }),
      ...(command.files.length === 0 ? {} : { files: command.files }),
    });
    outcome = Result.succeed(kit.config);
  } catch (e) {
    if (!(e instanceof SetupError) || e.problems.length === 0) throw e;
    // Problems follow the order the files were named in.
    outcome = Result.fail(sortProblems(e.problems, command.files));
  }
  if (command.json) console.log(jsonReport(outcome));
  else if (Result.isSuccess(outcome)) {
    for (const w of outcome.success.warnings) {
      console.error(formatProblem({ ...w, message: `warning: ${w.message}` }));
    }
    console.log(summary(outcome.success));
    if (command.explain) console.log(`\n${explainConfig(outcome.success)}`);
  } else {
    for (const problem of outcome.failure) console.error(formatProblem(problem));
  }
  return Result.isSuccess(outcome) ? 0 : 1;
};

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
