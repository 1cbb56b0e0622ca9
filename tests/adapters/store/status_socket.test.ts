import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Effect } from "effect";
import { join } from "node:path";
import { openEmbeddedStore, type Store } from "../../../adapters/store/store.ts";
import {
  askHolderForStatus,
  holderAnswerOf,
  serveStoreStatus,
  statusSocketPath,
} from "../../../adapters/store/status_socket.ts";
import { tempDir } from "../../_harness.ts";
import { runScript, startHolder } from "./_holder_process.ts";

let dir: string;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => Deno.remove(dir, { recursive: true }));

const enqueue = (store: Store, docKey: string, tenantId = "default") =>
  Effect.runPromise(store.ledger.enqueue({
    tenantId,
    request: { source: "clinicaltrials", docKey, location: { kind: "url", url: "https://x" } },
    pipeline: "auto",
    pipelineVersion: "1",
  }));

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

// Unix sockets: not on Windows, where no holder answers (statusSocketPath says so).
describe.skipIf(Deno.build.os === "windows")(
  "the process holding an embedded store answers status for it",
  () => {
    it("answers from the store it has open, per tenant, until it closes it", async () => {
      const store = await openEmbeddedStore(dir);
      const socket = statusSocketPath(dir)!;
      try {
        await enqueue(store, "NCT-1");
        await enqueue(store, "NCT-2");
        await enqueue(store, "NCT-3", "other");
        expect((await Deno.lstat(socket)).isSocket).toBe(true);
        // Only the folder's owner may ask.
        expect((await Deno.lstat(socket)).mode! & 0o777).toBe(0o600);
        const answer = await askHolderForStatus(dir, "default");
        expect(answer.kind).toBe("status");
        if (answer.kind !== "status") return;
        expect(answer.holder).toMatchObject({ pid: Deno.pid });
        expect(answer.status.tenant).toBe("default");
        expect(answer.status.jobs.queued).toBe(2);
        expect(answer.status.footprint.databaseBytes).toBeGreaterThan(0);
        const other = await askHolderForStatus(dir, "other");
        expect(other.kind === "status" && other.status.jobs.queued).toBe(1);
      } finally {
        await store.close();
      }
      expect(await exists(socket)).toBe(false);
      expect(await askHolderForStatus(dir, "default")).toEqual({ kind: "nobody" });
    });

    it("a holder killed mid-run leaves its socket to nobody: asking is refused at once, and the next holder answers on it", async () => {
      const storeDir = join(dir, "store");
      const holder = await startHolder(dir, storeDir, "open");
      try {
        // Another process's store, read by it.
        const answer = await askHolderForStatus(storeDir, "default");
        expect(answer.kind === "status" && answer.status.jobs).toMatchObject({ queued: 0 });
        // It says who it is.
        expect(answer.kind === "status" && answer.holder).toMatchObject({
          pid: holder.pid,
          command: "holder.ts",
        });
      } finally {
        await holder.kill();
      }
      expect((await Deno.lstat(statusSocketPath(storeDir)!)).isSocket).toBe(true);
      expect(await askHolderForStatus(storeDir, "default")).toEqual({ kind: "nobody" });
      const next = await openEmbeddedStore(storeDir);
      try {
        await enqueue(next, "NCT-9");
        const answer = await askHolderForStatus(storeDir, "default");
        expect(answer.kind === "status" && answer.status.jobs.queued).toBe(1);
      } finally {
        await next.close();
      }
    });

    it("an asker that connects and says nothing does not hold up the holder's close", async () => {
      const store = await openEmbeddedStore(dir);
      const silent = await Deno.connect({ transport: "unix", path: statusSocketPath(dir)! });
      try {
        await store.close();
        expect(await exists(statusSocketPath(dir)!)).toBe(false);
        // Cut off by the close: the asker reads the end of the connection.
        expect(await silent.read(new Uint8Array(16))).toBeNull();
      } finally {
        silent.close();
      }
    });

    it("a holder that does not answer in time is reported as such", async () => {
      const path = statusSocketPath(dir)!;
      const listener = Deno.listen({ transport: "unix", path });
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const conn of listener) held.push(conn);
      })();
      try {
        expect(await askHolderForStatus(dir, "default", 100)).toEqual({
          kind: "failed",
          message: "it did not answer within 0.1 s",
        });
      } finally {
        listener.close();
        await accepting.catch(() => {});
        for (const conn of held) conn.close();
      }
    });

    it("a store folder whose socket path would be too long has no holder to ask", () => {
      expect(statusSocketPath(join(dir, "x".repeat(120)))).toBeUndefined();
    });
  },
);

/**
 * A store whose every statement waits for `release`, reporting that it was called: an endpoint
 * over it answers (all zeros) only when the test lets it.
 */
const gatedStore = () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let asked!: () => void;
  const reading = new Promise<void>((resolve) => asked = resolve);
  const store = {
    client: {
      dialect: "postgres",
      query: async (sql: string) => {
        asked();
        await released;
        // No jobs listed; every count 0.
        return sql.startsWith("select * from lk_jobs") ? [] : [{ n: 0, pending: 0, delivered: 0 }];
      },
    },
  } as unknown as Store;
  return { store, reading, release };
};

const holder = { pid: Deno.pid, command: "test", since: new Date().toISOString() };

describe.skipIf(Deno.build.os === "windows")("serveStoreStatus()", () => {
  it("answers an asker whose status is being read when the endpoint closes, then closes", async () => {
    const { store, reading, release } = gatedStore();
    const endpoint = (await serveStoreStatus(store, dir, holder))!;
    const answer = askHolderForStatus(dir, "default");
    await reading;
    const closing = endpoint.close();
    release();
    await closing;
    expect(await answer).toMatchObject({ kind: "status", holder });
    expect(await exists(endpoint.path)).toBe(false);
  });

  it("cuts off an asker that says nothing within its deadline", async () => {
    const { store } = gatedStore();
    const endpoint = (await serveStoreStatus(store, dir, holder, { answerDeadlineMs: 50 }))!;
    const silent = await Deno.connect({ transport: "unix", path: endpoint.path });
    try {
      expect(await silent.read(new Uint8Array(16))).toBeNull();
    } finally {
      silent.close();
      await endpoint.close();
    }
  });

  it("lets a process end while an asker is connected", async () => {
    // The endpoint waits for a line on stdin (so the test can connect first), then the script ends.
    const script = join(dir, "server.ts");
    await Deno.writeTextFile(
      script,
      `import { serveStoreStatus } from ${
        JSON.stringify(new URL("../../../adapters/store/status_socket.ts", import.meta.url).href)
      };
      const holder = { pid: Deno.pid, command: "server.ts", since: new Date().toISOString() };
      // A deadline longer than the test: only the connection's not counting can let it end.
      const options = { answerDeadlineMs: 600_000 };
      if (!await serveStoreStatus({}, Deno.args[0], holder, options)) throw new Error("no endpoint");
      console.log("serving");
      await Deno.stdin.read(new Uint8Array(8));`,
    );
    const child = runScript(script, [dir], "piped").spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toContain("serving");
    const silent = await Deno.connect({ transport: "unix", path: statusSocketPath(dir)! });
    try {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
      expect((await child.status).code).toBe(0);
    } finally {
      silent.close();
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
    }
  });

  it("leaves alone a file in the socket's place that is not a socket", async () => {
    const path = statusSocketPath(dir)!;
    await Deno.writeTextFile(path, "mine");
    expect(await serveStoreStatus(gatedStore().store, dir, holder)).toBeUndefined();
    expect(await Deno.readTextFile(path)).toBe("mine");
  });
});

describe("holderAnswerOf()", () => {
  it("takes a connection closed before any answer (the holder was closing) as nobody's", () => {
    expect(holderAnswerOf("")).toEqual({ kind: "nobody" });
  });

  it("names what is wrong with an answer that is not a status", () => {
    expect(holderAnswerOf("<html>")).toEqual({
      kind: "failed",
      message: "it answered something that is not JSON",
    });
    expect(holderAnswerOf(JSON.stringify({ error: "relation lk_jobs does not exist" }))).toEqual({
      kind: "failed",
      message: "it could not read the store: relation lk_jobs does not exist",
    });
    const answer = holderAnswerOf(JSON.stringify({
      status: {
        tenant: "default",
        jobs: { queued: -1, running: 0, paused: 0, succeeded: 0, failed: 0, cancelled: 0 },
      },
    }));
    expect(answer.kind).toBe("failed");
    expect(answer.kind === "failed" && answer.message).toMatch(
      /^its answer is not a status: status\.jobs\.queued: /,
    );
  });
});
