/**
 * The `openai` client a vLLM adapter talks through, set up for a self-hosted server: no retries
 * (the kit's policy decides them), no key, organisation, project or base URL read from `OPENAI_*`
 * variables, no `Authorization` header unless a key is given, and the fetch looked up at call time.
 * The client still adds the headers of `OPENAI_CUSTOM_HEADERS` when that variable is set.
 *
 * @module
 */
import OpenAI from "openai";

/**
 * Where a vLLM server is and how to reach it.
 *
 * @category models
 */
export interface VllmConnection {
  /** The server, e.g. `http://gpu-1:8000` (a trailing `/v1` is accepted). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …` (vLLM `--api-key`). */
  readonly apiKey?: string;
  /**
   * Milliseconds to wait for each request.
   * @default 60000
   */
  readonly timeoutMs?: number;
  /**
   * The fetch to call; the global `fetch` at call time when absent.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
}

export { defaultVllmTimeoutMs, embeddingsUrl, modelsUrl, serverRoot } from "./vllm_urls.ts";
import { defaultVllmTimeoutMs, serverRoot } from "./vllm_urls.ts";

// The SDK refuses to start without a key; vLLM started without `--api-key` ignores it, and the
// header carrying it is removed below, so this value never leaves the process.
const noKey = "unused-without-api-key";

/**
 * An `openai` client for a vLLM server's OpenAI-compatible API (`{server}/v1`).
 *
 * @example
 * ```ts
 * import { makeVllmClient } from "./vllm_client.ts";
 *
 * const client = makeVllmClient({ baseUrl: "http://gpu-1:8000", timeoutMs: 30_000 });
 * console.log(client.baseURL); // "http://gpu-1:8000/v1"
 * ```
 *
 * @category constructors
 */
export const makeVllmClient = (connection: VllmConnection): OpenAI => {
  const chosen = connection.fetch;
  return new OpenAI({
    baseURL: `${serverRoot(connection.baseUrl)}/v1`,
    apiKey: connection.apiKey ?? noKey,
    // Passed explicitly so that OPENAI_* variables meant for another service change nothing here.
    organization: null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    maxRetries: 0,
    timeout: connection.timeoutMs ?? defaultVllmTimeoutMs,
    logLevel: "off",
    // Resolved per call: a test server installed after the client was built must still see it.
    fetch: (input, init) => (chosen ?? globalThis.fetch)(input, init),
    ...(connection.apiKey === undefined ? { defaultHeaders: { Authorization: null } } : {}),
  });
};
