/**
 * Turns what the `openai` client throws into the kit's {@link HttpOutcome}, so that vLLM's failures
 * are read by the same classification as every other HTTP adapter.
 *
 * The client parses an error body before throwing: its `error` field holds the body's `error`
 * member when there is one (the inner object of vLLM's current `{"error":{…}}` body, the string of
 * `{"error":"Unauthorized"}`), else the whole body (the older flat `{"object":"error",…}`); a body
 * that is not JSON survives only in the error's message, after the status.
 *
 * @module
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { HttpOutcome } from "../http/http_errors.ts";

// The client's message for a status error is `${status} ${body}`, or this when there was none.
const noBody = "status code (no body)";

const bodyText = (error: APIError<number, Headers>): string => {
  const parsed: unknown = error.error;
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
    return JSON.stringify(parsed);
  }
  // A body whose `error` is not an object (`{"error":"Unauthorized"}` from vLLM's `--api-key`
  // check) reaches us as that value alone: put it back where the body had it.
  if (parsed !== undefined && parsed !== null) return JSON.stringify({ error: parsed });
  const rest = error.message.startsWith(`${error.status} `)
    ? error.message.slice(String(error.status).length + 1)
    : error.message;
  return rest === noBody ? "" : rest;
};

/**
 * The outcome an `openai` client failure stands for: an HTTP status with its body and headers, a
 * timeout after `timeoutMs`, or a network failure carrying the underlying cause.
 *
 * @example
 * ```ts
 * import { APIConnectionTimeoutError } from "openai";
 * import { sdkOutcome } from "./sdk_outcome.ts";
 *
 * const outcome = sdkOutcome(new APIConnectionTimeoutError(), "POST", "http://gpu-1:8000/v1/embeddings", 500);
 * console.log(outcome.kind); // "timeout"
 * ```
 *
 * @category errors
 */
export const sdkOutcome = (
  error: unknown,
  method: string,
  url: string,
  timeoutMs: number,
): HttpOutcome => {
  if (error instanceof APIConnectionTimeoutError) {
    return { kind: "timeout", method, url, timeoutMs };
  }
  if (error instanceof APIUserAbortError || error instanceof APIConnectionError) {
    return { kind: "network", method, url, cause: error.cause ?? error };
  }
  if (error instanceof APIError && typeof error.status === "number") {
    const status = error as APIError<number, Headers>;
    return {
      kind: "status",
      method,
      url,
      status: status.status,
      headers: status.headers ?? new Headers(),
      text: bodyText(status),
    };
  }
  return { kind: "network", method, url, cause: error };
};
