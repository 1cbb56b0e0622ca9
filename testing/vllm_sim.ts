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
import { z } from "zod";
import {
  approximateTokens,
  type CapacityModel,
  capacityModel,
  type SimulatedCapacity,
  simulatedEmbedding,
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
   * gateway); `out-of-memory`: `/v1/embeddings` answers 500 with a CUDA out-of-memory message.
   * @default "none"
   */
  readonly failure: "none" | "unavailable" | "out-of-memory";
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

// Other fields vLLM accepts (`user`, `truncate_prompt_tokens`, …) are let through and ignored.
const embeddingsRequest = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().positive().optional(),
});

const errorBody = (
  shape: SimulatedVllmSwitches["errorShape"],
  status: number,
  type: string,
  message: string,
  param: string | null = null,
): Response => {
  const error = { message, type, param, code: status };
  const body = shape === "nested" ? { error } : { object: "error", ...error };
  return Response.json(body, { status });
};

// vLLM's message for an input over the context (`vllm/renderers/params.py`).
const tooLongMessage = (tokens: number, max: number): string =>
  `You passed ${tokens} input tokens and requested 0 output tokens. However, the model's ` +
  `context length is only ${max} tokens, resulting in a maximum input length of ${max} tokens. ` +
  "Please reduce the length of the input prompt.";

const oomMessage = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. " +
  "GPU 0 has a total capacity of 11.53 GiB of which 187.75 MiB is free.";

const base64Floats = (vector: ReadonlyArray<number>): string => {
  const bytes = new Uint8Array(new Float32Array(vector).buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

const sleep = (ms: number): Promise<void> =>
  ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));

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
  const models = options.models ?? ["sim/embed"];
  const native = options.dimensions ?? 64;
  const capacity = capacityModel(options);
  let switches: SimulatedVllmSwitches = {
    failure: options.failure ?? "none",
    errorShape: options.errorShape ?? "nested",
    extraLatencyMs: options.extraLatencyMs ?? 0,
    maxInputTokens: options.maxInputTokens ?? 512,
  };
  const emptyStats = () => ({
    received: [] as Array<string>,
    embeddingRequests: 0,
    texts: 0,
    batchSizes: [] as Array<number>,
    bodies: [] as Array<unknown>,
    peakConcurrentRequests: 0,
    busyMs: 0,
  });
  let stats = emptyStats();
  let open = 0;
  // When each simulated batch slot is next free (performance.now() time).
  const lanes: Array<number> = Array.from({ length: capacity.maxConcurrentBatches }, () => 0);

  const runOnGpu = async (tokens: number): Promise<void> => {
    const cost = capacity.batchCostMs(tokens);
    const now = performance.now();
    const lane = lanes.indexOf(Math.min(...lanes));
    const end = Math.max(now, lanes[lane]) + cost;
    lanes[lane] = end;
    stats.busyMs += cost;
    await sleep(end - now);
  };

  const embed = async (request: Request): Promise<Response> => {
    const shape = switches.errorShape;
    const raw: unknown = await request.json().catch(() => undefined);
    stats.bodies.push(raw);
    const parsed = embeddingsRequest.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.join(".") || "(body)";
      return errorBody(shape, 400, "BadRequestError", `${where}: ${issue.message}`);
    }
    const body = parsed.data;
    const texts = typeof body.input === "string" ? [body.input] : body.input;
    stats.embeddingRequests += 1;
    stats.texts += texts.length;
    stats.batchSizes.push(texts.length);
    await sleep(switches.extraLatencyMs);
    if (switches.failure === "unavailable") {
      return errorBody(shape, 503, "ServiceUnavailableError", "Service Unavailable");
    }
    if (!models.includes(body.model)) {
      const message = `The model \`${body.model}\` does not exist.`;
      return errorBody(shape, 404, "NotFoundError", message);
    }
    const dimensions = body.dimensions ?? native;
    if (dimensions > native) {
      const message = `dimensions must be at most ${native} for model ${body.model} (simulated)`;
      return errorBody(shape, 400, "BadRequestError", message, "dimensions");
    }
    const tokens = texts.map(approximateTokens);
    const longest = Math.max(...tokens);
    if (longest > switches.maxInputTokens) {
      const message = tooLongMessage(longest, switches.maxInputTokens);
      return errorBody(shape, 400, "BadRequestError", message, "input_tokens");
    }
    if (switches.failure === "out-of-memory") {
      return errorBody(shape, 500, "InternalServerError", oomMessage);
    }
    const total = tokens.reduce((sum, n) => sum + n, 0);
    await runOnGpu(total);
    const base64 = body.encoding_format === "base64";
    return Response.json({
      id: `embd-${crypto.randomUUID()}`,
      object: "list",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      data: texts.map((text, index) => {
        const vector = simulatedEmbedding(text, dimensions);
        return { index, object: "embedding", embedding: base64 ? base64Floats(vector) : vector };
      }),
      usage: {
        prompt_tokens: total,
        total_tokens: total,
        completion_tokens: 0,
        prompt_tokens_details: null,
      },
    });
  };

  const modelList = (): Response =>
    Response.json({
      object: "list",
      data: models.map((id) => ({
        id,
        object: "model",
        created: Math.floor(Date.now() / 1000),
        owned_by: "vllm",
        root: id,
        parent: null,
        max_model_len: switches.maxInputTokens,
        permission: [],
      })),
    });

  const authorized = (request: Request): boolean =>
    options.apiKey === undefined ||
    request.headers.get("authorization") === `Bearer ${options.apiKey}`;

  const route = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    stats.received.push(`${request.method} ${pathname}`);
    if (pathname === "/health" && request.method === "GET") {
      return new Response(null, { status: switches.failure === "unavailable" ? 503 : 200 });
    }
    if (pathname.startsWith("/v1/") && !authorized(request)) {
      // vLLM's `--api-key` middleware answers this body.
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    if (pathname === "/v1/models" && request.method === "GET") return modelList();
    if (pathname === "/v1/embeddings" && request.method === "POST") {
      open += 1;
      stats.peakConcurrentRequests = Math.max(stats.peakConcurrentRequests, open);
      try {
        return await embed(request);
      } finally {
        open -= 1;
      }
    }
    return Response.json({ detail: "Not Found" }, { status: 404 });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, route);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    models,
    dimensions: native,
    capacity,
    set: (changes) => {
      switches = { ...switches, ...changes };
    },
    stats: () => ({
      ...stats,
      received: [...stats.received],
      batchSizes: [...stats.batchSizes],
      bodies: [...stats.bodies],
    }),
    reset: () => {
      stats = emptyStats();
    },
    stop: () => server.shutdown(),
  };
};
