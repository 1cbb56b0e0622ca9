import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { setupServer } from "msw/node";
import { main } from "../../cli/lineage.ts";
import { openEmbeddedStore } from "../../adapters/store/store.ts";
import { insertOutbox } from "../../adapters/store/sql_outbox.ts";
import { makeFakeMarquez, MARQUEZ } from "../_fakes/marquez.ts";
import { readJsonl, runCli, tempDir } from "../_harness.ts";

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const seededStore = async (): Promise<string> => {
  const dir = await tempDir();
  const store = await openEmbeddedStore(dir);
  await insertOutbox(store.client, "job-1", [
    { channel: "openlineage", runId: "r1", payload: { eventType: "START", n: 1 } },
    { channel: "cloudevents", runId: "r1", payload: { id: "ce-1" } },
    { channel: "openlineage", runId: "r1", payload: { eventType: "COMPLETE", n: 2 } },
  ]);
  await store.close();
  return dir;
};

describe("deno task lineage", () => {
  it("names its commands when none or an unknown one is given (exit 2)", async () => {
    const none = await runCli(main, []);
    expect(none.code).toBe(2);
    expect(none.stderr.split("\n")[0]).toBe(
      "lineage: a command is required (known: flush, runs, show, graph, config, prune)",
    );
    const unknown = await runCli(main, ["grapf"]);
    expect([unknown.code, unknown.stderr.split("\n")[0]]).toEqual([
      2,
      'lineage: unknown command "grapf" (known: flush, runs, show, graph, config, prune)',
    ]);
  });

  it("prune keeps what the retention keeps; closing a store opened without one prunes nothing", async () => {
    const dir = await seededStore();
    try {
      const flushed = await runCli(main, ["flush", "--store", dir, "--lineage", resolve(dir, "l")]);
      expect(flushed.code).toBe(0);
      const outboxRows = async (age?: string) => {
        const store = await openEmbeddedStore(dir);
        try {
          if (age) {
            // Dated delivered, or passed by every cursor (see markDelivered in sql_outbox.ts).
            await store.client.exec(
              `update lk_outbox set delivered_at = now() - interval '${age}'
                 where delivered_at is not null;
               update lk_outbox_delivered_through set at = now() - interval '${age}';`,
            );
          }
          return (await store.client.query("select 1 from lk_outbox")).length;
        } finally {
          await store.close();
        }
      };
      // Delivered 30 days ago, past the 7-day default: a store opened by a viewer (no retention
      // of the project's) leaves them to `prune` and to the commands that run jobs.
      expect(await outboxRows("30 days")).toBe(3);
      expect(await outboxRows()).toBe(3);
      const kept = await runCli(main, [
        "prune",
        "--store",
        dir,
        "--older-than-days",
        "40",
        "--json",
      ]);
      expect([kept.code, kept.stdout.trim()]).toEqual([0, '{"pruned":0}']);
      const pruned = await runCli(main, [
        "prune",
        "--store",
        dir,
        "--older-than-days",
        "10",
        "--json",
      ]);
      expect([pruned.code, pruned.stdout.trim()]).toEqual([0, '{"pruned":3}']);
      const tooLong = await runCli(main, ["prune", "--store", dir, "--older-than-days", "36501"]);
      expect([tooLong.code, tooLong.stderr.split("\n")[0]]).toEqual([
        2,
        'lineage prune: --older-than-days: expected an integer >= 0 and <= 36500, got "36501"',
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("flush delivers what is pending to a --lineage directory and prints per-sink counts (exit 0)", async () => {
    const dir = await seededStore();
    try {
      const out = resolve(dir, "elsewhere");
      const first = await runCli(main, ["flush", "--store", dir, "--lineage", out, "--json"]);
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout.split("\n").pop()!)).toEqual({
        sinks: [
          {
            sink: `jsonl:openlineage:${out}/openlineage.jsonl`,
            delivered: 2,
            pending: 0,
            deadLettered: 0,
          },
          {
            sink: `jsonl:cloudevents:${out}/cloudevents.jsonl`,
            delivered: 1,
            pending: 0,
            deadLettered: 0,
          },
        ],
      });
      expect(await readJsonl(resolve(out, "openlineage.jsonl"))).toEqual([
        { eventType: "START", n: 1 },
        { eventType: "COMPLETE", n: 2 },
      ]);
      const again = await runCli(main, ["flush", "--store", dir, "--lineage", out]);
      expect(again.code).toBe(0);
      expect(await readJsonl(resolve(out, "openlineage.jsonl"))).toHaveLength(2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("flush exits 1 when a sink could not take everything by --max-wait", async () => {
    const dir = await seededStore();
    const fake = makeFakeMarquez();
    fake.mode = "down";
    server.use(fake.handler);
    try {
      const r = await runCli(main, [
        "flush",
        "--store",
        dir,
        "--lineage",
        MARQUEZ,
        "--max-wait",
        "1",
      ]);
      expect(r.code).toBe(1);
      // The CloudEvents go to their JSONL default beside the store meanwhile.
      const rows = r.stdout.split("\n").map((l) => l.trim().split(/\s{2,}/));
      expect(rows).toContainEqual([
        `http:${MARQUEZ}/api/v1/lineage`,
        "0",
        "2",
        "0",
        expect.any(String),
      ]);
      expect(rows).toContainEqual([
        `jsonl:cloudevents:${dir}/lineage/cloudevents.jsonl`,
        "1",
        "0",
        "0",
      ]);
      expect(r.stdout).toContain("not finished within 1000 ms");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("flush refuses a missing store and a bad --lineage (exit 2)", async () => {
    const dir = await tempDir();
    try {
      const missing = await runCli(main, ["flush", "--store", resolve(dir, "nope")]);
      expect([missing.code, missing.stderr]).toEqual([
        2,
        `lineage flush: no store at ${resolve(dir, "nope")} (run \`deno task run-pipeline\` first)`,
      ]);
      const bad = await runCli(main, ["flush", "--store", dir, "--lineage", "ftp://x/y"]);
      expect([bad.code, bad.stderr]).toEqual([
        2,
        '--lineage: unsupported scheme "ftp://"; expected a directory, an http(s):// URL ' +
        "(Marquez) or kafka://host:port/topic",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
