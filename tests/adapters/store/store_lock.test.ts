import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { holdEmbeddedStore, StoreBusy } from "../../../adapters/store/store_lock.ts";
import { openEmbeddedStore } from "../../../adapters/store/store.ts";
import { tempDir } from "../../_harness.ts";

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => Deno.remove(dir, { recursive: true }));

// A process that holds the store in `dir` and says so, then waits to be killed.
const holderScript = (storeLock: string) => `
  import { holdEmbeddedStore } from ${JSON.stringify(new URL(storeLock).href)};
  await holdEmbeddedStore(Deno.args[0]);
  console.log("holding");
  await new Promise((resolve) => setTimeout(resolve, 60_000));
`;

describe("holdEmbeddedStore()", () => {
  it("lets one holder in at a time, and says so to the next", async () => {
    const held = await holdEmbeddedStore(dir);
    const refused = await holdEmbeddedStore(dir).catch((e) => e);
    expect(refused).toBeInstanceOf(StoreBusy);
    expect(refused.message).toMatch(/^the store is already open in this process \(since .+\)/);
    held.release();
    // Released: the next one gets it.
    (await holdEmbeddedStore(dir)).release();
  });

  it("names a holder in another process, and is free again once that one is killed", async () => {
    const script = join(dir, "holder.ts");
    await Deno.writeTextFile(
      script,
      holderScript(new URL("../../../adapters/store/store_lock.ts", import.meta.url).href),
    );
    const store = join(dir, "store");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, store],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toContain("holding");
    const refused = await holdEmbeddedStore(store).catch((e) => e);
    expect(refused).toBeInstanceOf(StoreBusy);
    expect(refused.message).toMatch(
      new RegExp(`^the store is open in another process \\(pid ${child.pid}, holder\\.ts, since `),
    );
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    (await holdEmbeddedStore(store)).release();
  });
});

describe("openEmbeddedStore() and a store that is open already", () => {
  it("refuses to open it, and opens it once the other closed it", async () => {
    const first = await openEmbeddedStore(dir);
    await expect(openEmbeddedStore(dir)).rejects.toBeInstanceOf(StoreBusy);
    await first.close();
    await (await openEmbeddedStore(dir)).close();
  });
});
