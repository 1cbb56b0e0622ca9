import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit } from "effect";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  isPrivateAddress,
  makePdfDownloadStage,
  type PdfDownloadOptions,
} from "../../../adapters/download/pdf_download.ts";
import type { StageContext } from "../../../stages/context.ts";
import type { StageInputs } from "../../../stages/contracts.ts";
import type { rawPayloadSchema } from "../../../stages/ir_schemas.ts";
import {
  InvalidInput,
  Permanent,
  RateLimited,
  type StageError,
  Timeout,
  Transient,
} from "../../../stages/errors.ts";
import type { PdfReceipt, RawPayload } from "../../../stages/ir.ts";
import { failedFetch } from "../../_fakes/failed_fetch.ts";

const fixture = new URL("../../fixtures/pdfs/W2497721881.pdf", import.meta.url);
let pdf: Uint8Array;

const server = setupServer();
const requests: Array<{ method: string; url: string; headers: Headers }> = [];
let fileArea: string;

beforeAll(async () => {
  pdf = new Uint8Array(await readFile(fixture));
  server.events.on("request:start", ({ request }) => {
    requests.push({ method: request.method, url: request.url, headers: request.headers });
  });
  server.listen({ onUnhandledRequest: "error" });
});
beforeEach(async () => {
  requests.length = 0;
  fileArea = await mkdtemp(join(tmpdir(), "pdf-download-"));
});
afterEach(async () => {
  server.resetHandlers();
  await rm(fileArea, { recursive: true, force: true });
});
afterAll(() => server.close());

const ctx: StageContext = {
  tenantId: "test",
  jobId: "job-1",
  docId: "unpaywall:10.1038/nature12373",
  correlationId: "corr-1",
  pipeline: { name: "pdf-two-phase", version: "1.0.0" },
  stage: "download",
  attempt: 1,
  metadata: {},
};

const payloadFor = (url: string): RawPayload => ({
  source: "unpaywall",
  docKey: "10.1038/nature12373",
  location: {
    kind: "file",
    file: "data/pdf-records/unpaywall/10.1038_nature12373.json",
    pointer: "",
  },
  record: { doi: "10.1038/nature12373", best_oa_location: { url_for_pdf: url } },
});

const inputsFor = (payload: RawPayload): StageInputs<{ Ingest: typeof rawPayloadSchema }> => ({
  request: { source: payload.source, docKey: payload.docKey, location: payload.location },
  Ingest: payload,
});

/** Public address for every host name, unless a test says otherwise. */
const publicDns = (): Promise<ReadonlyArray<string>> => Promise.resolve(["93.184.216.34"]);

const run = (url: string, options: Partial<PdfDownloadOptions> = {}) =>
  Effect.runPromiseExit(
    makePdfDownloadStage({ fileArea, resolveHost: publicDns, ...options })
      .run(ctx, inputsFor(payloadFor(url)), {}),
  );

const failure = (exit: Exit.Exit<PdfReceipt, StageError>): StageError => {
  if (Exit.isSuccess(exit)) {
    throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`);
  }
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail");
  if (reason === undefined || reason._tag !== "Fail") throw new Error("expected a typed failure");
  return reason.error;
};

const pdfResponse = () =>
  new HttpResponse(pdf, {
    headers: { "content-type": "application/pdf", "content-length": String(pdf.length) },
  });

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

describe("makePdfDownloadStage()", () => {
  it("stores the fixture PDF under its sha256 with one request", async () => {
    server.use(http.get("https://pdfs.example.org/W2497721881.pdf", pdfResponse));
    const exit = await run("https://pdfs.example.org/W2497721881.pdf");
    const digest = sha256(pdf);
    expect(exit).toEqual(Exit.succeed({
      docId: "unpaywall:10.1038/nature12373",
      uri: "https://pdfs.example.org/W2497721881.pdf",
      path: join(fileArea, `${digest}.pdf`),
      sha256: digest,
      bytes: 146345,
      contentType: "application/pdf",
    }));
    expect(sha256(new Uint8Array(await readFile(join(fileArea, `${digest}.pdf`))))).toBe(digest);
    expect(await readdir(fileArea)).toEqual([`${digest}.pdf`]);
    expect(requests.map((r) => [r.method, r.url])).toEqual([
      ["GET", "https://pdfs.example.org/W2497721881.pdf"],
    ]);
    expect(requests[0].headers.get("accept")).toBe("application/pdf");
    expect(requests[0].headers.get("user-agent")).toBe("lineage-kit (pdf download)");
  });

  it("follows a public redirect and reports the final URL", async () => {
    server.use(
      http.get(
        "https://doi.example.org/10.1038/nature12373",
        () => new HttpResponse(null, { status: 302, headers: { location: "/files/x.pdf" } }),
      ),
      http.get("https://doi.example.org/files/x.pdf", pdfResponse),
    );
    const exit = await run("https://doi.example.org/10.1038/nature12373", {
      userAgent: "test-agent/1",
    });
    expect(Exit.isSuccess(exit) && exit.value.uri).toBe("https://doi.example.org/files/x.pdf");
    expect(requests.map((r) => [r.url, r.headers.get("user-agent")])).toEqual([
      ["https://doi.example.org/10.1038/nature12373", "test-agent/1"],
      ["https://doi.example.org/files/x.pdf", "test-agent/1"],
    ]);
  });

  it("refuses an HTML landing page as not a PDF and leaves no file", async () => {
    server.use(
      http.get(
        "https://pdfs.example.org/landing",
        () => HttpResponse.html("<!DOCTYPE html><html><body>Sign in</body></html>"),
      ),
    );
    expect(failure(await run("https://pdfs.example.org/landing"))).toEqual(
      new InvalidInput({
        message: "https://pdfs.example.org/landing: not a PDF (starts with <!DOCTYPE html…)",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(await readdir(fileArea)).toEqual([]);
  });

  it("refuses a body over maxBytes while streaming and removes the partial file", async () => {
    server.use(
      http.get("https://pdfs.example.org/big.pdf", () =>
        new HttpResponse(
          new ReadableStream({
            start(controller) {
              controller.enqueue(pdf.slice(0, 600));
              controller.enqueue(pdf.slice(600, 1200));
              controller.close();
            },
          }),
          { headers: { "content-type": "application/pdf" } },
        )),
    );
    expect(failure(await run("https://pdfs.example.org/big.pdf", { maxBytes: 1000 }))).toEqual(
      new InvalidInput({
        message: "https://pdfs.example.org/big.pdf: body exceeds the 1000-byte limit",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(await readdir(fileArea)).toEqual([]);
  });

  it("refuses a declared Content-Length over maxBytes before reading the body", async () => {
    server.use(http.get("https://pdfs.example.org/W2497721881.pdf", pdfResponse));
    const exit = await run("https://pdfs.example.org/W2497721881.pdf", { maxBytes: 100_000 });
    expect(failure(exit)).toEqual(
      new InvalidInput({
        message:
          "https://pdfs.example.org/W2497721881.pdf: Content-Length 146345 exceeds the 100000-byte limit",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(await readdir(fileArea)).toEqual([]);
  });

  it("refuses a redirect to a private address without requesting it", async () => {
    server.use(
      http.get(
        "https://pdfs.example.org/r",
        () =>
          new HttpResponse(null, { status: 302, headers: { location: "http://10.0.0.1/x.pdf" } }),
      ),
    );
    expect(failure(await run("https://pdfs.example.org/r"))).toEqual(
      new InvalidInput({
        message:
          "http://10.0.0.1/x.pdf: refusing private address 10.0.0.1 (allow it with --allow-private-network, or allowPrivateNetwork in the library)",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(requests.map((r) => r.url)).toEqual(["https://pdfs.example.org/r"]);
  });

  it("downloads only http(s) URLs", async () => {
    expect(failure(await run("ftp://pdfs.example.org/x.pdf"))).toEqual(
      new InvalidInput({
        message: "ftp://pdfs.example.org/x.pdf: only http(s) URLs can be downloaded",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(requests).toEqual([]);
  });

  it("re-checks the scheme on a redirect hop", async () => {
    server.use(
      http.get(
        "https://pdfs.example.org/r",
        () => new HttpResponse(null, { status: 301, headers: { location: "file:///etc/passwd" } }),
      ),
    );
    expect(failure(await run("https://pdfs.example.org/r"))).toEqual(
      new InvalidInput({
        message: "file:///etc/passwd: only http(s) URLs can be downloaded",
        path: "best_oa_location.url_for_pdf",
      }),
    );
  });

  it("follows at most maxRedirects (5) redirects", async () => {
    server.use(
      http.get("https://pdfs.example.org/hop/:n", ({ params }) =>
        new HttpResponse(null, {
          status: 302,
          headers: { location: `/hop/${Number(params.n) + 1}` },
        })),
    );
    expect(failure(await run("https://pdfs.example.org/hop/0"))).toEqual(
      new InvalidInput({
        message: "https://pdfs.example.org/hop/0: more than 5 redirects (the last to /hop/6)",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(requests.map((r) => r.url)).toEqual(
      [0, 1, 2, 3, 4, 5].map((n) => `https://pdfs.example.org/hop/${n}`),
    );
  });

  it("refuses a host name that resolves to loopback, and asks the resolver once", async () => {
    const asked: Array<string> = [];
    const resolveHost = (host: string) => {
      asked.push(host);
      return Promise.resolve(["93.184.216.34", "127.0.0.1"]);
    };
    const exit = await run("http://pdfs.internal.example/x.pdf", { resolveHost });
    expect(failure(exit)).toEqual(
      new InvalidInput({
        message:
          "http://pdfs.internal.example/x.pdf: pdfs.internal.example resolves to private address 127.0.0.1 (allow it with --allow-private-network, or allowPrivateNetwork in the library)",
        path: "best_oa_location.url_for_pdf",
      }),
    );
    expect(asked).toEqual(["pdfs.internal.example"]);
    expect(requests).toEqual([]);
  });

  it("refuses loopback IP literals and localhost unless allowPrivateNetwork", async () => {
    server.use(http.get("http://127.0.0.1/x.pdf", pdfResponse));
    expect(failure(await run("http://127.0.0.1/x.pdf"))._tag).toBe("InvalidInput");
    expect(failure(await run("http://localhost:8080/x.pdf")).message).toBe(
      "http://localhost:8080/x.pdf: refusing private host localhost (allow it with --allow-private-network, or allowPrivateNetwork in the library)",
    );
    expect(requests).toEqual([]);
    const exit = await run("http://127.0.0.1/x.pdf", { allowPrivateNetwork: true });
    expect(Exit.isSuccess(exit) && [exit.value.uri, exit.value.bytes]).toEqual([
      "http://127.0.0.1/x.pdf",
      146345,
    ]);
  });

  it("maps 503 to Transient, 429 to RateLimited with Retry-After, 404 to Permanent", async () => {
    server.use(
      http.get("https://pdfs.example.org/503", () => new HttpResponse("busy", { status: 503 })),
      http.get(
        "https://pdfs.example.org/429",
        () => new HttpResponse(null, { status: 429, headers: { "retry-after": "7" } }),
      ),
      http.get("https://pdfs.example.org/404", () => new HttpResponse(null, { status: 404 })),
    );
    expect(failure(await run("https://pdfs.example.org/503"))).toEqual(
      new Transient({ message: "https://pdfs.example.org/503: HTTP 503 Service Unavailable" }),
    );
    expect(failure(await run("https://pdfs.example.org/429"))).toEqual(
      new RateLimited({
        message: "https://pdfs.example.org/429: HTTP 429 Too Many Requests",
        retryAfterMs: 7000,
      }),
    );
    expect(failure(await run("https://pdfs.example.org/404"))).toEqual(
      new Permanent({ message: "https://pdfs.example.org/404: HTTP 404 Not Found" }),
    );
    expect(requests).toHaveLength(3);
  });

  it("maps a fetch that runs past timeoutMs to Timeout", async () => {
    const fetch = (() =>
      Promise.reject(
        new DOMException("Signal timed out.", "TimeoutError"),
      )) as typeof globalThis.fetch;
    expect(failure(await run("https://pdfs.example.org/slow.pdf", { fetch, timeoutMs: 5 })))
      .toEqual(
        new Timeout({
          message: "https://pdfs.example.org/slow.pdf: download took longer than 5 ms",
          timeoutMs: 5,
        }),
      );
  });

  it("maps a network error to Transient", async () => {
    server.use(http.get("https://pdfs.example.org/reset", () => HttpResponse.error()));
    expect(failure(await run("https://pdfs.example.org/reset"))).toEqual(
      new Transient({
        message: "https://pdfs.example.org/reset: download failed: Failed to fetch",
      }),
    );
  });

  it('says why a request failed: the innermost cause, not only "fetch failed"', async () => {
    const fetch = failedFetch("client error (Connect): dns error: Name or service not known");
    expect(failure(await run("https://pdfs.example.org/gone.pdf", { fetch }))).toEqual(
      new Transient({
        message: "https://pdfs.example.org/gone.pdf: download failed: " +
          "client error (Connect): dns error: Name or service not known",
      }),
    );
  });

  it("fails a closed-access record with no open-access PDF, without a request", async () => {
    const payload: RawPayload = {
      ...payloadFor(""),
      record: { doi: "10.1/closed", best_oa_location: null, oa_locations: [] },
    };
    const exit = await Effect.runPromiseExit(
      makePdfDownloadStage({ fileArea }).run(ctx, inputsFor(payload), {}),
    );
    expect(failure(exit)).toEqual(
      new InvalidInput({
        message:
          "unpaywall:10.1038/nature12373: no open-access PDF (best_oa_location and oa_locations[] have no url_for_pdf)",
        path: "",
      }),
    );
    expect(requests).toEqual([]);
  });
});

describe("isPrivateAddress()", () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ["10.0.0.1", true],
    ["10.255.255.255", true],
    ["172.16.0.1", true],
    ["172.31.255.255", true],
    ["172.32.0.1", false],
    ["172.15.255.255", false],
    ["192.168.1.10", true],
    ["192.169.0.1", false],
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["169.254.169.254", true],
    ["0.0.0.0", true],
    ["100.64.0.1", true],
    ["224.0.0.1", true],
    ["255.255.255.255", true],
    ["8.8.8.8", false],
    ["93.184.216.34", false],
    ["::", true],
    ["::1", true],
    ["[::1]", true],
    ["fc00::1", true],
    ["fd00:ec2::254", true],
    ["fe80::1%eth0", true],
    ["febf::1", true],
    ["ff02::1", true],
    ["2606:4700:4700::1111", false],
    ["2001:db8::1", false],
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    ["::ffff:10.1.2.3", true],
    ["::ffff:8.8.8.8", false],
    ["64:ff9b::a00:1", true],
    ["2002:c0a8:101::1", true],
    ["2002:808:808::1", false],
    ["not-an-ip", true],
    ["1.2.3", true],
    ["1:2:3:4:5:6:7:8:9", true],
  ];
  it.each(table)("%s → %s", (ip, expected) => {
    expect(isPrivateAddress(ip)).toBe(expected);
  });
});
