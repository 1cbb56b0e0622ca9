import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect } from "effect";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { JobLedger } from "../../pipelines/ledger.ts";
import {
  applyAnswer,
  type MineruQueuePort,
  requestTick,
} from "../../pipelines/mineru_queue_bridge.ts";
import { sensorTick } from "../../pipelines/sensor.ts";
import type { MineruRequestedData } from "../../lineage/cloudevent_types.ts";
import {
  compileConfig,
  driven,
  enqueue,
  parsedPdfDocument,
  pdfShape,
  runDriven,
  runnerLayer,
  scriptedStages,
} from "./_runner_harness.ts";

let store: Store;
beforeAll(async () => {
  store = await openEmbeddedStore();
});
afterAll(() => store.close());

const config = compileConfig([{ file: "pdf.yaml", text: pdfShape(900) }]);
const pipeline = config.pipeline("pdf")!;
const document = parsedPdfDocument;

describe("the MinerU bridge over the mineru.queue contract", () => {
  it.effect("requests each waiting job once, applies completed and failed answers, ignores duplicates", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({});
      const sent: MineruRequestedData[] = [];
      const queue: MineruQueuePort = {
        service: "mineru-queue@broker:9092",
        request: (data) => Effect.sync(() => void sent.push(data)),
      };
      yield* Effect.gen(function* () {
        const ledger = yield* JobLedger;
        const ok = yield* enqueue("QOK", pipeline, "unpaywall");
        const oom = yield* enqueue("QOOM", pipeline, "unpaywall");
        for (const job of [ok, oom]) {
          expect((yield* runDriven(job, pipeline)).status).toBe("paused");
        }

        expect([...(yield* requestTick(config, queue))].sort()).toEqual(
          [ok.jobId, oom.jobId].sort(),
        );
        expect(yield* requestTick(config, queue)).toEqual([]);
        expect(sent.map((d) => d.job_id).sort()).toEqual([ok.jobId, oom.jobId].sort());
        const okRequest = sent.find((d) => d.job_id === ok.jobId)!;
        expect(okRequest).toMatchObject({
          tenant_id: "t",
          doc_id: ok.docId,
          checksum: `sha256:${"0".repeat(64)}`,
          priority: 0,
          correlation_id: ok.correlationId,
        });
        expect(okRequest.pdf_uri).toBe("file:///tmp/a.pdf");

        const load = (uri: string) =>
          uri === "file:///results/QOK.json"
            ? Effect.succeed(document(ok.docId))
            : Effect.fail("missing");
        expect(
          yield* applyAnswer(config, queue, {
            type: "completed",
            jobId: ok.jobId,
            documentUri: "file:///results/QOK.json",
          }, load),
        ).toBe("parsed");
        expect(
          yield* applyAnswer(config, queue, {
            type: "failed",
            jobId: oom.jobId,
            reason: "gpu_oom",
            message: "CUDA out of memory",
          }, load),
        ).toBe("failed");
        // A redelivered answer changes nothing.
        expect(
          yield* applyAnswer(config, queue, {
            type: "completed",
            jobId: ok.jobId,
            documentUri: "file:///results/QOK.json",
          }, load),
        ).toBe("ignored");

        expect(yield* ledger.get(oom.jobId)).toMatchObject({
          status: "failed",
          error: { type: "GpuOutOfMemory", message: "CUDA out of memory", stage: "mineru" },
        });
        const report = yield* driven(sensorTick(config));
        expect(report.resumed.map((o) => [o.jobId, o.status])).toEqual([[ok.jobId, "succeeded"]]);
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));
});
