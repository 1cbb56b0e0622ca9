/**
 * Whether a vLLM server is ready to embed with a given model: its engine answers `GET /health`
 * with 200 and `GET /v1/models` lists the model. Run before any job starts, so a wrong URL or
 * model stops the command at once with one line that says what is wrong.
 *
 * @module
 */
import { Clock, Duration, Effect } from "effect";
import type OpenAI from "openai";
import { z } from "zod";
import { GpuUnavailable, Permanent, type StageError } from "../../stages/errors.ts";
import { fetchText, parseJsonBody, type TextResponse } from "../http/fetch_json.ts";
import { describeOutcome, type HttpOutcome, redactUrl } from "../http/http_errors.ts";
import { sdkOutcome } from "./sdk_outcome.ts";
import { makeVllmClient, modelsUrl, serverRoot, type VllmConnection } from "./vllm_client.ts";
import { vllmFailure } from "./vllm_errors.ts";

/**
 * What {@link checkVllmHealth} checks and how it reaches the server.
 *
 * @category models
 */
export interface VllmHealthOptions extends Omit<VllmConnection, "baseUrl" | "timeoutMs"> {
  /** The model the server must list in `/v1/models`. */
  readonly model: string;
  /**
   * Milliseconds to wait for each of the two requests.
   * @default 5000
   */
  readonly timeoutMs?: number;
}

const defaultHealthTimeoutMs = 5_000;

// For `/health` every server-side failure means "not serving": the engine is down or starting.
const classifyHealth = (outcome: HttpOutcome): StageError => {
  const message = describeOutcome(outcome);
  return outcome.kind === "status" && outcome.status < 500
    ? new Permanent({ message })
    : new GpuUnavailable({ message });
};

const modelList = z.object({
  data: z.array(z.object({ id: z.string() })),
});

const listModels = (
  client: OpenAI,
  url: string,
  timeoutMs: number,
): Effect.Effect<ReadonlyArray<string>, StageError> =>
  Effect.tryPromise({
    try: async (signal): Promise<TextResponse> => {
      const response = await client.models.list({ signal }).asResponse();
      return { status: response.status, headers: response.headers, text: await response.text() };
    },
    catch: (error) => sdkOutcome(error, "GET", url, timeoutMs),
  }).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(timeoutMs),
      orElse: () => Effect.fail<HttpOutcome>({ kind: "timeout", method: "GET", url, timeoutMs }),
    }),
    Effect.catch((outcome) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) =>
        Effect.fail(vllmFailure(outcome, { model: "", inputs: [], nowMs })))
    ),
    Effect.flatMap((response) =>
      parseJsonBody("GET", url, response)
    ),
    Effect.flatMap((response) => {
      const parsed = modelList.safeParse(response.body);
      if (parsed.success) return Effect.succeed(parsed.data.data.map((model) => model.id));
      const issue = parsed.error.issues[0];
      const where = issue.path.map((key) =>
        typeof key === "number" ? `[${key}]` : `.${String(key)}`
      )
        .join("").replace(/^\./, "");
      const message = `GET ${redactUrl(url)}: malformed model list: ${
        where || "(root)"
      }: ${issue.message}`;
      return Effect.fail(new Permanent({ message }));
    }),
  );

/**
 * Checks that a vLLM server serves `options.model`: `GET /health` must answer 200 (a 5xx, no
 * answer or no connection is `GpuUnavailable`, a 4xx `Permanent`), then `GET /v1/models` must list
 * the model (`Permanent` "vLLM at … is not serving model … (serves: …)" when it does not).
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { checkVllmHealth } from "./vllm_health.ts";
 *
 * const ready = checkVllmHealth("http://gpu-1:8000", { model: "BAAI/bge-m3" }).pipe(
 *   Effect.as("ready"),
 *   Effect.catch((error) => Effect.succeed(error.message)),
 * );
 * ```
 *
 * @category constructors
 */
export const checkVllmHealth = (
  baseUrl: string,
  options: VllmHealthOptions,
): Effect.Effect<void, StageError> => {
  const root = serverRoot(baseUrl);
  const timeoutMs = options.timeoutMs ?? defaultHealthTimeoutMs;
  const health = fetchText(`${root}/health`, { method: "GET" }, {
    timeoutMs,
    classify: classifyHealth,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const client = makeVllmClient({ ...options, baseUrl: root, timeoutMs });
  return health.pipe(
    Effect.andThen(listModels(client, modelsUrl(root), timeoutMs)),
    Effect.flatMap((served) => {
      if (served.includes(options.model)) return Effect.void;
      const list = served.length === 0 ? "none" : served.join(", ");
      const message = `vLLM at ${
        redactUrl(root)
      } is not serving model ${options.model} (serves: ${list})`;
      return Effect.fail(new Permanent({ message }));
    }),
  );
};
