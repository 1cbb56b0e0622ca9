import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Effect } from "effect";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadParsedDocument } from "../../../adapters/mineru/parsed_document.ts";
import { tempDir } from "../../_harness.ts";

const contentList = () =>
  readFile(
    fileURLToPath(
      new URL(
        "../../fixtures/mineru/mineru-2.5.4-pipeline/W2497721881/W2497721881_content_list.json",
        import.meta.url,
      ),
    ),
    "utf8",
  );

const job = {
  docId: "openalex-pdf:W2497721881",
  request: {
    source: "openalex-pdf" as const,
    location: { kind: "url" as const, url: "https://api.openalex.org/works/W2497721881" },
  },
};

const worker = "http://gpu-worker.test";
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const load = (uri: string) => Effect.runPromise(Effect.result(loadParsedDocument(uri, job)));

describe("loadParsedDocument()", () => {
  it("reads a content list from a file: URI and from an http URL into the same document", async () => {
    const dir = await tempDir();
    try {
      const file = join(dir, "content_list.json");
      await Deno.writeTextFile(file, await contentList());
      server.use(
        http.get(`${worker}/docs/1.json`, async () => HttpResponse.text(await contentList())),
      );
      const fromFile = await load(pathToFileURL(file).href);
      const fromHttp = await load(`${worker}/docs/1.json`);
      expect(fromFile._tag).toBe("Success");
      expect(fromHttp).toEqual(fromFile);
      if (fromFile._tag === "Success") expect(fromFile.success.id).toBe(job.docId);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  it("says what went wrong with the request: no answer, an error status, a page that is not JSON", async () => {
    server.use(
      http.get(`${worker}/gone.json`, () => new HttpResponse("gone", { status: 404 })),
      http.get(`${worker}/page.json`, () => HttpResponse.html("<html>sign in</html>")),
      http.get(`${worker}/down.json`, () => HttpResponse.error()),
    );
    expect(await load(`${worker}/down.json`)).toMatchObject({
      _tag: "Failure",
      failure: { message: `GET ${worker}/down.json: network error: Failed to fetch` },
    });
    expect(await load(`${worker}/gone.json`)).toMatchObject({
      _tag: "Failure",
      failure: { message: `GET ${worker}/gone.json: HTTP 404: gone` },
    });
    expect(await load(`${worker}/page.json`)).toMatchObject({
      _tag: "Failure",
      failure: {
        message: `GET ${worker}/page.json: HTTP 200: invalid JSON at character 0: ` +
          `Unexpected token '<', "<html>sign in</html>" is not valid JSON`,
      },
    });
  });

  it("gives up on a worker that does not answer in time", async () => {
    server.use(http.get(`${worker}/slow.json`, async () => {
      await delay("infinite");
      return HttpResponse.text("[]");
    }));
    const exit = await Effect.runPromise(
      Effect.result(loadParsedDocument(`${worker}/slow.json`, job, { timeoutMs: 50 })),
    );
    expect(exit).toMatchObject({
      _tag: "Failure",
      failure: { message: `GET ${worker}/slow.json: no response within 50 ms` },
    });
  });

  it("refuses a URI it cannot read", async () => {
    expect(await load("ftp://gpu-worker.test/1.json")).toMatchObject({
      _tag: "Failure",
      failure: { message: "ftp://gpu-worker.test/1.json: expected a file:, http: or https: URI" },
    });
  });
});
