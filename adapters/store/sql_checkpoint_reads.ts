/**
 * Reading a job's checkpoints when its run starts, through the same batching as the store's group
 * commit: the jobs that start together (every slot a run fills at once) read their checkpoints in
 * one statement instead of one round trip each.
 *
 * @module
 */
import type { SqlClient, SqlExecutor } from "./sql_client.ts";
import { type GroupCommit, makeGroupCommit } from "./_group_commit.ts";

/** A job's checkpoints: each checkpointed stage's output. */
export type Checkpoints = ReadonlyMap<string, unknown>;

const read = async (
  db: SqlExecutor,
  jobIds: ReadonlyArray<string>,
): Promise<ReadonlyArray<Checkpoints>> => {
  // Each output is the JSON text the stage write stored.
  const rows = await db.query<{ job_id: string; stage: string; output: string }>(
    "select job_id, stage, output from lk_checkpoints where job_id = any($1::text[])",
    [[...new Set(jobIds)]],
  );
  const byJob = new Map<string, Map<string, unknown>>();
  for (const { job_id, stage, output } of rows) {
    const outputs = byJob.get(job_id) ?? new Map<string, unknown>();
    outputs.set(stage, JSON.parse(output));
    byJob.set(job_id, outputs);
  }
  return jobIds.map((id) => byJob.get(id) ?? new Map());
};

/** The checkpoint reader of one store. */
export const makeCheckpointReader = (db: SqlClient): GroupCommit<string, Checkpoints> =>
  makeGroupCommit(db, {
    batch: read,
    single: async (db, jobId) => (await read(db, [jobId]))[0],
  });
