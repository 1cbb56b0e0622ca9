/**
 * Stage transitions handed in together are committed together, and each still answers for itself:
 * a write the database refuses for its data fails alone, a write of a run that lost its job is
 * refused alone, and two writes of one job in the same batch both apply, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect, Exit } from "effect";
import type { Store } from "../../../adapters/store/store.ts";
import { backends } from "../../_stores.ts";
import { firstRun } from "./_claims.ts";
import type { OutboxEvent } from "../../../lineage/outbox.ts";
import type { PdfReceipt } from "../../../stages/ir.ts";

const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e);
const keptAsWritten = { text: "nul\u0000here", lone: "\ud800", n: 0.1 + 0.2, big: 2 ** 60 };
const receipt: PdfReceipt = {
  docId: "doc:1",
  uri: "https://example.org/a.pdf",
  path: "/pdfs/a.pdf",
  sha256: "0".repeat(64),
  bytes: 1,
  contentType: "application/pdf",
};
const event = (runId: string, n: number): OutboxEvent => ({
  channel: "openlineage",
  runId,
  payload: { n },
});

describe.each(backends)("SqlJobLedger.recordStage() in a group commit on $name", (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(() => store.close());

  const runningJob = async (docKey: string) => {
    const { job } = await run(store.ledger.enqueue({
      tenantId: "batch",
      request: {
        source: "clinicaltrials",
        docKey,
        location: { kind: "file", file: "x", pointer: "" },
      },
      pipeline: "auto",
      pipelineVersion: "1",
    }));
    const begun = await run(store.ledger.beginRun(firstRun(job.jobId), []));
    expect(begun).toBe(true);
    return job.jobId;
  };

  it("fails only the refused write, refuses only the stale run, applies the rest", async () => {
    const jobs = await Promise.all(["B1", "B2", "B3", "B4"].map(runningJob));
    const [ok, poisoned, twice, stale] = jobs;
    const writes = await Promise.all([
      Effect.runPromiseExit(store.ledger.recordStage(ok, 1, {
        kind: "succeeded",
        stage: "parse",
        attempt: 1,
        output: keptAsWritten,
      }, [event("r-ok", 1)])),
      // The receipt of a downloaded PDF is a jsonb column: a NUL in it is refused.
      Effect.runPromiseExit(store.ledger.recordStage(poisoned, 1, {
        kind: "succeeded",
        stage: "parse",
        attempt: 1,
        output: { fine: true },
        effects: { pdf: { ...receipt, uri: "https://example.org/nul\u0000here" } },
      }, [event("r-poisoned", 1)])),
      Effect.runPromiseExit(
        store.ledger.recordStage(twice, 1, { kind: "started", stage: "a", attempt: 1 }, [
          event("r-twice", 1),
        ]),
      ),
      Effect.runPromiseExit(
        store.ledger.recordStage(twice, 1, { kind: "started", stage: "b", attempt: 1 }, [
          event("r-twice", 2),
        ]),
      ),
      Effect.runPromiseExit(
        store.ledger.recordStage(stale, 2, { kind: "started", stage: "a", attempt: 1 }, [
          event("r-stale", 1),
        ]),
      ),
    ]);
    expect(writes.map((w) => Exit.isSuccess(w) ? w.value : "failed")).toEqual([
      true,
      "failed",
      true,
      true,
      false,
    ]);
    const refused = writes[1];
    expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toMatch(/dataFault/);
    // A checkpoint is kept as the stage wrote it, even what jsonb could not hold.
    expect(await run(store.ledger.checkpoints(ok))).toEqual(new Map([["parse", keptAsWritten]]));
    expect((await run(store.ledger.checkpoints(poisoned))).size).toBe(0);
    const both = await run(store.ledger.get(twice));
    expect(both).toMatchObject({ currentStage: "b", attempts: { a: 1, b: 1 } });
    expect((await run(store.ledger.get(stale)))?.attempts).toEqual({});
    const events = await run(store.outbox.pending("test-sink", 100));
    expect(events.map((e) => [e.runId, (e.payload as { n: number }).n])).toEqual([
      ["r-ok", 1],
      ["r-twice", 1],
      ["r-twice", 2],
    ]);
  });

  it("keeps every event and checkpoint of a batch byte for byte as JSON.stringify wrote it", async () => {
    // Quotes, backslashes, escapes JSON.stringify writes (NUL, a lone surrogate) and characters
    // it leaves as they are (U+2028, astral), in texts of every size.
    const hostile = (n: number) => ({
      quote: `"${"\\".repeat(n)}"`,
      escaped: "nul\u0000 lone\ud800 tab\t",
      raw: "line\u2028sep \u{1F9EC} é",
      n: 0.1 + 0.2,
      pad: "x".repeat(n * 500),
    });
    const jobs = await Promise.all(["K1", "K2", "K3"].map(runningJob));
    await Promise.all(jobs.map((jobId, j) =>
      run(store.ledger.recordStage(jobId, 1, {
        kind: "succeeded",
        stage: "parse",
        attempt: 1,
        output: hostile(j),
      }, [{ channel: "openlineage", runId: `r-${jobId}`, payload: hostile(j + 3) }]))
    ));
    for (const [j, jobId] of jobs.entries()) {
      const [{ output }] = await store.client.query<{ output: string }>(
        "select output from lk_checkpoints where job_id = $1",
        [jobId],
      );
      const [{ payload }] = await store.client.query<{ payload: string }>(
        "select payload from lk_outbox where job_id = $1",
        [jobId],
      );
      expect([output, payload]).toEqual([
        JSON.stringify(hostile(j)),
        JSON.stringify(hostile(j + 3)),
      ]);
    }
  });
});
