/**
 * Commands act on one tenant's jobs: `--tenant ID` (default `default`). A job id of another
 * tenant is refused as if it did not exist, so one tenant learns nothing of another's jobs.
 *
 * @module
 */
import type { Job } from "../pipelines/ledger.ts";
import type { FlagSpec } from "./_args.ts";

/** The tenant a command uses when none is given. */
export const DEFAULT_TENANT = "default";

/** The `--tenant` flag. */
export const tenantFlag: Readonly<Record<string, FlagSpec>> = { tenant: { type: "string" } };

/** The `--tenant` value, or the default tenant. */
export const tenantOf = (flags: Readonly<Record<string, unknown>>): string =>
  (flags.tenant as string | undefined) ?? DEFAULT_TENANT;

/**
 * The job when it exists and belongs to `tenant`; otherwise prints `<name>: no job <id> in
 * tenant "<tenant>"` and returns undefined (the caller exits 2).
 */
export const jobOfTenant = (
  name: string,
  jobId: string,
  job: Job | undefined,
  tenant: string,
): Job | undefined => {
  if (job !== undefined && job.tenantId === tenant) return job;
  console.error(`${name}: no job ${jobId} in tenant "${tenant}"`);
  return undefined;
};
