import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import { main as runPipeline } from "../../cli/run_pipeline.ts";
import { main as status } from "../../cli/status.ts";
import { main as search } from "../../cli/search.ts";
import { main as sensor } from "../../cli/sensor.ts";
import { main as mineruBridge } from "../../cli/mineru_bridge.ts";
import { main as resume } from "../../cli/resume.ts";
import { main as lineage } from "../../cli/lineage.ts";
import { runCli } from "../_harness.ts";
import { openEmbeddedStore } from "../../adapters/store/store.ts";
import { holdEmbeddedStore } from "../../adapters/store/store_lock.ts";
import { statusSocketPath } from "../../adapters/store/status_socket.ts";

// Nothing listens on port 1: the connection is refused at once.
const UNREACHABLE = "postgres://kit:s3cret-pw@127.0.0.1:1/lineage";
const SHOWN = "postgres://kit:***@127.0.0.1:1/lineage";

const commands: ReadonlyArray<
  readonly [string, (args: ReadonlyArray<string>) => Promise<number>, ReadonlyArray<string>]
> = [
  ["run-pipeline", runPipeline, []],
  ["status", status, []],
  ["search", search, ["aspirin"]],
  ["sensor", sensor, ["--once"]],
  ["mineru-bridge", mineruBridge, ["--once", "--mineru-url", "http://127.0.0.1:9"]],
  ["resume", resume, ["job-1"]],
  ["lineage runs", lineage, ["runs"]],
  ["lineage show", lineage, ["show", "0123456789"]],
  ["lineage graph", lineage, ["graph"]],
  ["lineage flush", lineage, ["flush"]],
];

describe("a store server that cannot be reached", () => {
  it.each(commands)("%s says so, without the password, and exits 2", async (name, main, args) => {
    const result = await runCli(main, [...args, "--store", UNREACHABLE]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${name}: cannot open the store at ${SHOWN}: `);
    expect(result.stderr + result.stdout).not.toContain("s3cret-pw");
  });
});

// `run-pipeline` makes a store where there is none, so it tries and fails; the others only open
// one that exists.
describe("an embedded store folder that is a file", () => {
  it.each(commands)("%s names the path and exits 2", async (name, main, args) => {
    const file = await Deno.makeTempFile({ prefix: "lk-not-a-store-" });
    try {
      const result = await runCli(main, [...args, "--store", file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        name === "run-pipeline"
          ? `${name}: cannot open the store at ${file}: `
          : `${name}: no store at ${file} `,
      );
    } finally {
      await Deno.remove(file);
    }
  });
});

// Two processes over one embedded store would each run a PostgreSQL over its files. Here the
// holder is the test's own process: the message says so (store_lock.test.ts has one in another).
// `status` is answered by the holder instead (below).
describe("an embedded store that is already open", () => {
  it.each(commands.filter(([name]) => name !== "status"))(
    "%s says so and exits 2, leaving the store to its holder",
    async (name, main, args) => {
      const dir = await Deno.makeTempDir({ prefix: "lk-held-store-" });
      const held = await openEmbeddedStore(dir);
      try {
        const result = await runCli(main, [...args, "--store", dir]);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain(
          `${name}: cannot open the store at ${dir}: the store is already open in this process`,
        );
        // The holder goes on as if nothing happened.
        expect(await held.client.query("select 1 as one")).toEqual([{ one: 1 }]);
      } finally {
        await held.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});

describe.skipIf(Deno.build.os === "windows")(
  "status on an embedded store that is already open",
  () => {
    it("is answered by the holder, which goes on, and says so", async () => {
      const dir = await Deno.makeTempDir({ prefix: "lk-held-store-" });
      const held = await openEmbeddedStore(dir);
      try {
        await Effect.runPromise(held.ledger.enqueue({
          tenantId: "default",
          request: {
            source: "clinicaltrials",
            docKey: "NCT-1",
            location: { kind: "url", url: "https://x" },
          },
          pipeline: "auto",
          pipelineVersion: "1",
        }));
        const text = await runCli(status, ["--store", dir]);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain(
          `store: ${dir} (open in another process: pid ${Deno.pid}, `,
        );
        expect(text.stdout).toMatch(/; read by it\)\n/);
        expect(text.stdout).toMatch(/queued +1\n/);
        const json = JSON.parse((await runCli(status, ["--store", dir, "--json"])).stdout);
        expect(json.jobs.queued).toBe(1);
        expect(json.servedBy).toMatchObject({ pid: Deno.pid });
        expect(await held.client.query("select 1 as one")).toEqual([{ one: 1 }]);
      } finally {
        await held.close();
      }
      try {
        // Closed: status opens the store itself.
        const text = await runCli(status, ["--store", dir]);
        expect(text.code).toBe(0);
        expect(text.stdout).toContain(`store: ${dir}\ntenant: default`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    it("exits 2 as the other commands do where its holder answers nobody (a holder without the socket)", async () => {
      const dir = await Deno.makeTempDir({ prefix: "lk-held-store-" });
      try {
        await (await openEmbeddedStore(dir)).close();
        const hold = await holdEmbeddedStore(dir);
        try {
          const result = await runCli(status, ["--store", dir]);
          expect(result.code).toBe(2);
          expect(result.stderr).toContain(
            `status: cannot open the store at ${dir}: the store is already open in this process`,
          );
        } finally {
          hold.release();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });

    it("exits 2 saying what went wrong where its holder answers without a status", async () => {
      const dir = await Deno.makeTempDir({ prefix: "lk-held-store-" });
      const listener = Deno.listen({ transport: "unix", path: statusSocketPath(dir)! });
      const answering = (async () => {
        for await (const conn of listener) {
          await conn.read(new Uint8Array(1024));
          await conn.write(new TextEncoder().encode(`{"error":"disk I/O error"}\n`));
          conn.close();
        }
      })();
      try {
        const result = await runCli(status, ["--store", dir]);
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(
          `status: cannot read the store at ${dir}: the process holding it (holder unknown) was ` +
            "asked instead: it could not read the store: disk I/O error",
        );
      } finally {
        listener.close();
        await answering.catch(() => {});
        await Deno.remove(dir, { recursive: true });
      }
    });
  },
);
