/**
 * `deno task status [--store DIR|URL] [--json]`: what the store holds: jobs by status, indexed
 * chunks and embeddings, knowledge-graph nodes and edges, lineage events written, the jobs
 * running with the process holding each (its lease), and the jobs paused at a gate with how long
 * they waited and have left; and for the whole store, its database and WAL sizes and the outbox's
 * pending and delivered events.
 *
 * @module
 */
import { Effect } from "effect";
import type { Store } from "../adapters/store/store.ts";
import { loadPipelines } from "../kit/load_pipelines.ts";
import { gateTimeLeftMs } from "../pipelines/gate.ts";
import { storeStats } from "../adapters/store/store_stats.ts";
import { storeFootprint } from "../adapters/store/store_footprint.ts";
import { openExistingStore, storeSpec, wantsHelp } from "./_command.ts";
import { parseArgs, UsageError } from "./_args.ts";
import { table } from "./_output.ts";

const megabytes = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const USAGE = `usage: deno task status [--store DIR|URL] [--tenant ID] [--json]

  --tenant ID   whose jobs, chunks, graph and events to count (default: default)`;

/** A paused job as status shows it. */
export interface PausedJob {
  readonly jobId: string;
  readonly docId: string;
  readonly gate: string;
  readonly waitingSeconds: number;
  /** Until the gate times out; null when the gate is not in the current configuration. */
  readonly timeLeftSeconds: number | null;
}

/** A running job as status shows it. */
export interface RunningJob {
  readonly jobId: string;
  readonly docId: string;
  readonly stage: string | null;
  /** The process running it; null when it holds no lease. */
  readonly leaseOwner: string | null;
  /**
   * Until its lease expires (negative: expired, the next run-pipeline takes the job over); null
   * without a lease.
   */
  readonly leaseSecondsLeft: number | null;
}

/** Jobs running now, with the lease of the process running each. */
const runningJobs = async (store: Store, tenantId: string): Promise<ReadonlyArray<RunningJob>> => {
  const now = Date.now();
  const running = store.ledger.list({ statuses: ["running"], tenantId });
  return (await Effect.runPromise(running)).map((job) => ({
    jobId: job.jobId,
    docId: job.docId,
    stage: job.currentStage,
    leaseOwner: job.leaseOwner,
    leaseSecondsLeft: job.leaseExpiresAt ? (job.leaseExpiresAt.getTime() - now) / 1000 : null,
  }));
};

const duration = (seconds: number): string =>
  seconds >= 3600
    ? `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
    : seconds >= 60
    ? `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
    : `${Math.round(seconds)}s`;

/** Jobs paused at a gate, with how long they waited and have left. */
const pausedJobs = async (store: Store, tenantId: string): Promise<ReadonlyArray<PausedJob>> => {
  const jobs = await Effect.runPromise(store.ledger.list({ statuses: ["paused"], tenantId }));
  if (jobs.length === 0) return [];
  const config = await Effect.runPromise(Effect.result(loadPipelines()));
  const now = Date.now();
  return jobs.map((job) => {
    const gate = config._tag === "Success" && job.currentStage
      ? config.success.pipeline(job.pipeline)?.stages.find((s) => s.name === job.currentStage)?.gate
      : undefined;
    const pausedAt = job.pausedAt ?? job.updatedAt;
    return {
      jobId: job.jobId,
      docId: job.docId,
      gate: job.currentStage ?? "?",
      waitingSeconds: Math.max(0, (now - pausedAt.getTime()) / 1000),
      timeLeftSeconds: gate ? gateTimeLeftMs(gate, pausedAt, now) / 1000 : null,
    };
  });
};

/** Runs the command; returns its exit status. */
export const main = async (args: ReadonlyArray<string>): Promise<number> => {
  if (wantsHelp(args)) {
    console.log(USAGE);
    return 0;
  }
  let flags;
  try {
    ({ flags } = parseArgs(args, {
      store: { type: "string" },
      json: { type: "boolean" },
      tenant: { type: "string" },
    }));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`status: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const storeDir = storeSpec(flags.store as string | undefined);
  const store = await openExistingStore("status", storeDir, { keepLeases: true });
  if (typeof store === "number") return store;
  try {
    const tenant = (flags.tenant as string | undefined) ?? "default";
    const stats = await Effect.runPromise(storeStats(store.client, tenant));
    const footprint = await Effect.runPromise(storeFootprint(store.client));
    const paused = await pausedJobs(store, tenant);
    const running = await runningJobs(store, tenant);
    if (flags.json) {
      console.log(JSON.stringify({ tenant, ...stats, footprint, running, paused }));
      return 0;
    }
    console.log(`store: ${store.client.location}\ntenant: ${tenant}\n`);
    console.log(
      table(["jobs", "count"], Object.entries(stats.jobs).map(([k, v]) => [k, String(v)])),
    );
    console.log();
    console.log(table(["index / graph", "count"], [
      ["documents", String(stats.documents)],
      ["chunks", String(stats.chunks)],
      ["embeddings", String(stats.embeddings)],
      ["kg nodes", String(stats.kg.nodes)],
      ["kg edges", String(stats.kg.edges)],
      ["openlineage events", String(stats.outbox.openlineage)],
      ["cloudevents", String(stats.outbox.cloudevents)],
    ]));
    console.log();
    console.log(table(["store (every tenant)", "size"], [
      ["database", megabytes(footprint.databaseBytes)],
      ["WAL", footprint.walBytes === null ? "-" : megabytes(footprint.walBytes)],
      ["outbox events pending", String(footprint.outbox.pending)],
      ["outbox events delivered", String(footprint.outbox.delivered)],
    ]));
    if (running.length > 0) {
      console.log();
      console.log(table(
        ["running job", "document", "stage", "held by", "lease"],
        running.map((r) => [
          r.jobId,
          r.docId,
          r.stage ?? "-",
          r.leaseOwner ?? "-",
          r.leaseSecondsLeft === null
            ? "none"
            : r.leaseSecondsLeft > 0
            ? `${duration(r.leaseSecondsLeft)} left`
            : "expired",
        ]),
      ));
    }
    if (paused.length > 0) {
      console.log();
      console.log(table(
        ["paused job", "document", "gate", "waiting", "time left"],
        paused.map((p) => [
          p.jobId,
          p.docId,
          p.gate,
          duration(p.waitingSeconds),
          p.timeLeftSeconds === null
            ? "?"
            : p.timeLeftSeconds > 0
            ? duration(p.timeLeftSeconds)
            : "overdue",
        ]),
      ));
    }
    return 0;
  } finally {
    await store.close();
  }
};

if (import.meta.main) Deno.exit(await main(Deno.args));
