/**
 * `deno task lineage config` (also `deno task lineage --print-config`): prints the lineage
 * configuration as every command resolves it (`--lineage`, `OPENLINEAGE_*` variables,
 * `openlineage.yml`), each value with where it came from (`file:line:column`, variable, flag or
 * default), secrets masked, then what takes effect and which settings lost to others.
 *
 * Exit status: 0; 2 for usage or configuration errors (each printed at its place).
 *
 * @module
 */
import { Effect } from "effect";
import { printConfig, resolveLineageConfig, type ResolveOptions } from "../lineage/config.ts";
import { type FlagSpec, parseArgs, UsageError } from "./_args.ts";

const USAGE = `usage: deno task lineage config [options]
       deno task lineage --print-config [options]

  --lineage DIR|URL    resolve as a command given this --lineage would
  --json               print the settings as JSON instead
  --help               this text`;

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  lineage: { type: "string" },
  json: { type: "boolean" },
  "print-config": { type: "boolean" },
  help: { type: "boolean" },
};

/**
 * Runs the command; returns its exit status. `resolve` replaces the environment and working
 * directory the configuration is read from (tests).
 *
 * @category constructors
 */
export const main = async (
  args: ReadonlyArray<string>,
  resolve: Omit<ResolveOptions, "flag"> = { env: Deno.env, cwd: Deno.cwd() },
): Promise<number> => {
  let flags;
  try {
    ({ flags } = parseArgs(args, flagSpecs));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`lineage config: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const config = await Effect.runPromise(Effect.result(resolveLineageConfig({
    ...resolve,
    ...(flags.lineage === undefined ? {} : { flag: flags.lineage as string }),
  })));
  if (config._tag === "Failure") {
    for (const p of config.failure.problems) console.error(`${p.where}: ${p.message}`);
    return 2;
  }
  const c = config.success;
  console.log(
    flags.json
      ? JSON.stringify({ settings: c.settings, origin: c.origin, notices: c.notices })
      : printConfig(c),
  );
  return 0;
};
