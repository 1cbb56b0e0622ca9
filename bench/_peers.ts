/**
 * The bench's peers: installs bench/peers/ (its own package.json and lockfile, never part of the
 * library) on first use, and runs one peer measurement in a process of its own.
 *
 * Peers run under Deno by default, from their own node_modules with no Deno config: the same
 * runtime (and V8) as the kit's side of the bench, so the ratio compares orchestration, not
 * engines. `--peer-runtime node` runs them under Node instead, as most LangGraph.js users would.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

const peersDir = fileURLToPath(new URL("./peers/", import.meta.url));

/** The runtimes a peer can run under. */
export const peerRuntimes = ["deno", "node"] as const;
/** A runtime a peer runs under. */
export type PeerRuntime = typeof peerRuntimes[number];

/** LangGraph's persistence in a peer run. */
export type Checkpointer = "none" | "memory" | "postgres";

/** One peer side of the bench: its persistence, its row in the table, its summary key. */
export interface PeerSide {
  readonly checkpointer: Checkpointer;
  readonly name: string;
  readonly key: string;
}

/**
 * LangGraph.js with each persistence there is something to run it on: none, MemorySaver, and
 * the Postgres checkpointer when `databaseUrl` names a server.
 */
export const langGraphSides = (databaseUrl: string | undefined): PeerSide[] => [
  { checkpointer: "none", name: "LangGraph.js (no persistence)", key: "langgraph" },
  { checkpointer: "memory", name: "LangGraph.js + MemorySaver", key: "langgraph_memorysaver" },
  ...(databaseUrl
    ? [{
      checkpointer: "postgres",
      name: "LangGraph.js + PostgresSaver",
      key: "langgraph_postgres",
    }]
    : []) satisfies PeerSide[],
];

/**
 * When the checkpointing peers save: LangGraph's "sync" durability writes each step's checkpoint
 * before the next step starts, the guarantee the kit gives (a stage's checkpoint is committed
 * before its dependents run). LangGraph's own default, "async", overlaps the two.
 */
export const langGraphDurability = "sync";

/** What one peer run printed. */
export interface PeerResult {
  readonly docs: number;
  readonly seconds: number;
  readonly docs_per_s: number;
  readonly runtime: string;
  /** Statements sent per document (the Postgres checkpointer only). */
  readonly statements_per_doc?: number;
}

const mtime = async (path: string): Promise<number | undefined> => {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch {
    return undefined;
  }
};

const output = async (command: Deno.Command): Promise<string> => {
  const { code, stdout, stderr } = await command.output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(`exit ${code}: ${new TextDecoder().decode(stderr).trim() || text.trim()}`);
  }
  return text;
};

/**
 * Installs the peers with `npm ci` when their node_modules is missing or older than the lockfile
 * (npm records the installed tree in node_modules/.package-lock.json).
 */
export const ensurePeersInstalled = async (): Promise<void> => {
  const installed = await mtime(resolve(peersDir, "node_modules/.package-lock.json"));
  const locked = await mtime(resolve(peersDir, "package-lock.json"));
  if (installed !== undefined && locked !== undefined && installed >= locked) return;
  console.error("bench: installing the peers (npm ci in bench/peers)…");
  await output(
    new Deno.Command("npm", { args: ["ci", "--no-audit", "--no-fund"], cwd: peersDir }),
  );
};

/** One stage of the DAG a peer runs: the kit pipeline's, so both sides run the same graph. */
export interface PeerStage {
  readonly name: string;
  readonly type: string;
  readonly dependsOn: ReadonlyArray<string>;
}

/** Options of one peer run. */
export interface PeerRunOptions {
  /** The pipeline's stages, dependencies first. */
  readonly topology: ReadonlyArray<PeerStage>;
  readonly runtime: PeerRuntime;
  readonly checkpointer: Checkpointer;
  readonly docs: number;
  readonly concurrency: number;
  /** The server the Postgres checkpointer writes to. */
  readonly databaseUrl?: string;
  /** When checkpoints are written (LangGraph's `durability`). */
  readonly durability: "sync" | "async" | "exit";
}

/** Runs the LangGraph peer once, in a fresh process, and returns the JSON line it printed. */
export const runLangGraphPeer = async (options: PeerRunOptions): Promise<PeerResult> => {
  const args = [
    "langgraph_peer.mjs",
    `--docs=${options.docs}`,
    `--concurrency=${options.concurrency}`,
    `--checkpointer=${options.checkpointer}`,
    `--durability=${options.durability}`,
    `--topology=${JSON.stringify(options.topology)}`,
    ...(options.databaseUrl ? [`--database-url=${options.databaseUrl}`] : []),
  ];
  // --no-config and a manual node_modules: the peer resolves its packages exactly as Node does,
  // from bench/peers/node_modules, and never touches the kit's config or lockfile.
  const command = options.runtime === "deno"
    ? new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "--no-lock", "--node-modules-dir=manual", ...args],
      cwd: peersDir,
    })
    : new Deno.Command("node", { args, cwd: peersDir });
  let text: string;
  try {
    text = await output(command);
  } catch (e) {
    throw new Error(`LangGraph peer (${options.checkpointer}): ${(e as Error).message}`);
  }
  const last = text.trim().split("\n").at(-1) ?? "";
  const result = JSON.parse(last) as PeerResult;
  if (result.docs !== options.docs || !(result.seconds > 0)) {
    throw new Error(`LangGraph peer (${options.checkpointer}): unexpected result ${last}`);
  }
  return result;
};
