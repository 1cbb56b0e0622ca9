/**
 * A `fetch` that fails as Deno's does when no response comes: a TypeError "fetch failed" with
 * what happened as its cause.
 */
export const failedFetch = (cause: string): typeof globalThis.fetch => () =>
  Promise.reject(new TypeError("fetch failed", { cause: new Error(cause) }));
