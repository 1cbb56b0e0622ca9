/**
 * One run of `run-pipeline` over a batch of record files (`tests/_hostile_records.ts`), checked:
 * the run ends with its summary and `--json` line and the exit status its failures call for; each
 * valid file's document succeeded; each hostile file's job failed with a message naming the file
 * and the field (or the byte, line and column); no job is left queued or running. Returns what
 * went wrong, one line per problem, so the property test and the soak run share it.
 */
import { resolve } from "node:path";
import { Effect } from "effect";
import { displayPath } from "../adapters/sources/discover.ts";
import { openStore } from "../adapters/store/store.ts";
import { main as runPipeline } from "../cli/run_pipeline.ts";
import type { Job } from "../pipelines/ledger.ts";
import type { RecordFile } from "./_hostile_records.ts";
import { runCli, tempDir } from "./_harness.ts";

const jobsIn = async (store: string): Promise<ReadonlyArray<Job>> => {
  const opened = await openStore(store, { keepLeases: true });
  try {
    return await Effect.runPromise(opened.ledger.list());
  } finally {
    await opened.close();
  }
};

const fileOf = (job: Job): string =>
  job.request.location.kind === "file" ? job.request.location.file : "";

const jsonLine = (stdout: string): unknown => {
  try {
    return JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    return undefined;
  }
};

const fileProblems = (
  file: RecordFile,
  path: string,
  jobs: ReadonlyArray<Job>,
): ReadonlyArray<string> => {
  const mine = jobs.filter((j) => fileOf(j) === path);
  const seen = mine.map((j) => `${j.docId} ${j.status}: ${j.error?.message ?? ""}`).join(" | ");
  if (file.expect.kind === "valid") {
    const ok = mine.length === 1 && mine[0].docId === file.expect.docId &&
      mine[0].status === "succeeded";
    return ok ? [] : [`valid ${path} (${file.expect.docId}): ${seen || "no job"}`];
  }
  const { mutation, mark } = file.expect;
  const message = mine[0]?.error?.message ?? "";
  const ok = mine.length === 1 && mine[0].status === "failed" && message.includes(path) &&
    message.includes(mark);
  return ok
    ? []
    : [`${mutation} ${path}: expected a failure naming "${mark}", got ${seen || "no job"}`];
};

/** Runs the batch into `store` and says what went wrong (nothing, when the run behaved). */
export const checkRun = async (
  store: string,
  files: ReadonlyArray<RecordFile>,
): Promise<ReadonlyArray<string>> => {
  const dir = await tempDir("lk-poison-");
  try {
    for (const file of files) await Deno.writeFile(resolve(dir, file.name), file.bytes);
    const result = await runCli(runPipeline, ["--store", store, "--input", dir, "--json"]);
    const valid = files.filter((f) => f.expect.kind === "valid").length;
    const hostile = files.length - valid;
    const problems: Array<string> = [];
    if (result.stderr !== "") problems.push(`stderr: ${result.stderr}`);
    if (result.code !== (hostile > 0 ? 1 : 0)) problems.push(`exit status ${result.code}`);
    const summary = `\n${valid} succeeded, ${hostile} failed, 0 paused, 0 skipped in `;
    if (!result.stdout.includes(summary)) problems.push(`no summary line "${summary.trim()}"`);
    const expected = JSON.stringify({
      succeeded: valid,
      failed: hostile,
      paused: 0,
      skipped: 0,
      held: 0,
      cancelled: 0,
    });
    const jobsLine = JSON.stringify((jsonLine(result.stdout) as { jobs?: unknown })?.jobs);
    if (jobsLine !== expected) problems.push(`--json jobs ${jobsLine}, expected ${expected}`);
    const jobs = await jobsIn(store);
    for (const job of jobs) {
      if (job.status === "queued" || job.status === "running") {
        problems.push(`job ${job.docId} left ${job.status}`);
      }
    }
    for (const file of files) {
      problems.push(...fileProblems(file, displayPath(resolve(dir, file.name)), jobs));
    }
    return problems;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};
