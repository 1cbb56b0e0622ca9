/** Claims the store tests make. */
import type { BeginRun, JobLease } from "../../../pipelines/ledger.ts";

/** The claim of a queued job's first run, under `lease` when given. */
export const firstRun = (jobId: string, lease?: JobLease): BeginRun => ({
  jobId,
  runNumber: 1,
  at: new Date(),
  from: ["queued"],
  fresh: false,
  reason: "run",
  ...(lease === undefined ? {} : { lease }),
});
