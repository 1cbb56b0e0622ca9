/**
 * msw helpers shared by the HTTP adapter tests: recorded responses from `tests/fixtures`, a
 * mock server that fails on any request no handler answers, and a recorder of every request that
 * reached it, so tests assert what was sent (method, URL, headers, body) and how often.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { JsonBodyType, RequestHandler } from "msw";
import { type SetupServer, setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { isStageError } from "../../stages/errors.ts";
import { fixturesDir } from "../_harness.ts";

export { fixturesDir };

/** A recorded fixture file as text; `path` is relative to `tests/fixtures`. */
export const recordedText = (path: string): string =>
  readFileSync(resolve(fixturesDir, path), "utf8");

/** A recorded JSON response, parsed; `path` is relative to `tests/fixtures`. */
export const recordedJson = (path: string): JsonBodyType => JSON.parse(recordedText(path));

/** One request as the mock server received it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body parsed as JSON when it is JSON, else the text; `undefined` when empty. */
  readonly body: unknown;
}

const readBody = async (request: Request): Promise<unknown> => {
  const text = await request.clone().text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** Records every request that reaches a mock server, in arrival order. */
export interface Recorder {
  /** Everything received since the last `clear()` (waits for the bodies to be read). */
  readonly requests: () => Promise<ReadonlyArray<RecordedRequest>>;
  readonly clear: () => void;
}

/** Attaches a recorder to a mock server. */
export const recordRequests = (server: SetupServer): Recorder => {
  let pending: Array<Promise<RecordedRequest>> = [];
  server.events.on("request:start", ({ request }) => {
    // Snapshot now: the request body can only be read once the handler is done with its own copy.
    const copy = request.clone();
    pending.push(
      readBody(copy).then((body) => ({
        method: copy.method,
        url: copy.url,
        headers: Object.fromEntries(copy.headers.entries()),
        body,
      })),
    );
  });
  return {
    requests: () => Promise.all(pending),
    clear: () => {
      pending = [];
    },
  };
};

/** A mock server and its recorder. */
export interface MockServer {
  readonly server: SetupServer;
  readonly recorder: Recorder;
}

/**
 * Starts an msw server for the test file (unhandled requests are errors), resets its handlers and
 * recorder after each test, and closes it after the file.
 */
export const useMockServer = (...handlers: ReadonlyArray<RequestHandler>): MockServer => {
  const server = setupServer(...handlers);
  const recorder = recordRequests(server);
  beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
  afterEach(() => {
    server.resetHandlers();
    recorder.clear();
  });
  afterAll(() => server.close());
  return { server, recorder };
};

const byKey = (entries: Array<[string, unknown]>): Array<[string, unknown]> =>
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Makes `toEqual` compare stage errors by tag, message and fields. An Error's `message` is not
 * enumerable, so without this vitest calls two errors equal whatever their messages say.
 */
export const compareStageErrorMessages = (): void => {
  expect.addEqualityTesters([
    function stageErrorEquality(a: unknown, b: unknown, testers) {
      if (!isStageError(a) || !isStageError(b)) return undefined;
      return a._tag === b._tag && a.message === b.message &&
        this.equals(byKey(Object.entries(a)), byKey(Object.entries(b)), testers);
    },
  ]);
};
