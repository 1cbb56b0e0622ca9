/**
 * The LangGraph.js peer of `deno task bench`: pushes N synthetic documents through a pipeline's
 * DAG as a LangGraph graph (bench/peers/_pipeline_graph.mjs) with C invocations in flight at
 * once, each document its own thread, and prints one JSON line: docs, concurrency, seconds,
 * docs_per_s (and, with the Postgres checkpointer, the statements it sent per document).
 *
 * Runs under Node or Deno from this folder's node_modules (`npm ci` here installs them).
 *
 * Usage: langgraph_peer.mjs --docs N --concurrency C [--checkpointer none|memory|postgres]
 *          [--database-url URL] [--durability sync|async|exit] [--warmup N]
 *          [--topology JSON]   (default: the auto pipeline's; [{ name, type, dependsOn }])
 *
 * @module
 */
import { parseArgs } from "node:util";
import { autoTopology, compilePipelineGraph, outputKey, requestsOf } from "./_pipeline_graph.mjs";
import { checkpointerKinds, openCheckpointer } from "./_checkpointers.mjs";

const { values } = parseArgs({
  options: {
    "docs": { type: "string", default: "300" },
    "concurrency": { type: "string", default: "8" },
    "checkpointer": { type: "string", default: "none" },
    "database-url": { type: "string" },
    "durability": { type: "string", default: "sync" },
    "warmup": { type: "string", default: "200" },
    "topology": { type: "string" },
  },
});
const docs = Number(values.docs);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);
const { checkpointer: kind, durability } = values;
const topology = values.topology ? JSON.parse(values.topology) : autoTopology;
if (![docs, concurrency].every((n) => Number.isInteger(n) && n >= 1)) {
  throw new Error("--docs and --concurrency take integers >= 1");
}
if (!Number.isInteger(warmup) || warmup < 0) {
  throw new Error("--warmup takes an integer >= 0");
}
if (!checkpointerKinds.includes(kind)) {
  throw new Error(`--checkpointer: one of ${checkpointerKinds.join(", ")}`);
}
if (!["sync", "async", "exit"].includes(durability)) {
  throw new Error("--durability: one of sync, async, exit");
}

/** Invokes the graph once per request, `concurrency` at a time; resolves to the seconds taken. */
const runAll = async (graph, requests) => {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++];
      const state = await graph.invoke({ request }, {
        configurable: { thread_id: request.docKey },
        durability,
      });
      // Every stage must have run, as the kit's job succeeds only when every stage did.
      const missing = topology.find((s) => state[outputKey(s.name)] === undefined);
      if (missing) throw new Error(`${request.docKey}: stage ${missing.name} did not run`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - start) / 1000;
};

const persistence = await openCheckpointer(kind, values["database-url"]);
try {
  const graph = compilePipelineGraph(topology, persistence.saver);
  // A short warm-up on threads of their own: this process starts cold, while the kit's measured
  // runs share one warmed process, so without it the peer would pay JIT and pool start-up alone.
  if (warmup > 0) await runAll(graph, requestsOf(warmup, "WARM"));
  persistence.resetStatements();
  const seconds = await runAll(graph, requestsOf(docs));
  const statements = persistence.statements();
  console.log(JSON.stringify({
    peer: "langgraph",
    checkpointer: kind,
    durability: kind === "none" ? undefined : durability,
    runtime: "Deno" in globalThis
      ? `deno ${globalThis.Deno.version.deno}`
      : `node ${globalThis.process.version}`,
    docs,
    concurrency,
    seconds,
    docs_per_s: docs / seconds,
    statements_per_doc: statements === undefined ? undefined : statements / docs,
  }));
} finally {
  await persistence.close();
}
