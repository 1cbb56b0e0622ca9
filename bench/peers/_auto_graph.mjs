/**
 * The kit's `auto` pipeline as a LangGraph.js StateGraph: the same seven steps with the same
 * trivial bodies as bench/_trivial_stages.ts, and the same topology (two branches after parse,
 * which LangGraph runs in one superstep, as the kit runs independent stages concurrently).
 *
 *   ingest → parse → chunk → embed → index
 *                 ↘ extract → kg
 *
 * @module
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

// One channel per stage output: the two branches never write the same key, so plain last-value
// channels suffice and no reducer runs (the kit, too, keeps one output per stage).
const AutoState = Annotation.Root({
  request: Annotation(),
  raw: Annotation(),
  document: Annotation(),
  chunks: Annotation(),
  embeddings: Annotation(),
  indexed: Annotation(),
  extraction: Annotation(),
  graph: Annotation(),
});

const docOf = (docId) => ({
  id: docId,
  source: "clinicaltrials",
  title: docId,
  sections: [],
  metadata: {},
  provenance: {
    source: "clinicaltrials",
    location: { kind: "file", file: "synthetic", pointer: "" },
    parser: "bench",
  },
});

// Synchronous bodies returning small objects, as the kit's trivial stages do (Effect.succeed).
const nodes = {
  ingest: ({ request }) => ({
    raw: {
      source: request.source,
      docKey: request.docKey,
      location: request.location,
      record: {},
    },
  }),
  parse: ({ raw }) => ({ document: docOf(raw.docKey) }),
  chunk: ({ document }) => ({ chunks: { docId: document.id, chunks: [] } }),
  embed: ({ chunks }) => ({
    embeddings: {
      docId: chunks.docId,
      model: "none",
      dimensions: 0,
      vectors: [],
    },
  }),
  index: ({ embeddings }) => ({
    indexed: { docId: embeddings.docId, index: "none", upserted: 0 },
  }),
  extract: ({ document }) => ({
    extraction: { docId: document.id, entities: [], claims: [] },
  }),
  kg: ({ extraction }) => ({
    graph: { docId: extraction.docId, nodes: 0, edges: 0 },
  }),
};

/**
 * Compiles the auto graph, with `checkpointer` (a LangGraph checkpoint saver) or without
 * persistence when it is undefined.
 */
export const compileAutoGraph = (checkpointer) =>
  new StateGraph(AutoState)
    .addNode("ingest", nodes.ingest)
    .addNode("parse", nodes.parse)
    .addNode("chunk", nodes.chunk)
    .addNode("embed", nodes.embed)
    .addNode("index", nodes.index)
    .addNode("extract", nodes.extract)
    .addNode("kg", nodes.kg)
    .addEdge(START, "ingest")
    .addEdge("ingest", "parse")
    .addEdge("parse", "chunk")
    .addEdge("chunk", "embed")
    .addEdge("embed", "index")
    .addEdge("parse", "extract")
    .addEdge("extract", "kg")
    .addEdge("index", END)
    .addEdge("kg", END)
    .compile({ checkpointer });

/** The synthetic requests, as the kit's bench builds them. */
export const requestsOf = (docs, prefix = "SYN") =>
  Array.from({ length: docs }, (_, i) => ({
    source: "clinicaltrials",
    docKey: `${prefix}${String(i).padStart(6, "0")}`,
    location: { kind: "file", file: "synthetic", pointer: "" },
  }));
