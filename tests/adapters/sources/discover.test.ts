import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cwd } from "node:process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Discovered,
  discoverRecords,
  displayPath,
  guessSource,
} from "../../../adapters/sources/discover.ts";
import type { SourceName } from "../../../stages/ir.ts";

const request = (
  source: SourceName,
  docKey: string,
  file: string,
  pointer: string,
): Discovered => ({
  request: { source, docKey, location: { kind: "file", file, pointer } },
});

const bundled = (
  source: SourceName,
  docKey: string,
  file: string,
  pointer = "",
): Discovered => request(source, docKey, `data/records/${file}`, pointer);

const phelan = "clinicaltrials/search_phelan_limit5_20260811.json";
const sample = "openalex/test_get_random_id_from_openalex.response-1.json";
const labels = "openfda/label_gefitinib_20261007.json";

describe("discoverRecords() on the bundled records", () => {
  it("lists every record with its source, key, file and pointer, in path order", async () => {
    expect(await discoverRecords(["data/records"])).toEqual([
      bundled("clinicaltrials", "NCT00763412", "clinicaltrials/NCT00763412.json"),
      bundled("clinicaltrials", "NCT03630471", "clinicaltrials/NCT03630471.json"),
      bundled("clinicaltrials", "NCT06171568", "clinicaltrials/NCT06171568.json"),
      bundled("clinicaltrials", "NCT02710084", phelan, "/studies/0"),
      bundled("clinicaltrials", "NCT05105685", phelan, "/studies/1"),
      bundled("clinicaltrials", "NCT01525901", phelan, "/studies/2"),
      bundled("clinicaltrials", "NCT03493607", phelan, "/studies/3"),
      bundled("clinicaltrials", "NCT07119606", phelan, "/studies/4"),
      bundled("openalex", "W2741809807", "openalex/W2741809807.json"),
      bundled("openalex", "W1989154056", "openalex/test_date_in_future.response-0.json"),
      bundled("openalex", "W2600965442", sample, "/results/0"),
      bundled("openalex", "W2042435470", sample, "/results/1"),
      bundled("openalex", "W2497229624", sample, "/results/2"),
      bundled("openalex", "W7120675484", sample, "/results/3"),
      bundled("openalex", "W2117049431", sample, "/results/4"),
      bundled("openalex", "W1982728624", "openalex/test_journal_article.response-0.json"),
      bundled("openfda", "1a3c0ce7-06a1-4e04-9106-14ddb2a866a5", labels, "/results/0"),
      bundled("openfda", "6402435f-9f6a-4f02-91a2-6267d783fa78", labels, "/results/1"),
      bundled("openfda", "827d60e8-7e07-41b7-c28b-49ef1c4a5a41", labels, "/results/2"),
      bundled("openfda", "0afc12dd-12f8-4def-9027-f38412a862b9", labels, "/results/3"),
    ]);
  });

  it("keeps a record found twice once, in first-path order", async () => {
    const once = await discoverRecords(["data/records/openfda"]);
    const twice = await discoverRecords([
      `data/records/${labels}`,
      "data/records/openfda",
      "data/records/openfda",
    ]);
    expect(twice).toEqual(once);
    expect(once.map((d) => d.request.docKey)).toHaveLength(4);
  });

  it("reads OpenAlex works in an openalex-pdf folder, or with --source openalex-pdf, as openalex-pdf", async () => {
    const pdfWork = request(
      "openalex-pdf",
      "W2741809807",
      "data/pdf-records/openalex-pdf/W2741809807.json",
      "",
    );
    expect(await discoverRecords(["data/pdf-records/openalex-pdf"])).toEqual([pdfWork]);
    const forced = await discoverRecords(["data/records/openalex/W2741809807.json"], {
      source: "openalex-pdf",
    });
    expect(forced.map((d) => [d.request.source, d.request.docKey])).toEqual([
      ["openalex-pdf", "W2741809807"],
    ]);
    // The same record elsewhere stays an openalex (metadata) document.
    expect((await discoverRecords(["data/records/openalex/W2741809807.json"]))[0].request.source)
      .toBe("openalex");
    // The innermost folder naming a source decides.
    const root = await mkdtemp(join(tmpdir(), "lk-variant-"));
    try {
      const work = await readFile("data/records/openalex/W2741809807.json", "utf8");
      for (const dir of ["openalex-pdf/openalex", "openalex_pdf_runs/openalex-pdf"]) {
        await mkdir(join(root, dir), { recursive: true });
        await writeFile(join(root, dir, "W2741809807.json"), work);
      }
      const sources = async (dir: string) =>
        (await discoverRecords([join(root, dir)])).map((d) => d.request.source);
      expect(await sources("openalex-pdf/openalex")).toEqual(["openalex"]);
      expect(await sources("openalex_pdf_runs/openalex-pdf")).toEqual(["openalex-pdf"]);
    } finally {
      await rm(root, { recursive: true });
    }
  });

  it("reads every file as the forced source when it has that shape", async () => {
    expect(await discoverRecords(["data/records/openfda"], { source: "openfda" })).toEqual(
      await discoverRecords(["data/records/openfda"]),
    );
  });
});

describe("discoverRecords() on bad input", () => {
  let dir = "";
  const truncated =
    '{\n  "studies": [\n    {"protocolSection": {"identificationModule": {"nctId": "NCT0';

  const study = (nctId: unknown) => ({
    protocolSection: { identificationModule: { nctId, briefTitle: `Study ${String(nctId)}` } },
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lineage-kit-discover-"));
    await mkdir(join(dir, "ctgov"));
    await mkdir(join(dir, "openfda"));
    await mkdir(join(dir, "valid"));
    await mkdir(join(dir, ".hidden"));
    const list = { studies: [study("NCT00000001"), study(12345), study("NCT00000003")] };
    await writeFile(join(dir, "ctgov", "page.json"), JSON.stringify(list, null, 2));
    await writeFile(join(dir, "openfda", "truncated.json"), truncated);
    await writeFile(join(dir, "notes.json"), JSON.stringify({ hello: "world" }));
    await writeFile(join(dir, "notes.txt"), "not a record");
    await writeFile(join(dir, ".hidden", "skip.json"), "{");
    await writeFile(
      join(dir, "valid", "work.json"),
      await readFile("data/records/openalex/W2741809807.json", "utf8"),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("gives each record, each broken file and each unknown file its own request", async () => {
    const page = `${dir}/ctgov/page.json`;
    const broken = `${dir}/openfda/truncated.json`;
    const notes = `${dir}/notes.json`;
    expect(await discoverRecords([dir])).toEqual([
      request("clinicaltrials", "NCT00000001", page, "/studies/0"),
      {
        ...request("clinicaltrials", `${page}#1`, page, "/studies/1"),
        problem:
          `${page}: studies[1].protocolSection.identificationModule.nctId: expected string, received number`,
      },
      request("clinicaltrials", "NCT00000003", page, "/studies/2"),
      {
        ...request("clinicaltrials", notes, notes, ""),
        problem:
          `${notes}: not a record or list response of a known source (found an object with keys hello)`,
      },
      {
        ...request("openfda", broken, broken, ""),
        problem: `${broken}:3:65: invalid JSON: Unterminated string`,
      },
      request("openalex", "W2741809807", `${dir}/valid/work.json`, ""),
    ]);
  });

  it("makes a path that does not exist one failing request", async () => {
    const missing = `${dir}/openalex/missing.json`;
    expect(await discoverRecords([missing])).toEqual([
      {
        ...request("openalex", missing, missing, ""),
        problem: `${missing}: cannot read: no such file`,
      },
    ]);
  });

  it("reports a file whose shape is not the forced source's", async () => {
    const work = `${dir}/valid/work.json`;
    const [found] = await discoverRecords([work], { source: "clinicaltrials" });
    expect(found).toEqual({
      ...request("clinicaltrials", work, work, ""),
      problem: `${work}: not a record or list response of source "clinicaltrials" ` +
        "(found an object with keys id, doi, title, display_name, publication_year, publication_date, ids, language)",
    });
  });
});

describe("guessSource()", () => {
  it("reads the innermost hint in a path", () => {
    expect([
      guessSource("data/records/clinicaltrials/x.json"),
      guessSource("records/openalex/W1.json"),
      guessSource("x/openfda/bad.json"),
      guessSource("openfda/ctgov/bad.json"),
      guessSource("somewhere/else.json"),
      guessSource("pdf-records/openalex-pdf/works.json"),
    ]).toEqual([
      "clinicaltrials",
      "openalex",
      "openfda",
      "clinicaltrials",
      undefined,
      "openalex-pdf",
    ]);
  });
});

describe("displayPath()", () => {
  it("shows files inside the working directory relative to it, others absolute", () => {
    expect(displayPath("./data/records/../records/x.json")).toBe("data/records/x.json");
    expect(displayPath(`${cwd()}/data/x.json`)).toBe("data/x.json");
    expect(displayPath("/elsewhere/x.json")).toBe("/elsewhere/x.json");
  });
});
