import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverRecords } from "../../../adapters/sources/discover.ts";
import { makeFileIngestStage } from "../../../adapters/sources/file_ingest.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, type StageError } from "../../../stages/errors.ts";
import type { IngestRequest } from "../../../stages/ir.ts";

const ctx: StageContext = {
  tenantId: "test",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "ingest",
  attempt: 1,
  metadata: {},
};

const inputs = (request: IngestRequest) => ({ request });

const study = (nctId: string, briefTitle: string) => ({
  protocolSection: { identificationModule: { nctId, briefTitle } },
});

const failureOf = async (effect: Effect.Effect<unknown, StageError>): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(effect);
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  return exit.cause.reasons.map((reason) => (reason._tag === "Fail" ? reason.error : reason));
};

describe("file ingest under the input limits", () => {
  let dir = "";
  const stage = makeFileIngestStage({ maxBytes: 4096 });
  const run = (request: IngestRequest) => stage.run(ctx, inputs(request), {});

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lineage-kit-limits-"));
    const page = {
      studies: [
        study("NCT00000001", "Fine"),
        study("NCT00000002", "Poisoned \u0000 title"),
        study("NCT00000003", "Also fine"),
      ],
    };
    await writeFile(join(dir, "page.json"), JSON.stringify(page));
    await writeFile(join(dir, "big.json"), JSON.stringify(study("NCT00000004", "x".repeat(5000))));
    await writeFile(
      join(dir, "latin1.json"),
      new Uint8Array([...new TextEncoder().encode('{"a": "caf'), 0xe9, 0x22, 0x7d]),
    );
    const search = JSON.parse(
      await readFile("tests/fixtures/europepmc-pmc/search_pmid_20516115.json", "utf8"),
    );
    delete search.resultList.result[0].pmcid;
    search.resultList.result[0].id = "2051\u00006115";
    await writeFile(join(dir, "europepmc.json"), JSON.stringify(search));
    await writeFile(
      join(dir, "bom.json"),
      `\uFEFF${JSON.stringify(study("NCT00000005", "With a byte order mark"))}`,
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("fails the one record of a list holding a NUL, naming its field; its siblings pass", async () => {
    const file = `${dir}/page.json`;
    const found = await discoverRecords([file], { limits: { maxBytes: 4096 } });
    expect(found.map((d) => d.request.docKey)).toEqual([
      "NCT00000001",
      "NCT00000002",
      "NCT00000003",
    ]);
    const [first, poisoned, third] = found.map((d) => d.request);
    expect((await Effect.runPromise(run(first))).record).toEqual(study("NCT00000001", "Fine"));
    expect((await Effect.runPromise(run(third))).record).toEqual(study("NCT00000003", "Also fine"));
    const path = "studies[1].protocolSection.identificationModule.briefTitle";
    expect(await failureOf(run(poisoned))).toEqual([
      new InvalidInput({
        message: `${file}: ${path}: a string holding a NUL character (U+0000) at character 9, ` +
          "which the store cannot hold",
        path,
      }),
    ]);
  });

  it("refuses a file over max_bytes, in discovery and at ingest alike", async () => {
    const file = `${dir}/big.json`;
    const bytes = JSON.stringify(study("NCT00000004", "x".repeat(5000))).length;
    const message = `${file}: ${bytes} bytes, larger than the limit of 4096 bytes (max_bytes)`;
    const [found] = await discoverRecords([file], { limits: { maxBytes: 4096 } });
    expect(found).toEqual({
      request: {
        source: "clinicaltrials",
        docKey: file,
        location: { kind: "file", file, pointer: "" },
      },
      problem: message,
    });
    expect(await failureOf(run(found.request))).toEqual([
      new InvalidInput({ message, path: file }),
    ]);
  });

  it("refuses bytes that are not UTF-8 with the offset of the first bad byte", async () => {
    const file = `${dir}/latin1.json`;
    const request: IngestRequest = {
      source: "clinicaltrials",
      docKey: file,
      location: { kind: "file", file, pointer: "" },
    };
    expect(await failureOf(run(request))).toEqual([
      new InvalidInput({
        message: `${file}: byte 10: invalid UTF-8 (0xE9 0x22 0x7D)`,
        path: `${file}: byte 10`,
      }),
    ]);
  });

  it("never makes a key the store cannot hold into a job id (Europe PMC id with a NUL)", async () => {
    const file = `${dir}/europepmc.json`;
    const [found] = await discoverRecords([file]);
    expect(found).toEqual({
      request: {
        source: "europepmc",
        docKey: `${file}#0`,
        location: { kind: "file", file, pointer: "/resultList/result/0" },
      },
      problem: `${file}: resultList.result[0].id: expected string of at most 200 characters the ` +
        'store can hold, received "MED-2051\\u00006115"',
    });
    const path = "resultList.result[0].id";
    expect(await failureOf(run(found.request))).toEqual([
      new InvalidInput({
        message: `${file}: ${path}: a string holding a NUL character (U+0000) at character 4, ` +
          "which the store cannot hold",
        path,
      }),
    ]);
  });

  it("accepts a file that starts with a byte order mark", async () => {
    const file = `${dir}/bom.json`;
    const [found] = await discoverRecords([file]);
    expect((await Effect.runPromise(run(found.request))).record).toEqual(
      study("NCT00000005", "With a byte order mark"),
    );
  });
});
