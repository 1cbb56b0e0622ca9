/**
 * `deno task status [--store DIR|URL] [--json]`: what the store holds: jobs by status, indexed
 * chunks and embeddings, knowledge-graph nodes and edges, lineage events written, the jobs
 * running with the process holding each (its lease), and the jobs paused at a gate with how long
 * they waited and have left; and for the whole store, its database and WAL sizes and the outbox's
 * pending and delivered events.
 *
 * An embedded store is open in one process at a time: while a run, a worker or a sensor has it
 * open, that process reads it for `status` (adapters/store/status_socket.ts).
 *
 * @module
 */
import { Effect } from "effect";
import { describeStore, isServerStore } from "../adapters/store/store.ts";
import { readStoreStatus, type StoreStatus } from "../adapters/store/store_status.ts";
import { askHolderForStatus } from "../adapters/store/status_socket.ts";
import { readStoreHolder, type StoreHolder } from "../adapters/store/store_lock.ts";
import { loadPipelines } from "../kit/load_pipelines.ts";
import { gateTimeLeftMs } from "../pipelines/gate.ts";
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

/** Running jobs as status shows them, their leases counted from `now`. */
const runningJobs = (rows: StoreStatus["running"], now: number): ReadonlyArray<RunningJob> =>
  rows.map((job) => ({
    jobId: job.jobId,
    docId: job.docId,
    stage: job.stage,
    leaseOwner: job.leaseOwner,
    leaseSecondsLeft: job.leaseExpiresAt === null
      ? null
      : (Date.parse(job.leaseExpiresAt) - now) / 1000,
  }));

const duration = (seconds: number): string =>
  seconds >= 3600
    ? `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
    : seconds >= 60
    ? `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`
    : `${Math.round(seconds)}s`;

/** Paused jobs, with how long they waited and have left at their gate (from `now`). */
const pausedJobs = async (
  rows: StoreStatus["paused"],
  now: number,
): Promise<ReadonlyArray<PausedJob>> => {
  if (rows.length === 0) return [];
  const config = await Effect.runPromise(Effect.result(loadPipelines()));
  return rows.map((job) => {
    const gate = config._tag === "Success" && job.stage
      ? config.success.pipeline(job.pipeline)?.stages.find((s) => s.name === job.stage)?.gate
      : undefined;
    const pausedAt = new Date(job.pausedAt);
    return {
      jobId: job.jobId,
      docId: job.docId,
      gate: job.stage ?? "?",
      waitingSeconds: Math.max(0, (now - pausedAt.getTime()) / 1000),
      timeLeftSeconds: gate ? gateTimeLeftMs(gate, pausedAt, now) / 1000 : null,
    };
  });
};

const holderText = (holder: StoreHolder | undefined): string =>
  holder ? `pid ${holder.pid}, ${holder.command}, since ${holder.since}` : "holder unknown";

/**
 * The status of the store at `storeDir`: from the process holding it when one answers (an
 * embedded store is open in one process at a time), else read from the store opened here; or the
 * exit status after saying why neither could be had.
 */
const statusOf = async (
  storeDir: string,
  tenant: string,
): Promise<{ status: StoreStatus; servedBy?: StoreHolder } | number> => {
  if (!isServerStore(storeDir)) {
    const answer = await askHolderForStatus(storeDir, tenant);
    if (answer.kind === "status") return { status: answer.status, servedBy: answer.holder };
    if (answer.kind === "failed") {
      console.error(
        `status: cannot read the store at ${describeStore(storeDir)}: the process holding it (${
          holderText(await readStoreHolder(storeDir))
        }) was asked instead: ${answer.message}`,
      );
      return 2;
    }
  }
  const store = await openExistingStore("status", storeDir, { keepLeases: true });
  if (typeof store === "number") return store;
  try {
    return { status: await readStoreStatus(store, tenant) };
  } finally {
    await store.close();
  }
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
  const tenant = (flags.tenant as string | undefined) ?? "default";
  const read = await statusOf(storeDir, tenant);
  if (typeof read === "number") return read;
  const { status: { footprint, running: runningRows, paused: pausedRows, ...stats }, servedBy } =
    read;
  const now = Date.now();
  const running = runningJobs(runningRows, now);
  const paused = await pausedJobs(pausedRows, now);
  if (flags.json) {
    console.log(JSON.stringify({
      ...stats,
      footprint,
      running,
      paused,
      ...(servedBy === undefined ? {} : { servedBy }),
    }));
    return 0;
  }
  const served = servedBy === undefined
    ? ""
    : ` (open in another process: ${holderText(servedBy)}; read by it)`;
  console.log(`store: ${describeStore(storeDir)}${served}\ntenant: ${tenant}\n`);
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
};

if (import.meta.main) Deno.exit(await main(Deno.args));
