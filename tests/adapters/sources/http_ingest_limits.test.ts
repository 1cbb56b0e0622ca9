import { Effect } from "effect";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { makeHttpIngestStage, urlFor } from "../../../adapters/sources/http_ingest.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, type StageError } from "../../../stages/errors.ts";
import type { IngestRequest, SourceName } from "../../../stages/ir.ts";
import {
  compareStageErrorMessages,
  recordedJson,
  recordedText,
  useMockServer,
} from "../../_fixtures/http.ts";

compareStageErrorMessages();
const { server, recorder } = useMockServer();

const ctx: StageContext = {
  tenantId: "t1",
  jobId: "job-1",
  docId: "doc-1",
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "ingest",
  attempt: 1,
  metadata: {},
};

const inputsFor = (request: IngestRequest) => ({ request });

const urlRequest = (source: SourceName, docKey: string) => ({
  source,
  docKey,
  location: { kind: "url" as const, url: urlFor(source, docKey) },
});

const stage = makeHttpIngestStage({ limits: { maxBytes: 64 * 1024 } });
const ingest = (request: IngestRequest) =>
  Effect.runPromise(stage.run(ctx, inputsFor(request), {}));
const failure = (request: IngestRequest): Promise<StageError> =>
  Effect.runPromise(Effect.flip(stage.run(ctx, inputsFor(request), {})));

const ctgovUrl = "https://clinicaltrials.gov/api/v2/studies/NCT00763412";

describe("HTTP ingest under the input limits", () => {
  it("stops reading a body past max_bytes and refuses it", async () => {
    server.use(http.get(ctgovUrl, () => HttpResponse.text(`"${"x".repeat(200_000)}"`)));
    expect(await failure(urlRequest("clinicaltrials", "NCT00763412"))).toEqual(
      new InvalidInput({
        message: `GET ${ctgovUrl}: body larger than the limit of 65536 bytes (max_bytes)`,
        path: ctgovUrl,
      }),
    );
  });

  it("refuses a body that is not UTF-8 with the byte offset", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"a": "caf'), 0xe9, 0x22, 0x7d]);
    server.use(http.get(ctgovUrl, () => new HttpResponse(bytes)));
    expect(await failure(urlRequest("clinicaltrials", "NCT00763412"))).toEqual(
      new InvalidInput({
        message: `GET ${ctgovUrl}: byte 10: invalid UTF-8 (0xE9 0x22 0x7D)`,
        path: `GET ${ctgovUrl}: byte 10`,
      }),
    );
  });

  it("refuses a recorded study carrying a NUL, naming the field", async () => {
    const study = recordedJson("clinicaltrials/NCT00763412.json") as {
      protocolSection: { descriptionModule: { briefSummary: string } };
    };
    study.protocolSection.descriptionModule.briefSummary = "Before\u0000after";
    server.use(http.get(ctgovUrl, () => HttpResponse.json(study)));
    const path = "protocolSection.descriptionModule.briefSummary";
    expect(await failure(urlRequest("clinicaltrials", "NCT00763412"))).toEqual(
      new InvalidInput({
        message: `GET ${ctgovUrl}: ${path}: a string holding a NUL character (U+0000) at ` +
          "character 6, which the store cannot hold",
        path,
      }),
    );
  });

  it("asks Drugs@FDA for an application number and takes its first result", async () => {
    const page = recordedJson("openfda/drugsfda_imatinib_20260811.json") as {
      readonly results: ReadonlyArray<unknown>;
    };
    server.use(http.get("https://api.fda.gov/drug/drugsfda.json", () => HttpResponse.json(page)));
    const request = urlRequest("openfda", "NDA021588");
    expect(await ingest(request)).toEqual({ ...request, record: page.results[0] });
    expect((await recorder.requests()).map((r) => r.url)).toEqual([
      "https://api.fda.gov/drug/drugsfda.json?search=application_number:%22NDA021588%22&limit=1",
    ]);
  });

  it("asks FAERS for a safetyreportid and refuses a count response it answers with", async () => {
    server.use(
      http.get(
        "https://api.fda.gov/drug/event.json",
        () =>
          HttpResponse.text(
            recordedText("openfda/faers_count_pembrolizumab_reaction_20260811.json"),
          ),
      ),
    );
    const request = urlRequest("openfda", "faers-10003300");
    const url = "https://api.fda.gov/drug/event.json?search=safetyreportid:%2210003300%22&limit=1";
    expect(request.location.url).toBe(url);
    expect(await failure(request)).toEqual(
      new InvalidInput({
        message: `GET ${url}: openFDA count response (term/count pairs), not a document`,
        path: url,
      }),
    );
  });
});
