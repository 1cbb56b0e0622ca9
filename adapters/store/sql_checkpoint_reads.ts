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

/**
 * What a job's checkpoint rows read back as: each readable output, and the stages whose stored
 * text is not JSON (a row written by hand, a damaged file), which are left out: those stages run
 * again and write their checkpoint anew, instead of the job failing on every resume.
 */
export interface CheckpointRead {
  readonly outputs: Checkpoints;
  readonly unreadable: ReadonlyArray<string>;
}

const read = async (
  db: SqlExecutor,
  jobIds: ReadonlyArray<string>,
): Promise<ReadonlyArray<CheckpointRead>> => {
  // Each output is the JSON text the stage write stored.
  const rows = await db.query<{ job_id: string; stage: string; output: string }>(
    "select job_id, stage, output from lk_checkpoints where job_id = any($1::text[])",
    [[...new Set(jobIds)]],
  );
  const byJob = new Map<string, { outputs: Map<string, unknown>; unreadable: string[] }>();
  for (const { job_id, stage, output } of rows) {
    const job = byJob.get(job_id) ?? { outputs: new Map<string, unknown>(), unreadable: [] };
    try {
      job.outputs.set(stage, JSON.parse(output));
    } catch {
      job.unreadable.push(stage);
    }
    byJob.set(job_id, job);
  }
  return jobIds.map((id) => byJob.get(id) ?? { outputs: new Map(), unreadable: [] });
};

/** The checkpoint reader of one store. */
export const makeCheckpointReader = (db: SqlClient): GroupCommit<string, CheckpointRead> =>
  makeGroupCommit(db, {
    batch: read,
    single: async (db, jobId) => (await read(db, [jobId]))[0],
    oneStatement: () => true,
  });
