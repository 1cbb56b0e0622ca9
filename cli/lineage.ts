/**
 * `deno task lineage <command>`: work with the lineage a store holds. Each command lives in its
 * own file, `cli/lineage_<command>.ts`, exporting `main(args)`; this entry point dispatches.
 *
 * Exit status: the command's; 2 for an unknown command.
 *
 * @module
 */
import { main as flush } from "./lineage_flush.ts";
import { main as graph } from "./lineage_graph.ts";
import { main as runs } from "./lineage_runs.ts";
import { main as show } from "./lineage_show.ts";
import { main as config } from "./lineage_config.ts";
import { main as prune } from "./lineage_prune.ts";

/** A `lineage` command. */
export interface LineageCommand {
  /** One line for the usage text. */
  readonly summary: string;
  readonly main: (args: ReadonlyArray<string>) => Promise<number>;
}

/** The commands, by name. */
export const commands: Readonly<Record<string, LineageCommand>> = {
  flush: { summary: "deliver pending lineage events to the configured sinks", main: flush },
  runs: { summary: "pipeline runs, newest first: status, duration, stages, attempts", main: runs },
  show: { summary: "one run's stage attempts in order, with retries and errors", main: show },
  graph: {
    summary: "jobs and datasets as Mermaid, DOT, JSON or a self-contained HTML page",
    main: graph,
  },
  config: {
    summary: "the lineage configuration and where each value came from (--print-config)",
    main: config,
  },
  prune: {
    summary: "delete delivered events older than the outbox retention (never pending ones)",
    main: prune,
  },
};

const usage = (): string =>
  [
    "usage: deno task lineage <command> [options]",
    "",
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`),
    "",
    "`deno task lineage <command> --help` describes a command;",
    "`deno task lineage --print-config` is `deno task lineage config`.",
  ].join("\n");

/** Runs the command named by the first argument; returns its exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  // `--print-config` anywhere asks for the configuration, whatever else is given.
  if (args.includes("--print-config")) {
    return await config(args[0] === "config" ? args.slice(1) : args);
  }
  const [name, ...rest] = args;
  if (name === "--help" || name === "help") {
    console.log(usage());
    return 0;
  }
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    const what = name === undefined ? "a command is required" : `unknown command "${name}"`;
    console.error(`lineage: ${what} (known: ${Object.keys(commands).join(", ")})\n\n${usage()}`);
    return 2;
  }
  return await command.main(rest);
};

if (import.meta.main) Deno.exit(await main(Deno.args));
