/**
 * A kit pipeline's DAG as a LangGraph.js StateGraph: one node per stage, with the same trivial
 * bodies as bench/_trivial_stages.ts, and one edge per `depends_on` entry. The bench passes the
 * topology of the kit's compiled auto pipeline, so both sides always run the same DAG: stages
 * whose dependencies are met run together in one LangGraph superstep, as the kit runs
 * independent stages concurrently, and a stage with several dependencies waits for all of them.
 *
 * @module
 */
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

/**
 * The auto pipeline's topology (pipelines/auto.yaml), for running the peer on its own; the bench
 * always passes the kit's compiled one.
 */
export const autoTopology = [
  { name: "ingest", type: "Ingest", dependsOn: [] },
  { name: "parse", type: "Parse", dependsOn: ["ingest"] },
  { name: "chunk", type: "Chunk", dependsOn: ["parse"] },
  { name: "embed", type: "Embed", dependsOn: ["chunk"] },
  { name: "index", type: "Index", dependsOn: ["embed"] },
  { name: "extract", type: "Extract", dependsOn: ["parse"] },
  { name: "kg", type: "KG", dependsOn: ["extract", "index"] },
];

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

// Synchronous bodies returning small objects, as the kit's trivial stages do (Effect.succeed),
// keyed by stage type; like those, they take the document's id, not their upstream's output.
const bodies = {
  Ingest: (request) => ({
    source: request.source,
    docKey: request.docKey,
    location: request.location,
    record: {},
  }),
  Parse: (request) => docOf(request.docKey),
  Chunk: (request) => ({ docId: request.docKey, chunks: [] }),
  Embed: (request) => ({ docId: request.docKey, model: "none", dimensions: 0, vectors: [] }),
  Index: (request) => ({ docId: request.docKey, index: "none", upserted: 0 }),
  Extract: (request) => ({ docId: request.docKey, entities: [], claims: [] }),
  KG: (request) => ({ docId: request.docKey, nodes: 0, edges: 0 }),
};

/** The state key a stage's output goes to (LangGraph refuses a channel named like a node). */
export const outputKey = (stageName) => `${stageName}_out`;

/**
 * Compiles `topology` (`[{ name, type, dependsOn }]`) into a graph, with `checkpointer` (a
 * LangGraph checkpoint saver) or without persistence when it is undefined.
 */
export const compilePipelineGraph = (topology, checkpointer) => {
  // One last-value channel per stage: no two stages write the same key, so no reducer runs
  // (the kit, too, keeps one output per stage).
  const state = Annotation.Root(
    Object.fromEntries([
      ["request", Annotation()],
      ...topology.map((s) => [outputKey(s.name), Annotation()]),
    ]),
  );
  const graph = new StateGraph(state);
  for (const stage of topology) {
    const body = bodies[stage.type];
    if (!body) throw new Error(`stage "${stage.name}": no peer body for type ${stage.type}`);
    graph.addNode(stage.name, ({ request }) => ({ [outputKey(stage.name)]: body(request) }));
  }
  for (const stage of topology) {
    const deps = stage.dependsOn;
    // A list of sources is LangGraph's join: the node runs once all of them have finished.
    graph.addEdge(deps.length === 0 ? START : deps.length === 1 ? deps[0] : deps, stage.name);
    if (!topology.some((s) => s.dependsOn.includes(stage.name))) graph.addEdge(stage.name, END);
  }
  return graph.compile({ checkpointer });
};

/** The synthetic requests, as the kit's bench builds them. */
export const requestsOf = (docs, prefix = "SYN") =>
  Array.from({ length: docs }, (_, i) => ({
    source: "clinicaltrials",
    docKey: `${prefix}${String(i).padStart(6, "0")}`,
    location: { kind: "file", file: "synthetic", pointer: "" },
  }));
