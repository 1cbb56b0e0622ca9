// deno-lint-ignore-file no-explicit-any -- events are parsed JSON
/**
 * Retry, Retry-After, circuit breaker and rate limit semantics end to end: the real runner and
 * policies, the real HTTP ingest and vLLM embed adapters, msw answering with recorded responses,
 * and a PGlite ledger. Every time below is virtual; requests are stamped with the TestClock's time
 * as msw receives them.
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { it } from "@effect/vitest";
import { Effect } from "effect";
import { TestClock } from "effect/testing";
import { http, HttpResponse, type JsonBodyType } from "msw";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { type Job, JobLedger } from "../../pipelines/ledger.ts";
import { type JobOutcome, runJob, runJobs } from "../../pipelines/runner.ts";
import type { CompiledPipeline } from "../../pipelines/loader.ts";
import { Resilience, summary, transitionHistory } from "../../policies/resilience.ts";
import { recordedJson, useMockServer } from "../_fixtures/http.ts";
import {
  compileAuto,
  drive,
  enqueueUrl,
  makeProbe,
  type Probe,
  realRegistry,
  shippedFiles,
  trackedRunnerLayer,
  vllmBaseUrl,
} from "./_resilience_harness.ts";

type Row = { channel: string; payload: Record<string, any> };

const { server, recorder } = useMockServer();

let store: Store;
let files: { policies: string; auto: string };
beforeAll(async () => {
  store = await openEmbeddedStore();
  files = await shippedFiles();
});
afterAll(() => store.close());

const START = Date.parse("2026-01-01T00:00:00Z");
const iso = (offsetMs: number) => new Date(START + offsetMs).toISOString();

const nct = "NCT00763412";
const studyUrl = `https://clinicaltrials.gov/api/v2/studies/${nct}`;
const study = recordedJson(`clinicaltrials/${nct}.json`);
const embeddingsUrl = `${vllmBaseUrl}/v1/embeddings`;

/** The seed's policies and pipeline, unchanged. */
const shippedAuto = (): CompiledPipeline =>
  compileAuto(files.auto, [{ file: "policies/resilience.yaml", text: files.policies }]);

/** A request as msw received it: its URL and the virtual time since START. */
interface Sent {
  readonly url: string;
  readonly at: number;
}

/** Collects what msw receives, stamped with the TestClock's time. */
const sentLog = Effect.gen(function* () {
  const clock = yield* TestClock.testClockWith(Effect.succeed);
  const sent: Array<Sent> = [];
  const note = (request: Request): number =>
    sent.push({ url: request.url, at: clock.currentTimeMillisUnsafe() - START });
  return { sent, note };
});

/** The answers to successive calls: the n-th call gets `answers[n - 1]`, later ones the last. */
const inTurn = (answers: ReadonlyArray<() => Response>) => {
  let calls = 0;
  return (): Response => answers[Math.min(calls++, answers.length - 1)]();
};

const status = (code: number, body: JsonBodyType | string, headers: HeadersInit = {}) => () =>
  typeof body === "string"
    ? new HttpResponse(body, { status: code, headers })
    : HttpResponse.json(body, { status: code, headers });

const ok = () => HttpResponse.json(study);

const eventsOf = async (jobId: string) => (await store.client.query<Row>(
  "select channel, payload::json as payload from lk_outbox where job_id = $1 order by seq",
  [jobId],
));
const openlineage = async (jobId: string, jobName: string) =>
  (await eventsOf(jobId)).filter((r) =>
    r.channel === "openlineage" && r.payload.job.name === jobName
  ).map((r) => r.payload);
const cloudevents = async (jobId: string, type: string) =>
  (await eventsOf(jobId)).filter((r) =>
    r.channel === "cloudevents" && r.payload.type === `org.medicalkg.orchestration.${type}`
  ).map((r) => r.payload.data);

/** The identity fields every CloudEvent `data` of the job starts with. */
const jobData = (job: Job) => ({
  job_id: job.jobId,
  tenant_id: job.tenantId,
  correlation_id: job.correlationId,
});

/** Runs one job per tenant, in order, each to its end, under one process's resilience state. */
const runSequentially = (
  pipeline: CompiledPipeline,
  probe: Probe,
  tenants: ReadonlyArray<string>,
) =>
  Effect.forEach(tenants, (tenant) =>
    Effect.gen(function* () {
      const job = yield* enqueueUrl(pipeline, tenant, nct);
      return yield* drive(runJob(job, pipeline), probe);
    }));

const jobOf = (jobId: string) =>
  Effect.flatMap(JobLedger, (ledger) => ledger.get(jobId)).pipe(Effect.map((job) => job!));

describe("retries end to end (shipped polite-api: linear 1 s, 2 s, … no jitter)", () => {
  it.effect("503, 503, 200: three requests at t, t+1 s, t+3 s, each attempt its own run", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const answer = inTurn([status(503, "busy"), status(503, "busy"), ok]);
      server.use(http.get(studyUrl, ({ request }) => (note(request), answer())));
      const probe = makeProbe();
      const pipeline = shippedAuto();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueueUrl(pipeline, "retry-503", nct);
        const outcome = yield* drive(runJob(job, pipeline), probe);
        return { outcome, job: yield* jobOf(job.jobId) };
      }).pipe(Effect.provide(trackedRunnerLayer(store, realRegistry(probe), probe)));

      expect(sent).toEqual([
        { url: studyUrl, at: 0 },
        { url: studyUrl, at: 1000 },
        { url: studyUrl, at: 3000 },
      ]);
      expect((yield* Effect.promise(() => recorder.requests())).length).toBe(3);
      expect(outcome).toEqual({
        jobId: job.jobId,
        docId: `clinicaltrials:${nct}`,
        status: "succeeded",
        durationMs: 3000,
      });
      expect(job.status).toBe("succeeded");
      expect(job.attempts.ingest).toBe(3);
      expect(job.retries.ingest).toBe(2);

      const runs = yield* Effect.promise(() => openlineage(job.jobId, "auto.ingest"));
      expect(runs.map((e) => [e.eventType, e.eventTime])).toEqual([
        ["START", iso(0)],
        ["FAIL", iso(0)],
        ["START", iso(1000)],
        ["FAIL", iso(1000)],
        ["START", iso(3000)],
        ["COMPLETE", iso(3000)],
      ]);
      expect(new Set(runs.map((e) => e.run.runId)).size).toBe(3);

      const message = `GET ${studyUrl}: HTTP 503: busy`;
      const retrying = yield* Effect.promise(() => cloudevents(job.jobId, "stage.retrying"));
      expect(retrying).toEqual([1, 2].map((n) => ({
        ...jobData(job),
        stage: "ingest",
        attempt: n,
        policy_name: "polite-api",
        attempt_number: n,
        backoff_ms: n * 1000,
        error_type: "Transient",
        error_message: message,
        retry_count: n - 1,
        duration_ms: 0,
      })));
    }));

  it.effect("429 with Retry-After: 2 waits 2 s although polite-api's first delay is 1 s", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const answer = inTurn([status(429, "slow down", { "retry-after": "2" }), ok]);
      server.use(http.get(studyUrl, ({ request }) => (note(request), answer())));
      const probe = makeProbe();
      const pipeline = shippedAuto();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueueUrl(pipeline, "retry-after-2", nct);
        const outcome = yield* drive(runJob(job, pipeline), probe);
        return { outcome, job: yield* jobOf(job.jobId) };
      }).pipe(Effect.provide(trackedRunnerLayer(store, realRegistry(probe), probe)));

      expect(sent).toEqual([{ url: studyUrl, at: 0 }, { url: studyUrl, at: 2000 }]);
      expect(outcome.status).toBe("succeeded");
      expect(job.retries.ingest).toBe(1);
      const retrying = yield* Effect.promise(() => cloudevents(job.jobId, "stage.retrying"));
      expect(retrying.map((d) => [d.error_type, d.backoff_ms])).toEqual([["RateLimited", 2000]]);
    }));

  it.effect("429 with Retry-After: 3600 waits backoff_max_seconds (10 s), not an hour", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const answer = inTurn([status(429, "slow down", { "retry-after": "3600" }), ok]);
      server.use(http.get(studyUrl, ({ request }) => (note(request), answer())));
      const probe = makeProbe();
      const pipeline = shippedAuto();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueueUrl(pipeline, "retry-after-3600", nct);
        const outcome = yield* drive(runJob(job, pipeline), probe, 250);
        return { outcome, job: yield* jobOf(job.jobId) };
      }).pipe(Effect.provide(trackedRunnerLayer(store, realRegistry(probe), probe)));

      expect(sent).toEqual([{ url: studyUrl, at: 0 }, { url: studyUrl, at: 10_000 }]);
      expect(outcome.status).toBe("succeeded");
      const retrying = yield* Effect.promise(() => cloudevents(job.jobId, "stage.retrying"));
      expect(retrying.map((d) => [d.error_type, d.backoff_ms])).toEqual([[
        "RateLimited",
        10_000,
      ]]);
    }));

  it.effect("400 is InvalidInput: one request, the job fails at once, nothing retried", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const badUrl = "https://clinicaltrials.gov/api/v2/studies/NCT0076341";
      server.use(
        http.get(badUrl, ({ request }) => (note(request), status(400, "bad NCT number")())),
      );
      const probe = makeProbe();
      const pipeline = shippedAuto();
      const { outcome, job } = yield* Effect.gen(function* () {
        const job = yield* enqueueUrl(pipeline, "invalid", "NCT0076341", badUrl);
        const outcome = yield* drive(runJob(job, pipeline), probe);
        return { outcome, job: yield* jobOf(job.jobId) };
      }).pipe(Effect.provide(trackedRunnerLayer(store, realRegistry(probe), probe)));

      expect(sent).toEqual([{ url: badUrl, at: 0 }]);
      const message = `GET ${badUrl}: HTTP 400: bad NCT number`;
      const error = {
        type: "InvalidInput",
        message,
        path: badUrl,
        stage: "ingest",
        policy: "polite-api",
        attempts: 1,
      };
      expect(outcome).toEqual({
        jobId: job.jobId,
        docId: "clinicaltrials:NCT0076341",
        status: "failed",
        error,
        durationMs: 0,
      });
      expect(job.error).toEqual(error);
      expect(job.retries.ingest ?? 0).toBe(0);
      expect(yield* Effect.promise(() => cloudevents(job.jobId, "stage.retrying"))).toEqual([]);
      expect(yield* Effect.promise(() => cloudevents(job.jobId, "stage.failed"))).toEqual([{
        ...jobData(job),
        stage: "ingest",
        attempt: 1,
        policy_name: "polite-api",
        error_type: "InvalidInput",
        error_message: message,
        retry_count: 0,
        reason: "invalid_input",
        duration_ms: 0,
      }]);
    }));
});

const vllmOom = {
  error: {
    message: "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB.",
    type: "InternalServerError",
    param: null,
    code: 500,
  },
};
const vllmNotReady = {
  object: "error",
  message: "The engine is not ready",
  type: "ServiceUnavailableError",
  param: null,
  code: 503,
};

describe("GPU failures end to end (shipped gpu-bound on the vLLM embed stage)", () => {
  it.effect("a CUDA OOM and a 503 each fail the job at once, and the vLLM breaker counts them", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      const answer = inTurn([status(500, vllmOom), status(503, vllmNotReady)]);
      server.use(
        http.get(studyUrl, ok),
        http.post(embeddingsUrl, ({ request }) => (note(request), answer())),
      );
      const probe = makeProbe();
      const pipeline = shippedAuto();
      const tenants = ["gpu-oom", "gpu-503-1", "gpu-503-2", "gpu-503-3", "gpu-503-4"];
      const result = yield* Effect.gen(function* () {
        const outcomes = yield* runSequentially(pipeline, probe, tenants);
        const open = yield* Effect.flatMap(Resilience, (r) => r.breakers.status("vllm.test:8000"));
        const counts = yield* summary();
        const [rejected] = yield* runSequentially(pipeline, probe, ["gpu-breaker-open"]);
        const jobs = yield* Effect.forEach([...outcomes, rejected], (o) => jobOf(o.jobId));
        return { outcomes: [...outcomes, rejected], open, counts, after: yield* summary(), jobs };
      }).pipe(
        Effect.provide(trackedRunnerLayer(store, realRegistry(probe, { vllm: true }), probe)),
      );

      // Five jobs, five requests; the sixth finds the circuit open and sends none. Its ingest
      // waited 200 ms for polite-api's sixth token within the same second, so the circuit that
      // opened at t = 0 has 59.8 s left.
      expect(sent).toEqual(tenants.map(() => ({ url: embeddingsUrl, at: 0 })));
      const oomMessage = `POST ${embeddingsUrl}: HTTP 500: ${vllmOom.error.message}`;
      const downMessage = `POST ${embeddingsUrl}: HTTP 503: ${vllmNotReady.message}`;
      const failure = (type: string, message: string) => ({
        type,
        message,
        stage: "embed",
        policy: "gpu-bound",
        attempts: 1,
      });
      expect(result.outcomes.map((o: JobOutcome) => [o.status, o.error])).toEqual([
        ["failed", failure("GpuOutOfMemory", oomMessage)],
        ...tenants.slice(1).map(() => ["failed", failure("GpuUnavailable", downMessage)]),
        [
          "failed",
          failure(
            "CircuitOpen",
            `circuit "vllm.test:8000" is open after GpuUnavailable: POST ` +
              `http://vllm.test:8000/v1/embeddings: HTTP 503: The engine is not ready; retry in 59800 ms`,
          ),
        ],
      ]);
      const [oomJob, downJob] = result.jobs;
      expect(yield* Effect.promise(() => cloudevents(oomJob.jobId, "stage.failed"))).toEqual([{
        ...jobData(oomJob),
        stage: "embed",
        attempt: 1,
        policy_name: "gpu-bound",
        error_type: "GpuOutOfMemory",
        error_message: oomMessage,
        retry_count: 0,
        reason: "gpu_oom",
        duration_ms: 0,
      }]);
      expect(
        (yield* Effect.promise(() => cloudevents(downJob.jobId, "stage.failed"))).map((d) => [
          d.stage,
          d.error_type,
          d.reason,
        ]),
      ).toEqual([["embed", "GpuUnavailable", "no_gpu"]]);
      for (const job of result.jobs) {
        expect(yield* Effect.promise(() => cloudevents(job.jobId, "stage.retrying"))).toEqual([]);
      }

      expect(result.open).toEqual({ state: "open", retryAfterMs: 60_000 });
      expect(result.counts.breakers).toEqual([{
        key: "vllm.test:8000",
        closedToOpen: 1,
        openToHalfOpen: 0,
        halfOpenToClosed: 0,
        halfOpenToOpen: 0,
        opens: 1,
        fastFailed: 0,
      }]);
      expect(result.after).toEqual({
        breakers: [{ ...result.counts.breakers[0], fastFailed: 1 }],
        rateLimits: [{ key: "clinicaltrials.gov", calls: 6, waits: 1, waitedMs: 200 }],
      });
    }));

  it.effect("a GPU error is not retried even under a policy that retries", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      server.use(
        http.get(studyUrl, ok),
        http.post(embeddingsUrl, ({ request }) => (note(request), status(500, vllmOom)())),
      );
      const probe = makeProbe();
      // The seed's `default`: three attempts, exponential backoff.
      const pipeline = compileAuto(
        files.auto,
        [{ file: "policies/resilience.yaml", text: files.policies }],
        { embed: "default" },
      );
      const [outcome] = yield* runSequentially(pipeline, probe, ["gpu-oom-default"]).pipe(
        Effect.provide(trackedRunnerLayer(store, realRegistry(probe, { vllm: true }), probe)),
      );
      expect(sent).toEqual([{ url: embeddingsUrl, at: 0 }]);
      expect(outcome.error).toEqual({
        type: "GpuOutOfMemory",
        message: `POST ${embeddingsUrl}: HTTP 500: ${vllmOom.error.message}`,
        stage: "embed",
        policy: "default",
        attempts: 1,
      });
      expect(outcome.durationMs).toBe(0);
    }));
});

const breakerPolicies = `
policies:
  breaker-api:
    max_attempts: 1
    backoff_strategy: none
    backoff_initial_seconds: 0
    backoff_max_seconds: 0
    backoff_jitter_seconds: 0
    timeout_seconds: 10
    circuit_breaker:
      failure_threshold: 5
      reset_timeout_seconds: 60
`;

describe("circuit breaker end to end (5 failures open it for 60 s, one probe closes it)", () => {
  it.effect("five failing jobs open it, the sixth fails fast unsent, after 60 s one probe closes it", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      server.use(http.get(studyUrl, ({ request }) => (note(request), status(503, "down")())));
      const probe = makeProbe();
      const pipeline = compileAuto(files.auto, [
        { file: "tests/breaker.yaml", text: breakerPolicies },
        { file: "policies/resilience.yaml", text: files.policies },
      ], { ingest: "breaker-api" });
      const failing = ["cb-1", "cb-2", "cb-3", "cb-4", "cb-5"];
      const run = yield* Effect.gen(function* () {
        const failed = yield* runSequentially(pipeline, probe, failing);
        const open = yield* Effect.flatMap(
          Resilience,
          (r) => r.breakers.status("clinicaltrials.gov"),
        );
        const [rejected] = yield* runSequentially(pipeline, probe, ["cb-6"]);
        const sentWhileOpen = sent.length;
        yield* TestClock.adjust("60 seconds");
        const halfOpen = yield* Effect.flatMap(
          Resilience,
          (r) => r.breakers.status("clinicaltrials.gov"),
        );
        server.use(http.get(studyUrl, ({ request }) => (note(request), ok())));
        const [probed] = yield* runSequentially(pipeline, probe, ["cb-7"]);
        const closed = yield* Effect.flatMap(
          Resilience,
          (r) => r.breakers.status("clinicaltrials.gov"),
        );
        return {
          failed,
          open,
          rejected,
          sentWhileOpen,
          halfOpen,
          probed,
          closed,
          history: yield* transitionHistory,
          counts: yield* summary(),
        };
      }).pipe(Effect.provide(trackedRunnerLayer(store, realRegistry(probe), probe)));

      const failure = (type: string, message: string) => ({
        type,
        message,
        stage: "ingest",
        policy: "breaker-api",
        attempts: 1,
      });
      expect(run.failed.map((o) => o.error)).toEqual(
        failing.map(() => failure("Transient", `GET ${studyUrl}: HTTP 503: down`)),
      );
      expect(run.open).toEqual({ state: "open", retryAfterMs: 60_000 });
      expect(run.rejected.error).toEqual(
        failure(
          "CircuitOpen",
          `circuit "clinicaltrials.gov" is open after Transient: GET ` +
            `https://clinicaltrials.gov/api/v2/studies/NCT00763412: HTTP 503: down; retry in 60000 ms`,
        ),
      );
      expect(run.sentWhileOpen).toBe(5);
      expect(run.halfOpen).toEqual({ state: "half_open", probing: false });
      expect(run.probed.status).toBe("succeeded");
      expect(run.closed).toEqual({ state: "closed" });
      expect(sent).toEqual([
        ...failing.map(() => ({ url: studyUrl, at: 0 })),
        { url: studyUrl, at: 60_000 },
      ]);
      expect((yield* Effect.promise(() => recorder.requests())).length).toBe(6);
      const key = "clinicaltrials.gov";
      expect(run.history).toEqual([
        { key, from: "closed", to: "open", at: new Date(START) },
        { key, from: "open", to: "half_open", at: new Date(START + 60_000) },
        { key, from: "half_open", to: "closed", at: new Date(START + 60_000) },
      ]);
      expect(run.counts.breakers).toEqual([{
        key,
        closedToOpen: 1,
        openToHalfOpen: 1,
        halfOpenToClosed: 1,
        halfOpenToOpen: 0,
        opens: 1,
        fastFailed: 1,
      }]);
      const rejectedJob = yield* Effect.promise(() =>
        cloudevents(run.rejected.jobId, "stage.failed")
      );
      expect(rejectedJob.map((d) => [d.error_type, d.reason])).toEqual([
        ["CircuitOpen", "circuit_open"],
      ]);
    }));
});

describe("rate limit end to end (shipped polite-api: 5 requests per second per host)", () => {
  it.effect("20 jobs, 10 at a time: at most 5·t + 5 requests in any t seconds, done at 3 s", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(START);
      const { sent, note } = yield* sentLog;
      server.use(http.get(studyUrl, ({ request }) => (note(request), ok())));
      const probe = makeProbe();
      const pipeline = shippedAuto();
      const tenants = Array.from({ length: 20 }, (_, i) => `rate-${i + 1}`);
      const { outcomes, endedAt, counts } = yield* Effect.gen(function* () {
        const jobs = yield* Effect.forEach(tenants, (t) => enqueueUrl(pipeline, t, nct));
        const outcomes = yield* drive(
          runJobs(jobs.map((job) => ({ job, pipeline })), { concurrency: 10 }),
          probe,
        );
        const endedAt = (yield* TestClock.testClockWith(Effect.succeed)).currentTimeMillisUnsafe();
        return { outcomes, endedAt: endedAt - START, counts: yield* summary() };
      }).pipe(Effect.provide(trackedRunnerLayer(store, realRegistry(probe), probe)));

      expect(outcomes.map((o) => o.status)).toEqual(tenants.map(() => "succeeded"));
      // A full bucket of 5 at once, then one token every 200 ms.
      const times = sent.map((s) => s.at);
      expect(times).toEqual([
        0,
        0,
        0,
        0,
        0,
        ...Array.from({ length: 15 }, (_, i) => 200 * (i + 1)),
      ]);
      const crowded = times.flatMap((from, i) =>
        times.slice(i).flatMap((to, k) => k + 1 > (5 * (to - from)) / 1000 + 5 ? [[from, to]] : [])
      );
      expect(crowded).toEqual([]);
      expect(endedAt).toBe(3000);
      // Jobs 6–10 wait 0.2–1 s; 11–15 start as 1–5 end at once and wait 1.2–2 s; 16–20 start
      // as 6–10 end (0.2–1 s) and wait 2 s each for their tokens at 2.2–3 s.
      expect(counts.rateLimits).toEqual([
        { key: "clinicaltrials.gov", calls: 20, waits: 15, waitedMs: 3000 + 8000 + 10_000 },
      ]);
    }));
});
