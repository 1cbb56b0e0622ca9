/**
 * The bench's command line: its options, `--help`, and a usage message with exit status 2 for
 * anything else, as every command of the kit answers.
 *
 * @module
 */
import { parseArgs, UsageError } from "../cli/_args.ts";
import { isServerStore } from "../adapters/store/store.ts";
import { type PeerRuntime, peerRuntimes } from "./_peers.ts";

/** The bench's usage text. */
export const benchUsage = `usage: deno task bench [--docs N] [--concurrency N] [--repeat N] [--json]
                       [--store memory|postgres://…] [--peer-runtime deno|node] [--skip-peers]

  --docs N          synthetic documents per run (default: 300)
  --concurrency N   jobs in flight at once, on every side (default: 8)
  --repeat N        measured runs of each side; the median is reported (default: 3)
  --json            end with one line of JSON: rates, ranges, ratios, statements and events
  --store S         where the kit's store lives: \`memory\` (PGlite in memory), or a postgres://
                    URL (a fresh schema per run on that server, dropped afterwards); default: a
                    fresh embedded store in a temporary folder, on disk as run-pipeline keeps it
  --peer-runtime R  run the LangGraph.js peers under deno (the kit's runtime) or node
                    (default: deno)
  --skip-peers      measure only the bare chain and the kit
  --startup         measure run-pipeline's start instead: a machine's first store (empty
                    cache), a new store (cold) and a re-run (warm); see --startup --help
  --footprint       measure a long run's footprint instead: store size per document and memory
                    with a live sink and retention 0; see --footprint --help
  --workers N       measure N worker processes sharing a PostgreSQL server store (--store)
                    instead; see --workers N --help
  --help            this text

The LangGraph.js peers are installed into bench/peers/node_modules (npm ci) on first use. The
Postgres checkpointer peer runs when DATABASE_URL is set, or else on the --store server.`;

/** The bench's options. */
export interface BenchOptions {
  readonly docs: number;
  readonly concurrency: number;
  readonly repeat: number;
  /** End with one line of JSON. */
  readonly json: boolean;
  /** `memory`, or the PostgreSQL server the kit runs on; undefined: an embedded store on disk. */
  readonly store?: string;
  readonly peerRuntime: PeerRuntime;
  readonly skipPeers: boolean;
}

const runtimeOf = (value: string | undefined): PeerRuntime => {
  if (value === undefined) return "deno";
  const runtime = peerRuntimes.find((r) => r === value);
  if (!runtime) {
    throw new UsageError(
      `--peer-runtime: expected one of ${peerRuntimes.join(", ")}, got "${value}"`,
    );
  }
  return runtime;
};

const storeOf = (value: string | undefined): string | undefined => {
  if (value !== undefined && value !== "memory" && !isServerStore(value)) {
    throw new UsageError(`--store: expected memory or a postgres:// URL, got "${value}"`);
  }
  return value;
};

/**
 * Reads the bench's options, or the exit status to end with: 0 after printing the usage for
 * `--help`, 2 after printing the problem and the usage for a bad option.
 */
export const benchOptionsFrom = (args: ReadonlyArray<string>): BenchOptions | number => {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(benchUsage);
    return 0;
  }
  try {
    const { flags, positional } = parseArgs(args, {
      docs: { type: "integer", min: 1 },
      concurrency: { type: "integer", min: 1 },
      repeat: { type: "integer", min: 1 },
      json: { type: "boolean" },
      store: { type: "string" },
      "peer-runtime": { type: "string" },
      "skip-peers": { type: "boolean" },
    });
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const store = storeOf(flags.store as string | undefined);
    return {
      docs: (flags.docs as number | undefined) ?? 300,
      concurrency: (flags.concurrency as number | undefined) ?? 8,
      repeat: (flags.repeat as number | undefined) ?? 3,
      json: flags.json === true,
      ...(store ? { store } : {}),
      peerRuntime: runtimeOf(flags["peer-runtime"] as string | undefined),
      skipPeers: flags["skip-peers"] === true,
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`bench: ${e.message}\n${benchUsage}`);
    return 2;
  }
};
