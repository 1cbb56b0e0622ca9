import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import { makeHttpSink } from "../../lineage/http_transport.ts";

// A port that was just free: nothing listens there, so the connection is refused at once.
const closedPort = () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
};

describe("makeHttpSink() and a server that cannot be reached", () => {
  it("says what happened to the connection, not only that fetch failed", async () => {
    const url = `http://127.0.0.1:${closedPort()}`;
    const sink = makeHttpSink({ type: "http", url, retry: { maxAttempts: 1 } });
    const result = await Effect.runPromise(sink.settle([{
      seq: 1,
      channel: "openlineage",
      runId: "0190d1a2-0000-7000-8000-000000000001",
      jobId: "job-1",
      payload: { eventType: "START" },
    }]));
    expect(result.settled).toEqual([]);
    expect(result.error?.message).toMatch(
      new RegExp(
        `^POST ${url}/api/v1/lineage: .*connection refused.* \\(gave up after 1 attempt\\)$`,
        "i",
      ),
    );
  });
});
