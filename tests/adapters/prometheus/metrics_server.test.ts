import { describe, expect, it } from "vitest";
import { Effect } from "effect";
import { makeMetrics } from "../../../pipelines/metrics.ts";
import { stageAttempts, stageDuration } from "../../../pipelines/metric_instruments.ts";
import {
  EXPOSITION_CONTENT_TYPE,
  MetricsServerError,
  serveMetrics,
  startMetricsServer,
} from "../../../adapters/prometheus/metrics_server.ts";
import { family, parseExposition, seriesOf, valueOf } from "../../_prometheus.ts";

const recorded = async () => {
  const metrics = makeMetrics();
  const labels = { pipeline: "auto", stage: "embed" };
  await Effect.runPromise(Effect.all([
    metrics.update(stageAttempts, { ...labels, outcome: "succeeded" }, 1),
    metrics.update(stageAttempts, { ...labels, outcome: "succeeded" }, 1),
    metrics.update(stageDuration, { ...labels, outcome: "succeeded" }, 0.2),
  ]));
  return metrics;
};

describe("startMetricsServer()", () => {
  it("answers GET /metrics with 200 and the text format 0.0.4, which parses", async () => {
    const server = await startMetricsServer(await recorded(), { port: 0 });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}/metrics`);
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe(
        "text/plain; version=0.0.4; charset=utf-8",
      );
      expect(EXPOSITION_CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
      const families = parseExposition(await response.text());
      expect(family(families, "lineagekit_stage_attempts_total")).toEqual({
        name: "lineagekit_stage_attempts_total",
        help: "Stage attempts by outcome.",
        type: "counter",
        series: [{ labels: { pipeline: "auto", stage: "embed", outcome: "succeeded" }, value: 2 }],
      });
      const duration = seriesOf(families, "lineagekit_stage_duration_seconds", {
        pipeline: "auto",
        stage: "embed",
        outcome: "succeeded",
      });
      expect(duration).toMatchObject({ count: 1, sum: 0.2 });
      expect(duration!.buckets).toMatchObject({ "0.1": 0, "0.25": 1, "+Inf": 1 });
    } finally {
      await server.close();
    }
  });

  it("answers HEAD without a body, 404 elsewhere and 405 for other methods", async () => {
    const server = await startMetricsServer(makeMetrics(), { port: 0, path: "/prometheus" });
    try {
      const head = await fetch(server.url, { method: "HEAD" });
      expect([head.status, head.headers.get("content-type"), await head.text()]).toEqual([
        200,
        EXPOSITION_CONTENT_TYPE,
        "",
      ]);
      const elsewhere = await fetch(server.url.replace("/prometheus", "/metrics"));
      expect(elsewhere.status).toBe(404);
      expect(await elsewhere.text()).toBe("not found: metrics are served at /prometheus\n");
      const post = await fetch(server.url, { method: "POST", body: "x" });
      expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
      await post.body?.cancel();
    } finally {
      await server.close();
    }
  });

  it("stops listening when closed", async () => {
    const server = await startMetricsServer(makeMetrics(), { port: 0 });
    await (await fetch(server.url)).body?.cancel();
    await server.close();
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it("rejects with MetricsServerError when the port is taken", async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (taken.addr as Deno.NetAddr).port;
      const error = await startMetricsServer(makeMetrics(), { port }).catch((e) => e);
      expect(error).toBeInstanceOf(MetricsServerError);
      expect(error.message).toMatch(
        new RegExp(`^cannot serve metrics on http://127\\.0\\.0\\.1:${port}/metrics: `),
      );
    } finally {
      taken.close();
    }
  });
});

describe("serveMetrics()", () => {
  it("serves for the life of its scope", async () => {
    const metrics = await recorded();
    const url = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const server = yield* serveMetrics(metrics, { port: 0 });
      const body = yield* Effect.promise(() => fetch(server.url).then((r) => r.text()));
      expect(valueOf(parseExposition(body), "lineagekit_stage_attempts_total", {
        pipeline: "auto",
        stage: "embed",
        outcome: "succeeded",
      })).toBe(2);
      return server.url;
    })));
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe("the tests' exposition parser", () => {
  const refused = [
    ["a value that is not a number", "# TYPE a gauge\na 1x\n"],
    ["an unquoted label value", "# TYPE a gauge\na{l=v} 1\n"],
    ["a second TYPE line", "# TYPE a gauge\na 1\n# TYPE a gauge\n"],
    ["a family split in two groups", '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="y"} 2\n'],
    ["a repeated series", '# TYPE a counter\na{l="v"} 1\na{l="v"} 2\n'],
    [
      "buckets that are not cumulative",
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    ],
    ["a histogram without _count", '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\n'],
    ["no final newline", "# TYPE a gauge\na 1"],
  ];
  for (const [what, text] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => parseExposition(text)).toThrow();
    });
  }

  it("reads escapes in label values and HELP text", () => {
    const text = '# HELP a a\\\\b\\nc\n# TYPE a gauge\na{path="C:\\\\x",q="say \\"hi\\"\\n"} 2\n';
    expect(parseExposition(text)).toEqual([{
      name: "a",
      help: "a\\b\nc",
      type: "gauge",
      series: [{ labels: { path: "C:\\x", q: 'say "hi"\n' }, value: 2 }],
    }]);
  });
});
