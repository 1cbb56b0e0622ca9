import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Effect, Exit } from "effect";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  checkMineruHealth,
  type MineruResult,
  parsePdfWithMineru,
} from "../../../adapters/mineru/mineru_client.ts";
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  Permanent,
  type StageError,
  Transient,
} from "../../../stages/errors.ts";
import { failedFetch } from "../../_fakes/failed_fetch.ts";

const shared = new URL("../../fixtures/", import.meta.url);
const fixturePath = (path: string): string => fileURLToPath(new URL(path, shared));
const helsinkiPdf = fixturePath("pdfs/W2497721881.pdf");
const mrcPdf = fixturePath("pdfs/W2162544110.pdf");
const contentListText = (id: string) =>
  readFile(fixturePath(`mineru/mineru-2.5.4-pipeline/${id}/${id}_content_list.json`), "utf8");

const baseUrl = "http://mineru.test:8000";
const server = setupServer();

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly form: FormData | undefined;
}
const sent: Array<Sent> = [];

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
beforeEach(() => {
  sent.length = 0;
});
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** A `/file_parse` handler that records the multipart form and answers with `respond()`. */
const fileParse = (respond: () => Response | Promise<Response>) =>
  http.post(`${baseUrl}/file_parse`, async ({ request }) => {
    sent.push({ method: request.method, url: request.url, form: await request.formData() });
    return respond();
  });

const failure = (exit: Exit.Exit<unknown, StageError>): StageError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail");
  if (reason === undefined || reason._tag !== "Fail") throw new Error("expected a typed failure");
  return reason.error;
};

const parseHelsinki = () =>
  Effect.runPromiseExit(parsePdfWithMineru({ baseUrl, pdfPath: helsinkiPdf }));

describe("parsePdfWithMineru()", () => {
  it("posts the PDF as multipart and reads a 2.5.x response", async () => {
    const contentList = JSON.parse(await contentListText("W2497721881"));
    server.use(fileParse(() =>
      HttpResponse.json({
        backend: "pipeline",
        version: "2.5.4",
        results: { W2497721881: { content_list: contentList } },
      })
    ));
    const exit = await Effect.runPromiseExit(
      parsePdfWithMineru({ baseUrl: `${baseUrl}/`, pdfPath: helsinkiPdf }),
    );
    expect(exit).toEqual(Exit.succeed<MineruResult>({
      fileName: "W2497721881.pdf",
      backend: "pipeline",
      version: "2.5.4",
      taskId: undefined,
      contentList,
      markdown: undefined,
    }));
    expect(sent).toHaveLength(1);
    const [{ method, url, form }] = sent;
    expect([method, url]).toEqual(["POST", `${baseUrl}/file_parse`]);
    const file = form!.get("files") as File;
    expect([file.name, file.type, file.size]).toEqual([
      "W2497721881.pdf",
      "application/pdf",
      146345,
    ]);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(
      new Uint8Array(await readFile(helsinkiPdf)),
    );
    expect([...form!.entries()].filter(([k]) => k !== "files")).toEqual([
      ["lang_list", "en"],
      ["backend", "pipeline"],
      ["return_content_list", "true"],
      ["return_md", "false"],
    ]);
  });

  it("reads a 3.x response whose content_list is JSON text", async () => {
    const text = await contentListText("W2162544110");
    server.use(fileParse(() =>
      HttpResponse.json({
        task_id: "5f0c3a5e-1111-4a2b-9c3d-000000000001",
        status: "completed",
        backend: "hybrid-engine",
        file_names: ["paper"],
        error: null,
        version: "3.4.4",
        results: { paper: { content_list: text, md_content: "# Developing…" } },
      })
    ));
    const exit = await Effect.runPromiseExit(
      parsePdfWithMineru({
        baseUrl,
        pdfPath: mrcPdf,
        fileName: "paper.pdf",
        backend: "hybrid-engine",
        lang: "en",
      }),
    );
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause));
    expect(exit.value.taskId).toBe("5f0c3a5e-1111-4a2b-9c3d-000000000001");
    expect(exit.value.version).toBe("3.4.4");
    expect(exit.value.markdown).toBe("# Developing…");
    expect(exit.value.contentList).toEqual(JSON.parse(text));
    expect(exit.value.contentList).toHaveLength(68);
    const file = sent[0].form!.get("files") as File;
    expect([file.name, file.size, sent[0].form!.get("backend")]).toEqual([
      "paper.pdf",
      996880,
      "hybrid-engine",
    ]);
  });

  it("fails with GpuOutOfMemory on a 409 carrying CUDA out of memory, after one request", async () => {
    const error =
      "CUDA out of memory. Tried to allocate 490.00 MiB. GPU 0 has a total capacity of 15.56 GiB of which 312.00 MiB is free.";
    server.use(fileParse(() =>
      HttpResponse.json({
        task_id: "t-1",
        status: "failed",
        error,
        message: "Task execution failed",
      }, { status: 409 })
    ));
    expect(failure(await parseHelsinki())).toEqual(
      new GpuOutOfMemory({ message: `MinerU ran out of GPU memory: ${error}` }),
    );
    expect(sent).toHaveLength(1);
  });

  it("fails with GpuOutOfMemory on a 2.x 500 whose error names OutOfMemoryError", async () => {
    server.use(fileParse(() =>
      HttpResponse.json({
        error: "Failed to process file: torch.OutOfMemoryError: CUDA out of memory.",
      }, { status: 500 })
    ));
    expect(failure(await parseHelsinki())._tag).toBe("GpuOutOfMemory");
  });

  it("fails with GpuUnavailable on a CUDA error", async () => {
    server.use(fileParse(() =>
      HttpResponse.json({
        status: "failed",
        error: "CUDA error: an illegal memory access was encountered",
      }, { status: 409 })
    ));
    expect(failure(await parseHelsinki())).toEqual(
      new GpuUnavailable({
        message: "MinerU GPU failure: CUDA error: an illegal memory access was encountered",
      }),
    );
  });

  it("fails with InvalidInput on a 409 without GPU text (a PDF MinerU cannot parse)", async () => {
    server.use(fileParse(() =>
      HttpResponse.json({
        task_id: "t-2",
        status: "failed",
        error: "Failed to open file: cannot open broken document",
        message: "Task execution failed",
      }, { status: 409 })
    ));
    expect(failure(await parseHelsinki())).toEqual(
      new InvalidInput({
        message: "MinerU could not parse the PDF: Failed to open file: cannot open broken document",
        path: helsinkiPdf,
      }),
    );
  });

  it("fails with InvalidInput on a 400", async () => {
    server.use(
      fileParse(() =>
        HttpResponse.json({ detail: "Unsupported file type: .xyz" }, { status: 400 })
      ),
    );
    expect(failure(await parseHelsinki())).toEqual(
      new InvalidInput({
        message: "MinerU rejected the request (HTTP 400): Unsupported file type: .xyz",
        path: helsinkiPdf,
      }),
    );
  });

  it("classifies 503 by message: at capacity is Transient, anything else GpuUnavailable", async () => {
    server.use(fileParse(() =>
      HttpResponse.json(
        { detail: "Server is at maximum capacity: 2. Please try again later." },
        { status: 503 },
      )
    ));
    expect(failure(await parseHelsinki())).toEqual(
      new Transient({
        message:
          "MinerU is at capacity (HTTP 503): Server is at maximum capacity: 2. Please try again later.",
        retryAfterMs: undefined,
      }),
    );
    server.use(
      fileParse(() =>
        HttpResponse.json({ detail: "Task manager is not initialized" }, { status: 503 })
      ),
    );
    expect(failure(await parseHelsinki())).toEqual(
      new GpuUnavailable({
        message: "MinerU is unavailable (HTTP 503): Task manager is not initialized",
      }),
    );
  });

  it("fails with GpuUnavailable when the service refuses the connection", async () => {
    server.use(fileParse(() => HttpResponse.error()));
    expect(failure(await parseHelsinki())).toEqual(
      new GpuUnavailable({
        message: `MinerU at ${baseUrl}/file_parse is unreachable: Failed to fetch`,
      }),
    );
    expect(sent).toHaveLength(1);
  });

  it("says what happened to the connection, not only that fetch failed", async () => {
    const fetch = failedFetch("tcp connect error: Connection refused (os error 111)");
    const exit = await Effect.runPromiseExit(
      parsePdfWithMineru({ baseUrl, pdfPath: helsinkiPdf, fetch }),
    );
    expect(failure(exit)).toEqual(
      new GpuUnavailable({
        message: `MinerU at ${baseUrl}/file_parse is unreachable: ` +
          "tcp connect error: Connection refused (os error 111)",
      }),
    );
  });

  it("fails with Permanent when the response has no content list for the file", async () => {
    server.use(
      fileParse(() =>
        HttpResponse.json({ backend: "pipeline", version: "2.5.4", results: { other: {} } })
      ),
    );
    expect(failure(await parseHelsinki())).toEqual(
      new Permanent({
        message: "MinerU returned no content_list for W2497721881.pdf (results: other)",
      }),
    );
  });

  it("fails with Permanent when a content list item is malformed", async () => {
    server.use(fileParse(() =>
      HttpResponse.json({
        results: { W2497721881: { content_list: '[{"type":"text","text":"x"}]' } },
      })
    ));
    expect(failure(await parseHelsinki())).toEqual(
      new Permanent({
        message:
          "MinerU returned an unexpected content_list: [0].page_idx: expected number, received undefined",
      }),
    );
  });

  it("fails with InvalidInput when the PDF file is missing, without a request", async () => {
    const exit = await Effect.runPromiseExit(
      parsePdfWithMineru({ baseUrl, pdfPath: "/nonexistent/x.pdf" }),
    );
    expect(failure(exit)).toEqual(
      new InvalidInput({
        message: "/nonexistent/x.pdf: cannot read the PDF: no such file",
        path: "/nonexistent/x.pdf",
      }),
    );
    expect(sent).toEqual([]);
  });
});

describe("checkMineruHealth()", () => {
  it("reports a healthy 3.x service and its version", async () => {
    server.use(
      http.get(
        `${baseUrl}/health`,
        () => HttpResponse.json({ status: "healthy", version: "3.4.4" }),
      ),
    );
    expect(await Effect.runPromise(checkMineruHealth(baseUrl))).toEqual({
      status: "healthy",
      version: "3.4.4",
    });
  });

  it("fails with GpuUnavailable on a 503 health check", async () => {
    server.use(
      http.get(`${baseUrl}/health`, () =>
        HttpResponse.json(
          { status: "unhealthy", version: "3.4.4", error: "model not loaded" },
          { status: 503 },
        )),
    );
    expect(failure(await Effect.runPromiseExit(checkMineruHealth(baseUrl)))).toEqual(
      new GpuUnavailable({ message: "MinerU is unhealthy (HTTP 503): model not loaded" }),
    );
  });

  it("says unknown for 2.5.x, which has no health route", async () => {
    server.use(http.get(`${baseUrl}/health`, () => new HttpResponse(null, { status: 404 })));
    expect(await Effect.runPromise(checkMineruHealth(baseUrl))).toEqual({
      status: "unknown",
      version: undefined,
    });
  });

  it("fails with GpuUnavailable when the service is down", async () => {
    server.use(http.get(`${baseUrl}/health`, () => HttpResponse.error()));
    expect(failure(await Effect.runPromiseExit(checkMineruHealth(baseUrl)))).toEqual(
      new GpuUnavailable({
        message: `MinerU at ${baseUrl}/health is unreachable: Failed to fetch`,
      }),
    );
  });
});
