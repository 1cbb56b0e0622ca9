import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import {
  makeOpenSearchIndex,
  openSearchHybridSearch,
  type OpenSearchIndex,
  type OpenSearchOptions,
} from "../../../adapters/opensearch/mod.ts";
import { Permanent, RateLimited, Transient } from "../../../stages/errors.ts";
import { compareStageErrorMessages, recordedJson } from "../../_fixtures/http.ts";
import {
  chunkAt,
  docId,
  indexBody,
  pipelineBody,
  staleQuery,
  storedChunk,
  vectorAt,
} from "./_chunks.ts";
import { type ReceivedRequest, useLoopbackOpenSearch } from "./_loopback_opensearch.ts";

compareStageErrorMessages();
const node = useLoopbackOpenSearch();
const opened: Array<OpenSearchIndex> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((index) => index.close()));
});

const open = (options: Partial<OpenSearchOptions> = {}): OpenSearchIndex => {
  const index = makeOpenSearchIndex({
    url: node.url(),
    index: "lk-chunks",
    dimensions: 3,
    ...options,
  });
  opened.push(index);
  return index;
};

const sent = (): ReadonlyArray<Pick<ReceivedRequest, "method" | "path" | "query" | "body">> =>
  node.requests().map(({ method, path, query, body }) => ({ method, path, query, body }));

const fixture = (name: string) => `opensearch/${name}`;

// A port nothing listens on: bound, then released.
const closedPort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
};

const write = (index: OpenSearchIndex, chunks: ReadonlyArray<number>, extra = {}) =>
  index.writeChunks({
    tenantId: "t1",
    docId,
    chunks: chunks.map(chunkAt),
    vectors: chunks.map((i) => ({ chunkId: chunkAt(i).chunkId, vector: vectorAt(i) })),
    embedder: "BAAI/bge-m3",
    ...extra,
  });

const ndjson = (lines: ReadonlyArray<unknown>): string =>
  lines.map((line) => JSON.stringify(line)).join("\n") + "\n";

describe("OpenSearchIndex.ensureIndex()", () => {
  it("creates the index with its mapping, then puts the RRF search pipeline", async () => {
    node.reply(
      { status: 200, fixture: fixture("create_index_ack.json") },
      { status: 200, fixture: fixture("search_pipeline_put_ack.json") },
    );
    const result = await Effect.runPromise(open().ensureIndex());
    expect(result).toEqual({ index: "lk-chunks", created: true, searchPipeline: "lk-chunks-rrf" });
    expect(sent()).toEqual([
      { method: "PUT", path: "/lk-chunks", query: [], body: indexBody(3) },
      { method: "PUT", path: "/_search/pipeline/lk-chunks-rrf", query: [], body: pipelineBody },
    ]);
    expect(node.requests().map((r) => r.headers["content-type"])).toEqual([
      "application/json",
      "application/json",
    ]);
  });

  it("accepts an existing index whose vector field has the configured dimension", async () => {
    node.reply(
      { status: 400, fixture: fixture("create_index_resource_already_exists.json") },
      { status: 200, fixture: fixture("get_mapping_dimension_384.json") },
      { status: 200, fixture: fixture("search_pipeline_put_ack.json") },
    );
    const index = open({ dimensions: 384, searchPipeline: "chunks-hybrid" });
    const result = await Effect.runPromise(index.ensureIndex());
    expect(result).toEqual({ index: "lk-chunks", created: false, searchPipeline: "chunks-hybrid" });
    expect(sent()).toEqual([
      { method: "PUT", path: "/lk-chunks", query: [], body: indexBody(384) },
      { method: "GET", path: "/lk-chunks/_mapping", query: [], body: undefined },
      { method: "PUT", path: "/_search/pipeline/chunks-hybrid", query: [], body: pipelineBody },
    ]);
  });

  it("fails with Permanent naming both dimensions when the existing index differs", async () => {
    node.reply(
      { status: 400, fixture: fixture("create_index_resource_already_exists.json") },
      { status: 200, fixture: fixture("get_mapping_dimension_384.json") },
    );
    const error = await Effect.runPromise(Effect.flip(open().ensureIndex()));
    expect(error).toEqual(
      new Permanent({
        message:
          `OpenSearch index lk-chunks at ${node.url()} already exists with embedding of dimension 384; the embedder produces 3`,
      }),
    );
    expect(sent().map((r) => `${r.method} ${r.path}`)).toEqual([
      "PUT /lk-chunks",
      "GET /lk-chunks/_mapping",
    ]);
  });

  it("sends Basic credentials with every request", async () => {
    node.reply(
      { status: 200, fixture: fixture("create_index_ack.json") },
      { status: 200, fixture: fixture("search_pipeline_put_ack.json") },
    );
    await Effect.runPromise(open({ username: "admin", password: "s3cret!" }).ensureIndex());
    expect(node.requests().map((r) => r.headers.authorization)).toEqual([
      "Basic YWRtaW46czNjcmV0IQ==",
      "Basic YWRtaW46czNjcmV0IQ==",
    ]);
  });

  it("fails every operation with Permanent when the options are invalid, sending nothing", async () => {
    const index = open({ index: "Chunks", dimensions: 0, username: "admin" });
    const message =
      'invalid OpenSearch options: index "Chunks" must be lower case without \\ / * ? " < > | , # : or spaces; dimensions must be an integer from 1 to 16000 (got 0); username and password must be given together';
    expect(await Effect.runPromise(Effect.flip(index.ensureIndex()))).toEqual(
      new Permanent({ message }),
    );
    expect(await Effect.runPromise(Effect.flip(index.checkHealth()))).toEqual(
      new Permanent({ message }),
    );
    expect(sent()).toEqual([]);
  });
});

describe("OpenSearchIndex.writeChunks()", () => {
  it("sends one _bulk of index actions, then deletes the document's other chunks", async () => {
    node.reply(
      { status: 200, fixture: fixture("bulk_all_written.json") },
      { status: 200, fixture: fixture("delete_by_query_deleted.json") },
    );
    const receipt = await Effect.runPromise(write(open(), [0, 1]));
    expect(receipt).toEqual({ docId, index: "lk-chunks", upserted: 2 });
    const [bulk, remove] = node.requests();
    expect({ method: bulk.method, path: bulk.path, query: bulk.query }).toEqual({
      method: "PUT",
      path: "/lk-chunks/_bulk",
      query: [["refresh", "wait_for"]],
    });
    expect(bulk.headers["content-type"]).toBe("application/x-ndjson");
    expect(bulk.text).toBe(ndjson([
      { index: { _id: `${docId}:chunk:0` } },
      storedChunk(0),
      { index: { _id: `${docId}:chunk:1` } },
      storedChunk(1),
    ]));
    expect({ method: remove.method, path: remove.path, query: remove.query, body: remove.body })
      .toEqual({
        method: "POST",
        path: "/lk-chunks/_delete_by_query",
        query: [["conflicts", "proceed"], ["refresh", "true"]],
        body: staleQuery([`${docId}:chunk:0`, `${docId}:chunk:1`]),
      });
    expect(node.requests()).toHaveLength(2);
  });

  it("uses the caller's document id for _id and for the chunks it keeps", async () => {
    node.reply(
      { status: 200, fixture: fixture("bulk_all_written.json") },
      { status: 200, fixture: fixture("delete_by_query_deleted.json") },
    );
    const documentId = (chunk: { chunkId: string }) => `t1|${chunk.chunkId}`;
    await Effect.runPromise(write(open(), [0, 1], { documentId }));
    const [bulk, remove] = node.requests();
    expect((bulk.body as ReadonlyArray<unknown>).filter((_, i) => i % 2 === 0)).toEqual([
      { index: { _id: `t1|${docId}:chunk:0` } },
      { index: { _id: `t1|${docId}:chunk:1` } },
    ]);
    expect(remove.body).toEqual(staleQuery([`t1|${docId}:chunk:0`, `t1|${docId}:chunk:1`]));
  });

  it("removes every chunk of a document that has none now, without a _bulk", async () => {
    node.reply({ status: 200, fixture: fixture("delete_by_query_deleted.json") });
    const receipt = await Effect.runPromise(write(open(), []));
    expect(receipt).toEqual({ docId, index: "lk-chunks", upserted: 0 });
    expect(sent()).toEqual([{
      method: "POST",
      path: "/lk-chunks/_delete_by_query",
      query: [["conflicts", "proceed"], ["refresh", "true"]],
      body: staleQuery([]),
    }]);
  });

  it("reads every bulk item: a mapper_parsing_exception item makes it Permanent, nothing is deleted", async () => {
    node.reply({ status: 200, fixture: fixture("bulk_mixed_item_errors.json") });
    const error = await Effect.runPromise(Effect.flip(write(open(), [0, 1, 2, 3])));
    const rejected =
      "rejected execution of coordinating operation [shard_detail=[production-solutions][2][C], shard_coordinating_and_primary_bytes=29490684, shard_operation_bytes=434882, shard_max_coordinating_and_primary_bytes=34694922] OR [node_coordinating_and_primary_bytes=106861195, node_replica_bytes=105782531, node_all_bytes=212643726, node_operation_bytes=434882, node_max_coordinating_and_primary_bytes=213005107]";
    expect(error).toEqual(
      new Permanent({
        message:
          `PUT ${node.url()}/lk-chunks/_bulk?refresh=wait_for: 2 of 4 chunks were not written: ` +
          `chunk ${docId}:chunk:1: HTTP 400: mapper_parsing_exception: failed to parse field [age] of type [integer] in document with id '1'. Preview of field's value: 'twenty' (caused by number_format_exception: For input string: "twenty"); ` +
          `chunk ${docId}:chunk:2: HTTP 429: rejected_execution_exception: ${rejected}`,
      }),
    );
    expect(sent().map((r) => `${r.method} ${r.path}`)).toEqual(["PUT /lk-chunks/_bulk"]);
  });

  // The recorded response without its 400 item: what is left failed only for load.
  const withoutParseError = () => {
    const body = recordedJson("opensearch/bulk_mixed_item_errors.json") as {
      items: Array<{ index: { status: number } }>;
    };
    return { ...body, items: body.items.filter((_, i) => i !== 1) };
  };

  it("is RateLimited when every failed item was rejected with 429", async () => {
    node.reply({ status: 200, json: withoutParseError() });
    const error = await Effect.runPromise(Effect.flip(write(open(), [0, 2, 3])));
    expect(error).toBeInstanceOf(RateLimited);
    expect(error).toMatchObject({
      retryAfterMs: 1000,
      message: expect.stringMatching(
        new RegExp(`: 1 of 3 chunks were not written: chunk ${docId}:chunk:2: HTTP 429: `),
      ),
    });
  });

  it("is Transient when the failed items are 429 and 5xx", async () => {
    const body = withoutParseError();
    // The same item answered 503, as an unavailable primary shard is.
    const unavailable = { index: { ...body.items[1].index, status: 503 } };
    node.reply({ status: 200, json: { ...body, items: [...body.items, unavailable] } });
    const error = await Effect.runPromise(Effect.flip(write(open(), [0, 2, 3, 4])));
    expect(error).toBeInstanceOf(Transient);
    expect(error.message).toMatch(/: 2 of 4 chunks were not written: /);
  });

  it("is RateLimited when OpenSearch rejects the whole request with 429, with Retry-After", async () => {
    node.reply({
      status: 429,
      fixture: fixture("bulk_rejected_coordinating_429.json"),
      headers: { "retry-after": "7" },
    });
    const error = await Effect.runPromise(Effect.flip(write(open(), [0])));
    const body = recordedJson("opensearch/bulk_rejected_coordinating_429.json") as {
      error: { reason: string };
    };
    expect(error).toEqual(
      new RateLimited({
        message:
          `PUT ${node.url()}/lk-chunks/_bulk?refresh=wait_for: HTTP 429: rejected_execution_exception: ${body.error.reason}`,
        retryAfterMs: 7000,
      }),
    );
    expect(node.requests()).toHaveLength(1);
  });

  it("checks the bulk response: a body without items is Permanent naming the field", async () => {
    node.reply({ status: 200, json: { took: 3, errors: false } });
    const error = await Effect.runPromise(Effect.flip(write(open(), [0])));
    expect(error).toEqual(
      new Permanent({
        message:
          `PUT ${node.url()}/lk-chunks/_bulk?refresh=wait_for: unexpected response: items: Invalid input: expected array, received undefined`,
      }),
    );
  });

  it("fails before any request when a chunk's vector is missing or of another length", async () => {
    const index = open();
    const missing = index.writeChunks({
      tenantId: "t1",
      docId,
      chunks: [chunkAt(0), chunkAt(1)],
      vectors: [{ chunkId: chunkAt(0).chunkId, vector: vectorAt(0) }],
      embedder: "BAAI/bge-m3",
    });
    expect(await Effect.runPromise(Effect.flip(missing))).toEqual(
      new Permanent({ message: `chunk ${docId}:chunk:1 has no vector` }),
    );
    const wrong = index.writeChunks({
      tenantId: "t1",
      docId,
      chunks: [chunkAt(0)],
      vectors: [{ chunkId: chunkAt(0).chunkId, vector: [1, 2] }],
      embedder: "BAAI/bge-m3",
    });
    expect(await Effect.runPromise(Effect.flip(wrong))).toEqual(
      new Permanent({
        message:
          `chunk ${docId}:chunk:0 has a vector of 2 dimensions from BAAI/bge-m3; the index holds 3`,
      }),
    );
    expect(sent()).toEqual([]);
  });

  it("is Transient naming the URL when the connection is refused", async () => {
    const port = closedPort();
    const index = open({ url: `http://127.0.0.1:${port}` });
    const error = await Effect.runPromise(Effect.flip(write(index, [0])));
    expect(error).toEqual(
      new Transient({
        message:
          `PUT http://127.0.0.1:${port}/lk-chunks/_bulk?refresh=wait_for: cannot reach OpenSearch at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
      }),
    );
  });
});

describe("OpenSearchIndex requests", () => {
  it("are Transient when OpenSearch does not answer within timeoutMs", async () => {
    node.reply({ status: 200, fixture: fixture("cluster_health_green.json"), delayMs: 500 });
    const error = await Effect.runPromise(Effect.flip(open({ timeoutMs: 50 }).checkHealth()));
    expect(error).toEqual(
      new Transient({ message: `GET ${node.url()}/_cluster/health: no response within 50 ms` }),
    );
  });
});

describe("OpenSearchIndex.search()", () => {
  const expectedHits = [
    {
      chunkId: "openfda:gefitinib:chunk:2",
      docId: "openfda:gefitinib",
      text: "Gefitinib is a kinase inhibitor indicated for first-line.",
      score: 0.032786883,
      matchedText: true,
      match: "text+vector",
    },
    {
      chunkId: "openfda:gefitinib:chunk:5",
      docId: "openfda:gefitinib",
      text: "Strong CYP3A4 inducers decrease the exposure levels.",
      score: 0.016393442,
      matchedText: false,
      match: "vector",
    },
    {
      chunkId: "clinicaltrials:NCT00763412:chunk:0",
      docId: "clinicaltrials:NCT00763412",
      text: "Gefitinib versus carboplatin and paclitaxel in lung cancer.",
      score: 0.016129032,
      matchedText: true,
      match: "text+vector",
    },
  ];

  it("sends a hybrid match + knn query through the RRF pipeline, tenant-filtered", async () => {
    node.reply({ status: 200, fixture: fixture("hybrid_search_rrf.json") });
    const hits = await Effect.runPromise(
      open().search({ text: "gefitinib", vector: [0.5, 0.25, -1], tenantId: "t1" }),
    );
    expect(hits).toEqual(expectedHits);
    const tenant = { term: { tenant_id: "t1" } };
    expect(sent()).toEqual([{
      method: "POST",
      path: "/lk-chunks/_search",
      query: [["search_pipeline", "lk-chunks-rrf"]],
      body: {
        size: 50,
        _source: { excludes: ["embedding"] },
        query: {
          hybrid: {
            queries: [
              {
                bool: {
                  must: [{ match: { text: { query: "gefitinib", _name: "text" } } }],
                  filter: [tenant],
                },
              },
              { knn: { embedding: { vector: [0.5, 0.25, -1], k: 50, filter: tenant } } },
            ],
          },
        },
      },
    }]);
  });

  it("openSearchHybridSearch() takes hybridSearch's inputs and keeps the best k", async () => {
    node.reply({ status: 200, fixture: fixture("hybrid_search_rrf.json") });
    const hits = await Effect.runPromise(
      openSearchHybridSearch(open(), "gefitinib", [0.5, 0.25, -1], { k: 2, candidates: 20 }),
    );
    expect(hits).toEqual(expectedHits.slice(0, 2));
    expect(sent()[0].body).toEqual({
      size: 20,
      _source: { excludes: ["embedding"] },
      query: {
        hybrid: {
          queries: [
            { match: { text: { query: "gefitinib", _name: "text" } } },
            { knn: { embedding: { vector: [0.5, 0.25, -1], k: 20 } } },
          ],
        },
      },
    });
  });
});

describe("OpenSearchIndex.checkHealth()", () => {
  it("accepts a green cluster", async () => {
    node.reply({ status: 200, fixture: fixture("cluster_health_green.json") });
    expect(await Effect.runPromise(open().checkHealth())).toEqual({
      clusterName: "runTask",
      status: "green",
      nodes: 3,
    });
    expect(sent()).toEqual([
      { method: "GET", path: "/_cluster/health", query: [], body: undefined },
    ]);
  });

  it("accepts a yellow single-node cluster", async () => {
    node.reply({ status: 200, fixture: fixture("cluster_health_yellow.json") });
    expect(await Effect.runPromise(open().checkHealth())).toEqual({
      clusterName: "opensearch-cluster",
      status: "yellow",
      nodes: 1,
    });
  });

  it("fails a red cluster with a one-line message naming the URL", async () => {
    node.reply({ status: 200, fixture: fixture("cluster_health_red.json") });
    expect(await Effect.runPromise(Effect.flip(open().checkHealth()))).toEqual(
      new Transient({
        message: `OpenSearch at ${node.url()} is red: cluster opensearch has 36 unassigned shards`,
      }),
    );
  });

  it("fails an unreachable cluster naming the URL, credentials masked", async () => {
    const port = closedPort();
    const index = open({ url: `http://admin:s3cret@127.0.0.1:${port}` });
    const error = await Effect.runPromise(Effect.flip(index.checkHealth()));
    expect(error).toEqual(
      new Transient({
        message:
          `GET http://127.0.0.1:${port}/_cluster/health: cannot reach OpenSearch at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
      }),
    );
    expect(error.message).not.toContain("s3cret");
  });
});
