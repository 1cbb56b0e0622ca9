import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { join } from "node:path";
import { holdEmbeddedStore, StoreBusy } from "../../../adapters/store/store_lock.ts";
import { openEmbeddedStore } from "../../../adapters/store/store.ts";
import { tempDir } from "../../_harness.ts";
import { startHolder } from "./_holder_process.ts";

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => Deno.remove(dir, { recursive: true }));

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
    const store = join(dir, "store");
    const holder = await startHolder(dir, store, "lock");
    const refused = await holdEmbeddedStore(store).catch((e) => e);
    expect(refused).toBeInstanceOf(StoreBusy);
    expect(refused.message).toMatch(
      new RegExp(`^the store is open in another process \\(pid ${holder.pid}, holder\\.ts, since `),
    );
    await holder.kill();
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
