/**
 * Child processes for the tests of what other processes see of a held store: a script run with
 * the kit's configuration, and a holder that takes a store and keeps it until it is killed.
 */
import { join } from "node:path";

/** `deno run -A` of `script` with the kit's deno.json (its imports), output piped. */
export const runScript = (
  script: string,
  args: ReadonlyArray<string>,
  stdin: "piped" | "null" = "null",
): Deno.Command =>
  new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../../../deno.json", import.meta.url).pathname,
      script,
      ...args,
    ],
    stdin,
    stdout: "piped",
    stderr: "inherit",
  });

/** A child process holding a store; `kill` ends it with SIGKILL, as a crash would. */
export interface HolderProcess {
  readonly pid: number;
  readonly kill: () => Promise<void>;
}

const HOW = {
  // Only the lock (store_lock.ts).
  lock: { module: "store_lock.ts", call: "holdEmbeddedStore" },
  // The store opened, as a command opens it (store.ts).
  open: { module: "store.ts", call: "openEmbeddedStore" },
} as const;

/**
 * Starts a process (its script `holder.ts` written into `scratch`) that holds the store in
 * `storeDir` the way `how` says, and resolves once it does.
 */
export const startHolder = async (
  scratch: string,
  storeDir: string,
  how: keyof typeof HOW,
): Promise<HolderProcess> => {
  const { module, call } = HOW[how];
  const script = join(scratch, "holder.ts");
  await Deno.writeTextFile(
    script,
    `import { ${call} } from ${
      JSON.stringify(new URL(`../../../adapters/store/${module}`, import.meta.url).href)
    };
    await ${call}(Deno.args[0]);
    console.log("holding");
    await new Promise((resolve) => setTimeout(resolve, 60_000));`,
  );
  const child = runScript(script, [storeDir]).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const kill = async () => {
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  };
  const said = (await reader.read()).value ?? "";
  if (!said.includes("holding")) {
    await kill().catch(() => {});
    throw new Error(`the holder did not start: ${JSON.stringify(said)}`);
  }
  return { pid: child.pid, kill };
};
