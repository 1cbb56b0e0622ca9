import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect } from "effect";
import type { Store } from "../../../adapters/store/store.ts";
import { embeddedIndexStage } from "../../../adapters/store/embedded_index.ts";
import { embeddedGraphStage } from "../../../adapters/store/embedded_graph.ts";
import { StoreDatabase } from "../../../adapters/store/store_database.ts";
import { searchIndex } from "../../../adapters/store/hybrid_search.ts";
import { embedChunks, embedText } from "../../../stages/hashing_embedder.ts";
import type { StageContext } from "../../../stages/context.ts";
import { InvalidInput, Permanent } from "../../../stages/errors.ts";
import type { ChunkSet, Extraction } from "../../../stages/ir.ts";
import { backends } from "../../_stores.ts";

const ctx = { tenantId: "t", jobId: "j", docId: "d1", stage: "s", attempt: 1 } as StageContext;
const inputs = <O extends Readonly<Record<string, unknown>>>(outputs: O) => ({
  request: {
    source: "clinicaltrials",
    docKey: "d1",
    location: { kind: "file" as const, file: "f", pointer: "" },
  },
  ...outputs,
});
const chunkSet = (docId: string, texts: ReadonlyArray<string>): ChunkSet => ({
  docId,
  chunks: texts.map((text, i) => ({
    chunkId: `${docId}:chunk:${i}`,
    docId,
    tenantId: "t",
    text,
    sectionId: `${docId}:s0`,
    start: 0,
    end: text.length,
    metadata: {},
  })),
});

describe.each(backends)("writes refused for their data on $name", (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(() => store.close());

  it("refuses a graph id longer than an index entry may hold, naming it", async () => {
    const id = `Condition:${"é".repeat(1000)}`;
    const extraction: Extraction = {
      docId: "doc:1",
      entities: [{ id, label: "Condition", name: "é", properties: {} }],
      claims: [],
    };
    const graph = {
      run: (c: StageContext, i: Parameters<typeof embeddedGraphStage.run>[1]) =>
        Effect.provideService(embeddedGraphStage.run(c, i, {}), StoreDatabase, store.client),
    };
    expect(await Effect.runPromise(Effect.flip(graph.run(ctx, inputs({ Extract: extraction })))))
      .toEqual(
        new InvalidInput({
          message: `doc:1: entities[0].id ("Condition:${"é".repeat(50)}…"): 2010 bytes, more ` +
            "than the 2000 an index entry may hold",
          path: "entities[0].id",
        }),
      );
  });

  it("fails a graph write the database refuses for its data as Permanent, not Transient", async () => {
    const extraction: Extraction = {
      docId: "doc:1",
      entities: [{ id: "Drug:x", label: "Drug", name: "x", properties: { note: "a\u0000b" } }],
      claims: [],
    };
    const graph = {
      run: (c: StageContext, i: Parameters<typeof embeddedGraphStage.run>[1]) =>
        Effect.provideService(embeddedGraphStage.run(c, i, {}), StoreDatabase, store.client),
    };
    const error = await Effect.runPromise(
      Effect.flip(graph.run(ctx, inputs({ Extract: extraction }))),
    );
    expect(error).toBeInstanceOf(Permanent);
    expect(error.message).toMatch(/^graph write failed: .*unsupported Unicode escape sequence/);
  });

  it("refuses a chunk holding a NUL before writing it", async () => {
    const set = chunkSet("doc:2", ["fine text", "bad\u0000text"]);
    const index = {
      run: (c: StageContext, i: Parameters<typeof embeddedIndexStage.run>[1]) =>
        Effect.provideService(embeddedIndexStage.run(c, i, {}), StoreDatabase, store.client),
    };
    expect(
      await Effect.runPromise(
        Effect.flip(index.run(ctx, inputs({ Chunk: set, Embed: embedChunks(set) }))),
      ),
    ).toEqual(
      new InvalidInput({
        message: "doc:2:chunk:1: chunks[1].text: a NUL character (U+0000) at character 3, which " +
          "the store cannot hold",
        path: "chunks[1].text",
      }),
    );
  });

  it("says how many chunks matched the text and how each hit was found", async () => {
    const set = chunkSet("doc:3", [
      "Repaglinide before each meal for cystic fibrosis related diabetes.",
      "Weather report for the weekend.",
    ]);
    const index = {
      run: (c: StageContext, i: Parameters<typeof embeddedIndexStage.run>[1]) =>
        Effect.provideService(embeddedIndexStage.run(c, i, {}), StoreDatabase, store.client),
    };
    await Effect.runPromise(index.run(ctx, inputs({ Chunk: set, Embed: embedChunks(set) })));
    const search = (text: string, minScore?: number) =>
      Effect.runPromise(
        searchIndex(store.client, text, embedText(text), {
          k: 2,
          ...(minScore === undefined ? {} : { minScore }),
        }),
      );
    const nonsense = await search("xyzzy nonsense");
    expect(nonsense.textMatches).toBe(0);
    expect(nonsense.hits.map((h) => h.match)).toEqual(["vector", "vector"]);
    const found = await search("repaglinide diabetes");
    expect(found.textMatches).toBe(1);
    expect(found.hits[0]).toMatchObject({
      chunkId: "doc:3:chunk:0",
      textRank: 1,
      denseRank: 1,
      match: "text+vector",
    });
    const strict = await search("repaglinide diabetes", 0.03);
    expect(strict.hits.map((h) => [h.chunkId, h.match])).toEqual([
      ["doc:3:chunk:0", "text+vector"],
    ]);
  });
});
