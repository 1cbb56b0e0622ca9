/**
 * Shared test helpers: temporary directories (removed after each test file), running a CLI
 * entry point in-process with its output captured, and reading JSONL files.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const repoRoot: string = fileURLToPath(new URL("..", import.meta.url));

/**
 * Recorded real responses, tool outputs and official schemas the tests read (see
 * `tests/fixtures/PROVENANCE.md`); `specs/` and `openlineage-events/` live below it too.
 */
export const fixturesDir: string = resolve(repoRoot, "tests/fixtures");

// Every directory tempDir made, until removeTempDirs (tests/_setup.ts, after each test file).
const made: string[] = [];

/** A fresh temporary directory, removed after the test file that made it. */
export const tempDir = async (prefix = "lk-test-"): Promise<string> => {
  const dir = await Deno.makeTempDir({ prefix });
  made.push(dir);
  return dir;
};

/**
 * Removes the directories tempDir made (those a test removed itself are skipped). One that
 * cannot be removed is reported and left: cleaning up never fails the tests that ran.
 */
export const removeTempDirs = async (): Promise<void> => {
  for (const dir of made.splice(0)) {
    await Deno.remove(dir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) console.warn(`could not remove ${dir}: ${e}`);
    });
  }
};

/** What a CLI run printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a CLI `main` in-process, capturing console output. */
export const runCli = async (
  main: (args: ReadonlyArray<string>) => Promise<number>,
  args: ReadonlyArray<string>,
): Promise<CliResult> => {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.map(String).join(" "));
  console.error = (...a: unknown[]) => err.push(a.map(String).join(" "));
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
};

/** Parses a JSONL file into its objects. */
export const readJsonl = async (path: string): Promise<Array<Record<string, unknown>>> =>
  (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "").map((l) =>
    JSON.parse(l)
  );

/** The JSON object on the last line of a `--json` run's stdout. */
export const lastJsonLine = (stdout: string): Record<string, unknown> => {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
};
