import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect, Logger } from "effect";
import { type Store, storeFromClient } from "../../../adapters/store/store.ts";
import { openPostgres } from "../../../adapters/store/postgres_client.ts";
import type { SqlClient } from "../../../adapters/store/sql_client.ts";
import { backends, databaseUrl, throwawayDatabase } from "../../_stores.ts";
import { firstRun } from "./_claims.ts";
import type { IngestRequest } from "../../../stages/ir.ts";
import type { OutboxEvent } from "../../../lineage/outbox.ts";

const request = (docKey: string): IngestRequest => ({
  source: "clinicaltrials",
  docKey,
  location: { kind: "file", file: "x.json", pointer: "" },
});
const event = (runId: string, n: number): OutboxEvent => ({
  channel: "openlineage",
  runId,
  payload: { n },
});
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(e);

if (!databaseUrl) it.skip("SqlJobLedger on PostgreSQL (set DATABASE_URL to run)", () => {});

describe.each(backends)("SqlJobLedger on $name", (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(() => store.close());

  // A job of `tenantId` for `docKey`, its first run begun with `events`.
  const begunJob = async (tenantId: string, docKey: string, events: OutboxEvent[] = []) => {
    const { job } = await run(store.ledger.enqueue({
      tenantId,
      request: request(docKey),
      pipeline: "auto",
      pipelineVersion: "1",
    }));
    await run(store.ledger.beginRun(firstRun(job.jobId), events));
    return job;
  };

  it("enqueue() is idempotent on (tenant, document)", async () => {
    const input = {
      tenantId: "t1",
      request: request("NCT1"),
      pipeline: "auto",
      pipelineVersion: "1",
    };
    const first = await run(store.ledger.enqueue(input));
    const second = await run(store.ledger.enqueue(input));
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.job.jobId).toBe(first.job.jobId);
    expect(first.job).toMatchObject({
      status: "queued",
      docId: "clinicaltrials:NCT1",
      runNumber: 0,
    });
    const other = await run(store.ledger.enqueue({ ...input, tenantId: "t2" }));
    expect(other.job.jobId).not.toBe(first.job.jobId);
  });

  it("enqueue() called together: one job per document, results in the order handed in, known jobs kept", async () => {
    const input = (docKey: string, tenantId = "batch") => ({
      tenantId,
      request: request(docKey),
      pipeline: "auto",
      pipelineVersion: "1",
      destinations: { lineage: "/tmp/lineage-batch" },
    });
    const known = await run(store.ledger.enqueue(input("B-known")));
    const keys = ["B-1", "B-2", "B-known", "B-3", "B-2", "B-4"];
    const results = await run(
      Effect.forEach(keys, (k) => store.ledger.enqueue(input(k)), { concurrency: "unbounded" }),
    );
    expect(results.map((r) => [r.job.docId, r.created])).toEqual([
      ["clinicaltrials:B-1", true],
      ["clinicaltrials:B-2", true],
      ["clinicaltrials:B-known", false],
      ["clinicaltrials:B-3", true],
      ["clinicaltrials:B-2", false], // the same document again: the job the batch just made
      ["clinicaltrials:B-4", true],
    ]);
    expect(results[2].job.jobId).toBe(known.job.jobId);
    expect(results[4].job.jobId).toBe(results[1].job.jobId);
    for (const { job } of results) {
      expect(job).toMatchObject({ status: "queued", runNumber: 0, tenantId: "batch" });
      expect(job.destinations).toEqual({ lineage: "/tmp/lineage-batch" });
    }
    const queued = await run(store.ledger.list({ statuses: ["queued"], tenantId: "batch" }));
    expect(queued.map((j) => j.docId).sort()).toEqual(
      ["B-1", "B-2", "B-3", "B-4", "B-known"].map((k) => `clinicaltrials:${k}`),
    );
    for (const { job } of results) {
      const history = await run(store.ledger.history(job.jobId));
      expect(history.map((h) => [h.toStatus, h.reason])).toEqual([["queued", "enqueued"]]);
    }
  });

  it("enqueue() of known jobs together: each takes the new destinations unless running, its request only when replaced", async () => {
    const input = (docKey: string, lineage: string, replaceRequest = false) => ({
      tenantId: "again",
      request: replaceRequest
        ? {
          ...request(docKey),
          location: { kind: "file" as const, file: `new/${docKey}.json`, pointer: "" },
        }
        : request(docKey),
      pipeline: "auto",
      pipelineVersion: "1",
      destinations: { lineage },
      replaceRequest,
    });
    const keys = ["K-1", "K-2", "K-3"];
    const first = await run(
      Effect.forEach(keys, (k) => store.ledger.enqueue(input(k, "/tmp/old")), {
        concurrency: "unbounded",
      }),
    );
    // K-3 is running in another process: its run keeps what it was told.
    expect(await run(store.ledger.beginRun(firstRun(first[2].job.jobId), []))).toBe(true);
    const again = await run(
      Effect.forEach(
        [input("K-1", "/tmp/new"), input("K-2", "/tmp/new", true), input("K-3", "/tmp/new", true)],
        (i) => store.ledger.enqueue(i),
        { concurrency: "unbounded" },
      ),
    );
    expect(again.map((r) => [r.job.jobId, r.created])).toEqual(
      first.map((r) => [r.job.jobId, false]),
    );
    expect(again.map((r) => r.job.destinations)).toEqual([
      { lineage: "/tmp/new" },
      { lineage: "/tmp/new" },
      { lineage: "/tmp/old" },
    ]);
    const fileOf = (job: { request: IngestRequest }) =>
      (job.request.location as { file?: string }).file;
    expect(again.map((r) => fileOf(r.job))).toEqual(["x.json", "new/K-2.json", "x.json"]);
    expect((await run(store.ledger.get(first[2].job.jobId)))?.status).toBe("running");
  });

  it("beginRun() is a compare-and-set: one of two claims for the same run wins", async () => {
    const { job } = await run(store.ledger.enqueue({
      tenantId: "t1",
      request: request("NCT2"),
      pipeline: "auto",
      pipelineVersion: "1",
    }));
    const claim = (runId: string) => store.ledger.beginRun(firstRun(job.jobId), [event(runId, 1)]);
    const results = await Promise.all([run(claim("a")), run(claim("b"))]);
    expect(results.sort()).toEqual([false, true]);
    const after = await run(store.ledger.get(job.jobId));
    expect(after).toMatchObject({ status: "running", runNumber: 1 });
    const rows = await store.client.query<{ run_id: string }>(
      "select run_id from lk_outbox where job_id = $1",
      [job.jobId],
    );
    // The losing claim wrote nothing: its events went with its rolled-back transaction.
    expect(rows.length).toBe(1);
  });

  it("recordStage() checkpoints outputs and counts attempts and retries; history keeps every transition", async () => {
    const job = await begunJob("t1", "NCT3");
    await run(
      store.ledger.recordStage(job.jobId, 1, { kind: "started", stage: "parse", attempt: 1 }, []),
    );
    await run(store.ledger.recordStage(job.jobId, 1, {
      kind: "failed",
      stage: "parse",
      attempt: 1,
      error: { type: "Transient", message: "boom" },
      willRetry: true,
    }, []));
    await run(
      store.ledger.recordStage(job.jobId, 1, { kind: "started", stage: "parse", attempt: 2 }, []),
    );
    await run(store.ledger.recordStage(
      job.jobId,
      1,
      { kind: "succeeded", stage: "parse", attempt: 2, output: { title: "T" } },
      [],
    ));
    await run(store.ledger.finishRun({
      jobId: job.jobId,
      runNumber: 1,
      status: "failed",
      error: { type: "Permanent", message: "x", stage: "kg", policy: "default", attempts: 1 },
      stage: "kg",
      reason: "kg: Permanent",
      at: new Date(),
    }, []));
    const after = await run(store.ledger.get(job.jobId));
    expect(after).toMatchObject({
      status: "failed",
      currentStage: "kg",
      attempts: { parse: 2 },
      retries: { parse: 1 },
      error: { type: "Permanent", message: "x", stage: "kg", policy: "default", attempts: 1 },
    });
    expect(after?.finishedAt).toBeInstanceOf(Date);
    expect(Object.fromEntries(await run(store.ledger.checkpoints(job.jobId)))).toEqual({
      parse: { title: "T" },
    });
    const history = await run(store.ledger.history(job.jobId));
    expect(history.map((h) => [h.fromStatus, h.toStatus, h.reason])).toEqual([
      [null, "queued", "enqueued"],
      ["queued", "running", "run"],
      ["running", "failed", "kg: Permanent"],
    ]);
  });

  it("leaves out a checkpoint whose stored text is not JSON (its stage runs again) and says so", async () => {
    const job = await begunJob("t1", "NCT-unreadable");
    for (const stage of ["ingest", "parse"]) {
      await run(store.ledger.recordStage(job.jobId, 1, { kind: "started", stage, attempt: 1 }, []));
      await run(store.ledger.recordStage(
        job.jobId,
        1,
        { kind: "succeeded", stage, attempt: 1, output: { stage } },
        [],
      ));
    }
    await store.client.query(
      "update lk_checkpoints set output = '{\"stage\": ' where job_id = $1 and stage = 'parse'",
      [job.jobId],
    );
    const warnings: unknown[] = [];
    const logger = Logger.make(({ message, logLevel }) => {
      if (logLevel === "Warn") warnings.push(message);
    });
    const read = await Effect.runPromise(
      store.ledger.checkpoints(job.jobId).pipe(Effect.provide(Logger.layer([logger]))),
    );
    expect(Object.fromEntries(read)).toEqual({ ingest: { stage: "ingest" } });
    expect(warnings.flat()).toEqual([
      `${job.jobId}: the stored checkpoint of parse is not JSON; the stage runs again`,
    ]);
  });

  it("resumeRun() starts a new segment: it counts resumes, and stages a pause cut off start their counts over", async () => {
    const { job } = await run(store.ledger.enqueue({
      tenantId: "t1",
      request: request("NCT-SEG"),
      pipeline: "pdf",
      pipelineVersion: "1",
    }));
    const begin = { jobId: job.jobId, at: new Date(), from: ["queued" as const], fresh: false };
    await run(store.ledger.beginRun({ ...begin, runNumber: 1, reason: "run" }, []));
    const stage = (kind: "started" | "succeeded", name: string) =>
      run(store.ledger.recordStage(
        job.jobId,
        1,
        kind === "started"
          ? { kind, stage: name, attempt: 1 }
          : { kind, stage: name, attempt: 1, output: {} },
        [],
      ));
    await stage("started", "download");
    await stage("succeeded", "download");
    await stage("started", "meta");
    await run(store.ledger.recordStage(
      job.jobId,
      1,
      { kind: "aborted", stage: "meta", attempt: 1 },
      [],
    ));
    await stage("started", "gate");
    const pause = {
      jobId: job.jobId,
      runNumber: 1,
      status: "paused" as const,
      stage: "gate",
      reason: "waiting",
      at: new Date(),
    };
    await run(store.ledger.finishRun(pause, []));
    expect(await run(store.ledger.get(job.jobId))).toMatchObject({
      resumes: 0,
      attempts: { download: 1, meta: 1, gate: 1 },
    });
    const resume = { jobId: job.jobId, runNumber: 1, reason: "resumed" };
    expect(await run(store.ledger.resumeRun(resume, []))).toBe(true);
    // `meta` was cut off (no checkpoint): its attempts start over; the gate keeps its own.
    expect(await run(store.ledger.get(job.jobId))).toMatchObject({
      status: "running",
      resumes: 1,
      attempts: { download: 1, gate: 1 },
      retries: {},
    });
    await run(store.ledger.finishRun(pause, []));
    // A resume from a copy read before the first one (resumes 0) is refused: its events would
    // name the wrong segment.
    expect(await run(store.ledger.resumeRun({ ...resume, resumes: 0, gate: "gate" }, []))).toBe(
      false,
    );
    expect(await run(store.ledger.resumeRun({ ...resume, resumes: 1, gate: "other" }, []))).toBe(
      false,
    );
    expect(await run(store.ledger.resumeRun({ ...resume, resumes: 1, gate: "gate" }, []))).toBe(
      true,
    );
    expect((await run(store.ledger.get(job.jobId)))?.resumes).toBe(2);
    // A new run starts at segment 0 again.
    await run(store.ledger.finishRun({ ...pause, status: "failed", reason: "x" }, []));
    await run(
      store.ledger.beginRun({ ...begin, runNumber: 2, from: ["failed"], reason: "re-run" }, []),
    );
    expect((await run(store.ledger.get(job.jobId)))?.resumes).toBe(0);
  });

  it("a running job is another process's until its lease expires; renewing, pausing and ending it behave", async () => {
    const { job } = await run(store.ledger.enqueue({
      tenantId: "t1",
      request: request("NCT-LEASE"),
      pipeline: "auto",
      pipelineVersion: "1",
    }));
    const mine = { owner: "runner-a", ttlMs: 60_000 };
    const theirs = { owner: "runner-b", ttlMs: 60_000 };
    const begin = (runNumber: number, lease: typeof mine) =>
      run(store.ledger.beginRun({
        jobId: job.jobId,
        runNumber,
        at: new Date(),
        from: ["queued", "running", "failed"],
        fresh: false,
        reason: "run",
        lease,
      }, []));
    expect(await begin(1, mine)).toBe(true);
    const running = await run(store.ledger.get(job.jobId));
    expect(running?.leaseOwner).toBe("runner-a");
    expect(running!.leaseExpiresAt!.getTime()).toBeGreaterThan(Date.now());
    // Another process may not take it over while the lease runs …
    expect(await begin(2, theirs)).toBe(false);
    expect(await run(store.ledger.renewLease(job.jobId, 1, mine))).toBe(true);
    expect(await run(store.ledger.renewLease(job.jobId, 1, theirs))).toBe(false);
    // … only once it has expired (the process holding it died and stopped renewing it).
    await store.client.query(
      "update lk_jobs set lease_expires_at = now() - interval '1 second' where job_id = $1",
      [job.jobId],
    );
    expect(await begin(2, theirs)).toBe(true);
    expect((await run(store.ledger.get(job.jobId)))?.leaseOwner).toBe("runner-b");
    // The run that lost the job can no longer renew its lease.
    expect(await run(store.ledger.renewLease(job.jobId, 1, mine))).toBe(false);
    // Paused, the job holds no lease; resumed, it holds the resuming run's.
    await run(store.ledger.finishRun({
      jobId: job.jobId,
      runNumber: 2,
      status: "paused",
      stage: "gate",
      reason: "waiting",
      at: new Date(),
    }, []));
    expect(await run(store.ledger.get(job.jobId))).toMatchObject({
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    await run(
      store.ledger.resumeRun({ jobId: job.jobId, runNumber: 2, reason: "r", lease: mine }, []),
    );
    expect((await run(store.ledger.get(job.jobId)))?.leaseOwner).toBe("runner-a");
    await run(store.ledger.finishRun({
      jobId: job.jobId,
      runNumber: 2,
      status: "succeeded",
      reason: "done",
      at: new Date(),
    }, []));
    expect((await run(store.ledger.get(job.jobId)))?.leaseOwner).toBeNull();
  });

  it("runnable() lists queued jobs and running ones whose lease expired, of the given pipelines, oldest first", async () => {
    const jobs = [];
    for (const [key, pipeline] of [["R1", "pw"], ["R2", "pw"], ["R3", "pw"], ["R4", "other"]]) {
      jobs.push(
        (await run(store.ledger.enqueue({
          tenantId: "t-runnable",
          request: request(key),
          pipeline,
          pipelineVersion: "1",
        }))).job,
      );
    }
    const claimed = (jobId: string) =>
      run(store.ledger.beginRun(firstRun(jobId, { owner: "w1", ttlMs: 60_000 }), []));
    await claimed(jobs[0].jobId);
    await claimed(jobs[1].jobId);
    await store.client.query(
      "update lk_jobs set lease_expires_at = now() - interval '1 second' where job_id = $1",
      [jobs[1].jobId],
    );
    const ids = async (exclude: string[] = []) =>
      (await run(store.ledger.runnable({ pipelines: ["pw"], limit: 10, exclude })))
        .filter((j) => j.tenantId === "t-runnable").map((j) => j.jobId);
    // R1 runs under a live lease; R2's lease expired; R3 is queued; R4 is another pipeline's.
    expect(await ids()).toEqual([jobs[1].jobId, jobs[2].jobId]);
    expect(await ids([jobs[1].jobId])).toEqual([jobs[2].jobId]);
  });

  it("runnable() takes the jobs of one enqueue batch in the order they were handed in", async () => {
    // Enqueued together: one transaction, one created_at; job ids are hashes, in no order.
    const keys = Array.from({ length: 12 }, (_, i) => `FIFO-${i}`);
    const jobs = await run(Effect.forEach(keys, (key) =>
      store.ledger.enqueue({
        tenantId: "t-fifo",
        request: request(key),
        pipeline: "p-fifo",
        pipelineVersion: "1",
      }), { concurrency: "unbounded" }));
    const taken = (await run(store.ledger.runnable({ pipelines: ["p-fifo"], limit: 20 })))
      .map((j) => j.jobId);
    expect(taken).toEqual(jobs.map((j) => j.job.jobId));
    expect([...taken].sort()).not.toEqual(taken);
  });

  it("outbox keeps insertion order and per-sink cursors", async () => {
    const job = await begunJob("t9", "NCT9", [event("r", 1), event("r", 2), event("r", 3)]);
    const sink = "test-sink";
    const pending = await run(store.outbox.pending(sink, 10_000));
    const mine = pending.filter((r) => r.jobId === job.jobId).map((r) => r.payload.n);
    expect(mine).toEqual([1, 2, 3]);
    const last = pending[pending.length - 1].seq;
    await run(store.outbox.acknowledge(sink, last, pending.length));
    expect(await run(store.outbox.backlog(sink))).toBe(0);
    expect(await run(store.outbox.pending(sink, 10))).toEqual([]);
    expect(await run(store.outbox.backlog("another-sink"))).toBe(pending.length);
  });
});

describe.skipIf(!databaseUrl)("SqlJobLedger stage writes racing a take-over on PostgreSQL", () => {
  it("a stale run's write that waits for the take-over's lock changes nothing once it commits", async () => {
    const pg = backends.find((b) => b.name === "PostgreSQL")!;
    const { stores: [stale, taker], close } = await pg.openPair();
    try {
      const { job } = await run(stale.ledger.enqueue({
        tenantId: "t1",
        request: request("NCT-RACE"),
        pipeline: "auto",
        pipelineVersion: "1",
      }));
      await run(stale.ledger.beginRun(firstRun(job.jobId), []));
      // The take-over holds the row (run 2) while the stale run 1 writes.
      let commit!: () => void;
      const committed = new Promise<void>((r) => (commit = r));
      let locked!: () => void;
      const holding = new Promise<void>((r) => (locked = r));
      const takeOver = taker.client.transaction(async (tx) => {
        await tx.query(
          "update lk_jobs set run_number = 2, attempts = '{}'::jsonb where job_id = $1",
          [job.jobId],
        );
        locked();
        await committed;
      });
      await holding;
      const staleWrite = run(stale.ledger.recordStage(
        job.jobId,
        1,
        { kind: "started", stage: "ingest", attempt: 1 },
        [event("stale-run", 1)],
      ));
      // Give the stale write time to queue behind the lock (if it has not, it runs after the
      // commit and must be refused all the same).
      await new Promise((r) => setTimeout(r, 200));
      commit();
      await takeOver;
      await staleWrite;
      expect(await run(stale.ledger.get(job.jobId))).toMatchObject({
        runNumber: 2,
        attempts: {},
        currentStage: null,
      });
      const events = await stale.client.query<{ run_id: string }>(
        "select run_id from lk_outbox where job_id = $1",
        [job.jobId],
      );
      expect(events).toEqual([]);
    } finally {
      await close();
    }
  });
});

describe.skipIf(!databaseUrl)("SqlJobLedger claims racing for the same jobs on PostgreSQL", () => {
  it("two batches taking over the same jobs in opposite orders never deadlock", async () => {
    const db = await throwawayDatabase(databaseUrl!);
    // Every transaction the two stores' ledgers run, and how each ended.
    const failures: string[] = [];
    const recorded = (client: SqlClient): SqlClient => ({
      ...client,
      transaction: (fn) =>
        client.transaction(fn).catch((e) => {
          failures.push(String((e as { code?: string }).code ?? e));
          throw e;
        }),
    });
    const clients = await Promise.all([1, 2, 3].map(() => openPostgres(db.url)));
    const [first, second] = await Promise.all(
      clients.slice(0, 2).map((c) => storeFromClient(recorded(c))),
    );
    const holder = clients[2];
    try {
      // Two jobs whose process died: running, their leases run out.
      const jobs: string[] = [];
      for (const key of ["NCT-X", "NCT-Y"]) {
        const { job } = await run(first.ledger.enqueue({
          tenantId: "t1",
          request: request(key),
          pipeline: "auto",
          pipelineVersion: "1",
        }));
        await run(first.ledger.beginRun(firstRun(job.jobId, { owner: "dead", ttlMs: 60_000 }), []));
        jobs.push(job.jobId);
      }
      await holder.query(
        "update lk_jobs set lease_expires_at = now() - interval '1 second' where job_id = any($1)",
        [jobs],
      );
      const takeOver = (jobId: string, owner: string) => ({
        jobId,
        runNumber: 2,
        at: new Date(),
        from: ["queued" as const, "running" as const],
        fresh: false,
        reason: "take over",
        lease: { owner, ttlMs: 60_000 },
      });
      // Both rows held meanwhile, so that each batch waits for its first job, then both go at once.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let held!: () => void;
      const holding = new Promise<void>((r) => (held = r));
      const hold = holder.transaction(async (tx) => {
        await tx.query("select 1 from lk_jobs where job_id = any($1) for update", [jobs]);
        held();
        await released;
      });
      await holding;
      // Handed in together, each store's two claims are one batch: one takes X then Y, the other
      // Y then X.
      const claims = Promise.all([
        run(first.ledger.beginRun(takeOver(jobs[0], "w1"), [])),
        run(first.ledger.beginRun(takeOver(jobs[1], "w1"), [])),
        run(second.ledger.beginRun(takeOver(jobs[1], "w2"), [])),
        run(second.ledger.beginRun(takeOver(jobs[0], "w2"), [])),
      ]);
      for (let waiting = 0; waiting < 2;) {
        await new Promise((r) => setTimeout(r, 20));
        [{ waiting }] = await holder.query<{ waiting: number }>(
          `select count(*)::int as waiting from pg_stat_activity
           where datname = current_database() and wait_event_type = 'Lock'`,
        );
      }
      release();
      await hold;
      const [x1, y1, y2, x2] = await claims;
      // Each job taken over once, by one of them; no transaction ended in a deadlock.
      expect([x1 !== x2, y1 !== y2]).toEqual([true, true]);
      expect(failures).toEqual([]);
    } finally {
      await first.close();
      await second.close();
      await holder.close();
      await db.drop();
    }
  });
});
