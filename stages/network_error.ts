/**
 * Why a request failed before any response. `fetch` rejects with "fetch failed" and hangs what
 * happened (an unknown host, a refused connection) off its `cause`, sometimes several levels down.
 *
 * @module
 */

const causeChain = (cause: unknown): ReadonlyArray<unknown> => {
  const chain: Array<unknown> = [];
  for (let c = cause; c !== undefined && c !== null && chain.length < 8; c = (c as Error).cause) {
    chain.push(c);
    if (typeof c !== "object") break;
  }
  return chain;
};

const unreachableCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);
const unreachableText =
  /connection refused|dns error|failed to lookup address|name or service not known|no route to host|network is unreachable/i;

/**
 * Why a request failed before any response, and whether the remote could not be reached at all
 * (connection refused, unknown host, no route) rather than a connection that broke midway.
 *
 * @category combinators
 */
export const describeNetworkError = (
  cause: unknown,
): { readonly reason: string; readonly unreachable: boolean } => {
  const chain = causeChain(cause);
  // Only errors and strings explain anything; msw, for one, hangs a Response object off `cause`.
  const messages = chain.flatMap((c) =>
    c instanceof Error ? [c.message] : typeof c === "string" ? [c] : []
  );
  const unreachable =
    chain.some((c) => unreachableCodes.has(String((c as { code?: unknown } | null)?.code))) ||
    messages.some((m) => unreachableText.test(m));
  // The innermost message says what happened ("Connection refused"), the outer ones only "fetch failed".
  return { reason: messages.at(-1) ?? "unknown error", unreachable };
};
