/**
 * A loopback HTTP server standing in for an OpenSearch node: it answers, in order, the replies a
 * test queues (recorded OpenSearch responses) and records every request it receives. The
 * OpenSearch client sends through node:http, which msw is not relied on to intercept under Deno;
 * a real socket exercises the client exactly as production does.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { recordedText } from "../../_fixtures/http.ts";

/** One request as the server received it. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string's parameters, in order. */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as sent. */
  readonly text: string;
  /** The body parsed: JSON, NDJSON as an array of lines, `undefined` when empty. */
  readonly body: unknown;
}

/** One queued answer. */
export interface Reply {
  readonly status: number;
  /** A fixture under `tests/fixtures/` sent verbatim, or a JSON value. */
  readonly fixture?: string;
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Milliseconds to wait before answering. */
  readonly delayMs?: number;
}

/** The running server. */
export interface LoopbackOpenSearch {
  /** `http://127.0.0.1:{port}`. */
  readonly url: () => string;
  /** Every request received since the last reset, in arrival order. */
  readonly requests: () => ReadonlyArray<ReceivedRequest>;
  /** Queues answers for the next requests. */
  readonly reply: (...replies: ReadonlyArray<Reply>) => void;
}

const parseBody = (text: string, contentType: string): unknown => {
  if (text === "") return undefined;
  if (contentType.includes("ndjson")) {
    return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
  }
  return JSON.parse(text);
};

// A request nobody queued an answer for gets this, so the test's request assertions show it.
const unexpected = { status: 599, json: { error: "no reply queued" } };

/** Starts a server for the test file; the queue and the record are reset after each test. */
export const useLoopbackOpenSearch = (): LoopbackOpenSearch => {
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  let received: Array<ReceivedRequest> = [];
  let queue: Array<Reply> = [];
  beforeAll(() => {
    server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
      const url = new URL(request.url);
      const text = await request.text();
      received.push({
        method: request.method,
        path: url.pathname,
        query: [...url.searchParams.entries()],
        headers: Object.fromEntries(request.headers.entries()),
        text,
        body: parseBody(text, request.headers.get("content-type") ?? ""),
      });
      const reply: Reply = queue.shift() ?? unexpected;
      if (reply.delayMs !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      }
      const body = reply.fixture === undefined
        ? JSON.stringify(reply.json)
        : recordedText(reply.fixture);
      return new Response(body, {
        status: reply.status,
        headers: { "content-type": "application/json; charset=UTF-8", ...reply.headers },
      });
    });
  });
  afterEach(() => {
    received = [];
    queue = [];
  });
  afterAll(async () => {
    await server?.shutdown();
  });
  return {
    url: () => `http://127.0.0.1:${server?.addr.port}`,
    requests: () => received,
    reply: (...replies) => {
      queue.push(...replies);
    },
  };
};
