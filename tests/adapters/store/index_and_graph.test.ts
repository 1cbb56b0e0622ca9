import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect } from "effect";
import type { Store } from "../../../adapters/store/store.ts";
import { embeddedIndexStage } from "../../../adapters/store/embedded_index.ts";
import { embeddedGraphStage } from "../../../adapters/store/embedded_graph.ts";
import { StoreDatabase } from "../../../adapters/store/store_database.ts";
import { hybridSearch, reciprocalRankFusion } from "../../../adapters/store/hybrid_search.ts";
import { storeStats } from "../../../adapters/store/store_stats.ts";
import { embedChunks, embedText } from "../../../stages/hashing_embedder.ts";
import type { StageContext } from "../../../stages/context.ts";
import type { ChunkSet, Extraction } from "../../../stages/ir.ts";
import { backends, databaseUrl } from "../../_stores.ts";

const ctx = { tenantId: "t", jobId: "j", docId: "d1", stage: "s", attempt: 1 } as StageContext;
const inputs = <O extends Readonly<Record<string, unknown>>>(outputs: O) => ({
  request: {
    source: "clinicaltrials",
    docKey: "d1",
    location: { kind: "file" as const, file: "f", pointer: "" },
  },
  ...outputs,
});
const chunkSet = (texts: string[]): ChunkSet => ({
  docId: "doc:1",
  chunks: texts.map((text, i) => ({
    chunkId: `doc:1:chunk:${i}`,
    docId: "doc:1",
    tenantId: "t",
    text,
    sectionId: "doc:1:s0",
    start: 0,
    end: text.length,
    metadata: {},
  })),
});

describe("reciprocalRankFusion()", () => {
  it("sums 1/(k + rank) over the rankings and sorts by the fused score", () => {
    expect(reciprocalRankFusion([["a", "b", "c"], ["c", "a"]], 60)).toEqual([
      { id: "a", score: 1 / 61 + 1 / 62, ranks: [1, 2] },
      { id: "c", score: 1 / 63 + 1 / 61, ranks: [3, 1] },
      { id: "b", score: 1 / 62, ranks: [2, 0] },
    ]);
  });
});

if (!databaseUrl) it.skip("index and graph on PostgreSQL (set DATABASE_URL to run)", () => {});

describe.each(backends)("index and graph stages on $name", (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(() => store.close());

  it("upserts chunks, drops chunks a new version no longer has, and finds them by hybrid search", async () => {
    const index = {
      run: (c: StageContext, i: Parameters<typeof embeddedIndexStage.run>[1]) =>
        Effect.provideService(embeddedIndexStage.run(c, i, {}), StoreDatabase, store.client),
    };
    const first = chunkSet([
      "Gefitinib treats non-small cell lung cancer with EGFR mutations.",
      "Patients reported rash and diarrhea.",
      "An unrelated sentence about weather.",
    ]);
    const receipt = await Effect.runPromise(
      index.run(ctx, inputs({ Chunk: first, Embed: embedChunks(first) })),
    );
    expect(receipt).toEqual({ docId: "doc:1", index: "lk_chunks", upserted: 3 });
    const second = chunkSet(first.chunks.slice(0, 2).map((c) => c.text));
    await Effect.runPromise(index.run(ctx, inputs({ Chunk: second, Embed: embedChunks(second) })));
    const rows = await store.client.query<{ chunk_id: string }>(
      "select chunk_id from lk_chunks where doc_id = 'doc:1' order by chunk_id",
    );
    expect(rows.map((r) => r.chunk_id)).toEqual(["doc:1:chunk:0", "doc:1:chunk:1"]);
    const hits = await Effect.runPromise(
      hybridSearch(store.client, "lung cancer gefitinib", embedText("lung cancer gefitinib"), {
        k: 2,
      }),
    );
    expect(hits[0]).toMatchObject({
      chunkId: "doc:1:chunk:0",
      docId: "doc:1",
      textRank: 1,
      denseRank: 1,
    });
  });

  it("upserts nodes and edges by id, so writing the same extraction twice changes no counts", async () => {
    const graph = {
      run: (c: StageContext, i: Parameters<typeof embeddedGraphStage.run>[1]) =>
        Effect.provideService(embeddedGraphStage.run(c, i, {}), StoreDatabase, store.client),
    };
    const extraction: Extraction = {
      docId: "doc:1",
      entities: [
        { id: "Drug:gefitinib", label: "Drug", name: "gefitinib", properties: { brand: "IRESSA" } },
        { id: "Condition:nsclc", label: "Condition", name: "nsclc", properties: {} },
      ],
      claims: [{
        id: "Drug:gefitinib|TREATS|Condition:nsclc",
        subject: "Drug:gefitinib",
        predicate: "TREATS",
        object: "Condition:nsclc",
        docId: "doc:1",
        properties: {},
      }],
    };
    const write = () => Effect.runPromise(graph.run(ctx, inputs({ Extract: extraction })));
    expect(await write()).toEqual({ docId: "doc:1", nodes: 2, edges: 1 });
    const before = await Effect.runPromise(storeStats(store.client));
    await write();
    const after = await Effect.runPromise(storeStats(store.client));
    expect(after.kg).toEqual(before.kg);
    expect(after.kg).toEqual({ nodes: 2, edges: 1 });
  });
});
