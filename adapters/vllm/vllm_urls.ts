/**
 * Where a vLLM server's endpoints are, and how long a request may take: pure helpers, apart from
 * the `openai` client so that code needing only a URL does not load the client library.
 *
 * @module
 */

/**
 * Milliseconds a vLLM request may take when `timeoutMs` is not set.
 *
 * @category constructors
 */
export const defaultVllmTimeoutMs = 60_000;

/**
 * The server's root URL: `baseUrl` without trailing slashes and without a trailing `/v1`.
 *
 * @category combinators
 */
export const serverRoot = (baseUrl: string): string =>
  baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");

/**
 * The embeddings endpoint of a vLLM server: `{baseUrl}/v1/embeddings`.
 *
 * @category combinators
 */
export const embeddingsUrl = (baseUrl: string): string => `${serverRoot(baseUrl)}/v1/embeddings`;

/**
 * The models endpoint of a vLLM server: `{baseUrl}/v1/models`.
 *
 * @category combinators
 */
export const modelsUrl = (baseUrl: string): string => `${serverRoot(baseUrl)}/v1/models`;
