/**
 * A simulated vLLM server for tests and benchmarks: real HTTP on loopback (`Deno.serve` on
 * 127.0.0.1, a free port), speaking the OpenAI-compatible API vLLM serves for an embedding model.
 *
 * - `POST /v1/embeddings`: `input` as a string or a list of strings, `dimensions`,
 *   `encoding_format` `float` or `base64`; returns {@link simulatedEmbedding} of each text, so a
 *   test can tell which vector belongs to which text.
 * - `GET /v1/models`: `{object: "list", data: [{id, object: "model", …}]}`.
 * - `GET /health`: 200 with an empty body, 503 while switched to `unavailable`.
 *
 * Capacity: each embeddings request is one batch and keeps a simulated GPU busy for
 * `requestCostMs + tokenCostMs × tokens` ms (tokens = whitespace-separated words, see
 * {@link approximateTokens}); at most `maxConcurrentBatches` batches are processed at once and the
 * others wait their turn, as vLLM queues requests. Throughput is therefore bounded by
 * {@link CapacityModel.maxTextsPerSecond}. Errors come in vLLM's current `{"error":{…}}` body or
 * the older flat `{"object":"error",…}` body (`errorShape`).
 *
 * @module
 */
import {
  embeddingsAnswer,
  embeddingsRequest,
  errorAnswer,
  modelsAnswer,
  outOfMemoryMessage,
  tooLongMessage,
} from "./_vllm_sim_answers.ts";
import {
  approximateTokens,
  type CapacityModel,
  capacityModel,
  type SimulatedCapacity,
} from "./vllm_sim_model.ts";

export * from "./vllm_sim_model.ts";

/**
 * Behaviour that can be switched while the server runs.
 *
 * @category testing
 */
export interface SimulatedVllmSwitches {
  /**
   * `unavailable`: `/health` and `/v1/embeddings` answer 503 (an engine restarting behind a
   * gateway); `gateway-unavailable`: only `/v1/embeddings` answers 503 (a gateway in front of a
   * server whose own `/health` still answers 200); `out-of-memory`: `/v1/embeddings` answers 500
   * with a CUDA out-of-memory message.
   * @default "none"
   */
  readonly failure: "none" | "unavailable" | "gateway-unavailable" | "out-of-memory";
  /**
   * The shape of every error body.
   * @default "nested"
   */
  readonly errorShape: "nested" | "flat";
  /**
   * Milliseconds added to every embeddings answer, outside the GPU (a slow network or proxy).
   * @default 0
   */
  readonly extraLatencyMs: number;
  /**
   * The longest input, in tokens; a longer one fails the request with vLLM's 400.
   * @default 512
   */
  readonly maxInputTokens: number;
}

/**
 * How to start a simulated server.
 *
 * @category testing
 */
export interface SimulatedVllmOptions extends SimulatedCapacity, Partial<SimulatedVllmSwitches> {
  /**
   * The served model names (`--served-model-name`).
   * @default ["sim/embed"]
   */
  readonly models?: ReadonlyArray<string>;
  /**
   * The model's own vector length; `dimensions` may ask for fewer.
   * @default 64
   */
  readonly dimensions?: number;
  /** When set, `/v1/*` requires `Authorization: Bearer <apiKey>` (vLLM `--api-key`). */
  readonly apiKey?: string;
}

/**
 * What the server has received since it started or was last reset.
 *
 * @category testing
 */
export interface SimulatedVllmStats {
  /** Every request, as `"METHOD /path"`, in arrival order. */
  readonly received: ReadonlyArray<string>;
  /** `POST /v1/embeddings` requests received. */
  readonly embeddingRequests: number;
  /** Texts received in embeddings requests. */
  readonly texts: number;
  /** The number of texts in each embeddings request, in arrival order. */
  readonly batchSizes: ReadonlyArray<number>;
  /** Each embeddings request body, parsed, in arrival order. */
  readonly bodies: ReadonlyArray<unknown>;
  /** The most embeddings requests open at once. */
  readonly peakConcurrentRequests: number;
  /** Milliseconds of simulated GPU time spent on batches. */
  readonly busyMs: number;
}

/**
 * A running simulated server.
 *
 * @category testing
 */
export interface SimulatedVllm {
  /** The server's root, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The served model names. */
  readonly models: ReadonlyArray<string>;
  /** The model's own vector length. */
  readonly dimensions: number;
  /** Its capacity model. */
  readonly capacity: CapacityModel;
  /** Changes behaviour from now on. */
  readonly set: (switches: Partial<SimulatedVllmSwitches>) => void;
  /** What was received. */
  readonly stats: () => SimulatedVllmStats;
  /** Forgets what was received. */
  readonly reset: () => void;
  /** Stops listening once the requests in progress are answered. */
  readonly stop: () => Promise<void>;
}

const sleep = (ms: number): Promise<void> =>
  ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));

type MutableStats = {
  -readonly [K in keyof SimulatedVllmStats]: SimulatedVllmStats[K] extends ReadonlyArray<infer T>
    ? Array<T>
    : SimulatedVllmStats[K];
};

const emptyStats = (): MutableStats => ({
  received: [],
  embeddingRequests: 0,
  texts: 0,
  batchSizes: [],
  bodies: [],
  peakConcurrentRequests: 0,
  busyMs: 0,
});

interface Server {
  readonly models: ReadonlyArray<string>;
  readonly native: number;
  readonly capacity: CapacityModel;
  readonly apiKey: string | undefined;
  switches: SimulatedVllmSwitches;
  stats: MutableStats;
  open: number;
  /** When each simulated batch slot is next free (`performance.now()` time). */
  readonly lanes: Array<number>;
}

// Takes the batch slot free soonest and waits until the batch is done on it.
const runOnGpu = async (server: Server, tokens: number): Promise<void> => {
  const cost = server.capacity.batchCostMs(tokens);
  const now = performance.now();
  const lane = server.lanes.indexOf(Math.min(...server.lanes));
  const end = Math.max(now, server.lanes[lane]) + cost;
  server.lanes[lane] = end;
  server.stats.busyMs += cost;
  await sleep(end - now);
};

const embed = async (server: Server, request: Request): Promise<Response> => {
  const { switches, stats } = server;
  const shape = switches.errorShape;
  const raw: unknown = await request.json().catch(() => undefined);
  stats.bodies.push(raw);
  const parsed = embeddingsRequest.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join(".") || "(body)";
    return errorAnswer(shape, 400, "BadRequestError", `${where}: ${issue.message}`);
  }
  const body = parsed.data;
  const texts = typeof body.input === "string" ? [body.input] : body.input;
  stats.embeddingRequests += 1;
  stats.texts += texts.length;
  stats.batchSizes.push(texts.length);
  await sleep(switches.extraLatencyMs);
  if (
    server.switches.failure === "unavailable" || server.switches.failure === "gateway-unavailable"
  ) {
    return errorAnswer(shape, 503, "ServiceUnavailableError", "Service Unavailable");
  }
  if (!server.models.includes(body.model)) {
    const message = `The model \`${body.model}\` does not exist.`;
    return errorAnswer(shape, 404, "NotFoundError", message);
  }
  const dimensions = body.dimensions ?? server.native;
  if (dimensions > server.native) {
    const message =
      `dimensions must be at most ${server.native} for model ${body.model} (simulated)`;
    return errorAnswer(shape, 400, "BadRequestError", message, "dimensions");
  }
  const tokens = texts.map(approximateTokens);
  const longest = Math.max(...tokens);
  const max = server.switches.maxInputTokens;
  if (longest > max) {
    return errorAnswer(shape, 400, "BadRequestError", tooLongMessage(longest, max), "input_tokens");
  }
  if (server.switches.failure === "out-of-memory") {
    return errorAnswer(shape, 500, "InternalServerError", outOfMemoryMessage);
  }
  const total = tokens.reduce((sum, n) => sum + n, 0);
  await runOnGpu(server, total);
  return embeddingsAnswer(body, texts, dimensions, total);
};

const route = async (server: Server, request: Request): Promise<Response> => {
  const { pathname } = new URL(request.url);
  server.stats.received.push(`${request.method} ${pathname}`);
  if (pathname === "/health" && request.method === "GET") {
    return new Response(null, { status: server.switches.failure === "unavailable" ? 503 : 200 });
  }
  const authorized = server.apiKey === undefined ||
    request.headers.get("authorization") === `Bearer ${server.apiKey}`;
  if (pathname.startsWith("/v1/") && !authorized) {
    // vLLM's `--api-key` middleware answers this body.
    return Response.json({ error: "Unauthorized" }, { status: 401 });
  }
  if (pathname === "/v1/models" && request.method === "GET") {
    return modelsAnswer(server.models, server.switches.maxInputTokens);
  }
  if (pathname === "/v1/embeddings" && request.method === "POST") {
    server.open += 1;
    server.stats.peakConcurrentRequests = Math.max(
      server.stats.peakConcurrentRequests,
      server.open,
    );
    try {
      return await embed(server, request);
    } finally {
      server.open -= 1;
    }
  }
  return Response.json({ detail: "Not Found" }, { status: 404 });
};

/**
 * Starts a simulated vLLM server on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * import { startSimulatedVllm } from "./vllm_sim.ts";
 *
 * const sim = startSimulatedVllm({ models: ["BAAI/bge-m3"], dimensions: 16 });
 * const response = await fetch(`${sim.url}/v1/embeddings`, {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ model: "BAAI/bge-m3", input: ["aspirin", "fever"] }),
 * });
 * console.log((await response.json()).data.length); // 2
 * await sim.stop();
 * ```
 *
 * @category testing
 */
export const startSimulatedVllm = (options: SimulatedVllmOptions = {}): SimulatedVllm => {
  const capacity = capacityModel(options);
  const server: Server = {
    models: options.models ?? ["sim/embed"],
    native: options.dimensions ?? 64,
    capacity,
    apiKey: options.apiKey,
    switches: {
      failure: options.failure ?? "none",
      errorShape: options.errorShape ?? "nested",
      extraLatencyMs: options.extraLatencyMs ?? 0,
      maxInputTokens: options.maxInputTokens ?? 512,
    },
    stats: emptyStats(),
    open: 0,
    lanes: Array.from({ length: capacity.maxConcurrentBatches }, () => 0),
  };
  const listener = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => route(server, request),
  );
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    models: server.models,
    dimensions: server.native,
    capacity,
    set: (changes) => {
      server.switches = { ...server.switches, ...changes };
    },
    stats: () => ({
      ...server.stats,
      received: [...server.stats.received],
      batchSizes: [...server.stats.batchSizes],
      bodies: [...server.stats.bodies],
    }),
    reset: () => {
      server.stats = emptyStats();
    },
    stop: () => listener.shutdown(),
  };
};
