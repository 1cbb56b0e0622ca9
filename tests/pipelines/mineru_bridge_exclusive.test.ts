// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { bridgeTick } from "../../pipelines/mineru_bridge.ts";
import { type MineruQueuePort, requestTick } from "../../pipelines/mineru_queue_bridge.ts";
import { PdfParser } from "../../pipelines/pdf_parser.ts";
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

const mineruEventTypes = async (jobId: string) =>
  (await store.client.query<{ payload: Record<string, any> }>(
    `select payload::json as payload from lk_outbox where job_id = $1 and channel = 'openlineage'
     order by seq`,
    [jobId],
  )).map((r) => r.payload).filter((e) => e.job.name === "pdf.mineru").map((e) => e.eventType);

const pausedJobs = (keys: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const jobs = [];
    for (const key of keys) {
      const job = yield* enqueue(key, pipeline, "unpaywall");
      expect((yield* runDriven(job, pipeline)).status).toBe("paused");
      jobs.push(job);
    }
    return jobs;
  });

describe("two MinerU bridges at once", () => {
  it.effect("over HTTP: each PDF is sent once, and its MinerU run starts and ends once", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({});
      const sentDocs: string[] = [];
      const parser = Layer.succeed(PdfParser, {
        service: "mineru@gpu:8000",
        parse: (request) =>
          // Parsing takes a while, so the two bridges overlap.
          Effect.sleep("2 seconds").pipe(
            Effect.andThen(Effect.sync(() => void sentDocs.push(request.docId))),
            Effect.as(parsedPdfDocument(request.docId)),
          ),
      });
      yield* Effect.gen(function* () {
        const jobs = yield* pausedJobs(["TWO1", "TWO2", "TWO3"]);
        const [a, b] = yield* driven(
          Effect.all([bridgeTick(config), bridgeTick(config)], { concurrency: 2 }),
        );
        expect([...a.parsed, ...b.parsed].sort()).toEqual(jobs.map((j) => j.jobId).sort());
        expect([...a.failed, ...b.failed]).toEqual([]);
        expect(sentDocs.sort()).toEqual(jobs.map((j) => j.docId).sort());
        for (const job of jobs) {
          expect(yield* Effect.promise(() => mineruEventTypes(job.jobId))).toEqual([
            "START",
            "COMPLETE",
          ]);
        }
      }).pipe(Effect.provide(Layer.merge(runnerLayer(store, registry), parser)));
    }));

  it.effect("over the queue: each job is requested once", () =>
    Effect.gen(function* () {
      const { registry } = scriptedStages({});
      const sent: MineruRequestedData[] = [];
      const queue: MineruQueuePort = {
        service: "mineru-queue@broker:9092",
        request: (data) =>
          Effect.sleep("1 second").pipe(Effect.andThen(Effect.sync(() => void sent.push(data)))),
      };
      yield* Effect.gen(function* () {
        const jobs = yield* pausedJobs(["Q2A", "Q2B"]);
        const [a, b] = yield* driven(
          Effect.all([requestTick(config, queue), requestTick(config, queue)], {
            concurrency: 2,
          }),
        );
        expect([...a, ...b].sort()).toEqual(jobs.map((j) => j.jobId).sort());
        expect(sent.map((d) => d.job_id).sort()).toEqual(jobs.map((j) => j.jobId).sort());
      }).pipe(Effect.provide(runnerLayer(store, registry)));
    }));
});
