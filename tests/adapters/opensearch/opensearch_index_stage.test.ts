import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import {
  makeOpenSearchIndex,
  makeOpenSearchIndexStage,
  type OpenSearchIndex,
} from "../../../adapters/opensearch/mod.ts";
import type { StageContext } from "../../../stages/context.ts";
import { Permanent } from "../../../stages/errors.ts";
import type { ChunkSet, EmbeddingBatch } from "../../../stages/ir.ts";
import { compareStageErrorMessages } from "../../_fixtures/http.ts";
import { chunkAt, docId, indexBody, pipelineBody, staleQuery, vectorAt } from "./_chunks.ts";
import { useLoopbackOpenSearch } from "./_loopback_opensearch.ts";

compareStageErrorMessages();
const node = useLoopbackOpenSearch();
const opened: Array<OpenSearchIndex> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((index) => index.close()));
});

const ctx: StageContext = {
  tenantId: "t1",
  jobId: "job-1",
  docId,
  correlationId: "corr-1",
  pipeline: { name: "auto", version: "1" },
  stage: "index",
  attempt: 1,
  metadata: {},
};

const inputsFor = (chunks: ChunkSet, batch: EmbeddingBatch) => ({
  request: {
    source: "clinicaltrials",
    docKey: "NCT00763412",
    location: { kind: "url" as const, url: "u" },
  },
  Chunk: chunks,
  Embed: batch,
});

const chunks: ChunkSet = { docId, chunks: [chunkAt(0), chunkAt(1)] };
const batch: EmbeddingBatch = {
  docId,
  model: "BAAI/bge-m3",
  dimensions: 3,
  vectors: [0, 1].map((i) => ({ chunkId: chunkAt(i).chunkId, vector: vectorAt(i) })),
};

const fixture = (name: string) => `opensearch/${name}`;

const open = (): OpenSearchIndex => {
  const index = makeOpenSearchIndex({ url: node.url(), index: "lk-chunks", dimensions: 3 });
  opened.push(index);
  return index;
};

describe("makeOpenSearchIndexStage()", () => {
  it("ensures the index on its first run only, then writes and prunes each document", async () => {
    const stage = makeOpenSearchIndexStage(open());
    node.reply(
      { status: 200, fixture: fixture("create_index_ack.json") },
      { status: 200, fixture: fixture("search_pipeline_put_ack.json") },
      { status: 200, fixture: fixture("bulk_all_written.json") },
      { status: 200, fixture: fixture("delete_by_query_deleted.json") },
      { status: 200, fixture: fixture("bulk_all_written.json") },
      { status: 200, fixture: fixture("delete_by_query_deleted.json") },
    );
    const first = await Effect.runPromise(stage.run(ctx, inputsFor(chunks, batch), {}));
    const second = await Effect.runPromise(stage.run(ctx, inputsFor(chunks, batch), {}));
    expect([first, second]).toEqual([
      { docId, index: "lk-chunks", upserted: 2 },
      { docId, index: "lk-chunks", upserted: 2 },
    ]);
    expect(stage.outputCount(first)).toBe(2);
    const requests = node.requests();
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "PUT /lk-chunks",
      "PUT /_search/pipeline/lk-chunks-rrf",
      "PUT /lk-chunks/_bulk",
      "POST /lk-chunks/_delete_by_query",
      "PUT /lk-chunks/_bulk",
      "POST /lk-chunks/_delete_by_query",
    ]);
    expect([requests[0].body, requests[1].body, requests[3].body]).toEqual([
      indexBody(3),
      pipelineBody,
      // Document ids carry the tenant: tenants sharing an index never overwrite each other.
      staleQuery([`t1:${docId}:chunk:0`, `t1:${docId}:chunk:1`]),
    ]);
  });

  it("keys its breaker and rate limit on the cluster's host:port", () => {
    const stage = makeOpenSearchIndexStage(
      makeOpenSearchIndex({ url: "https://search-1:9200", index: "lk-chunks", dimensions: 3 }),
    );
    expect(stage.type).toBe("Index");
    expect(stage.implementation).toBe("opensearch");
    expect(stage.dependency?.(ctx, inputsFor(chunks, batch), {})).toBe("search-1:9200");
  });

  it("fails with Permanent when the embedder's vectors do not fit the index, writing nothing", async () => {
    const stage = makeOpenSearchIndexStage(open());
    node.reply(
      { status: 200, fixture: fixture("create_index_ack.json") },
      { status: 200, fixture: fixture("search_pipeline_put_ack.json") },
    );
    const wide: EmbeddingBatch = {
      ...batch,
      dimensions: 4,
      vectors: batch.vectors.map((v) => ({ ...v, vector: [...v.vector, 1] })),
    };
    const error = await Effect.runPromise(Effect.flip(stage.run(ctx, inputsFor(chunks, wide), {})));
    expect(error).toEqual(
      new Permanent({
        message:
          `chunk ${docId}:chunk:0 has a vector of 4 dimensions from BAAI/bge-m3; the index holds 3`,
      }),
    );
    expect(node.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      "PUT /lk-chunks",
      "PUT /_search/pipeline/lk-chunks-rrf",
    ]);
  });
});
