/**
 * The process-wide registry of vLLM batchers: every stage and job of a process configured with the
 * same server, model and `dimensions` embeds through ONE batcher, so their texts fill the same
 * requests and the server sees at most that batcher's `maxConcurrentRequests` at once.
 *
 * The first configuration registered for a key fixes the batcher's connection (`apiKey`,
 * `timeoutMs`, `fetch`) and batching (`maxBatchSize`, `lingerMs`, `maxConcurrentRequests`). A later
 * configuration of the same key that asks for different values is not quietly given the first one's:
 * its `embed` fails with `Permanent` naming what differs, before any request. `maxInputChars` is a
 * check of each stage and may differ freely.
 *
 * @module
 */
import { Effect, Exit, Scope } from "effect";
import { Permanent } from "../../stages/errors.ts";
import {
  defaultLingerMs,
  defaultMaxBatchSize,
  defaultMaxConcurrentRequests,
} from "./embedding_batcher.ts";
import { defaultVllmTimeoutMs, serverRoot } from "./vllm_urls.ts";
import {
  makeVllmEmbeddingBatcher,
  validateVllmEmbedderOptions,
  type VllmEmbedderOptions,
  type VllmEmbeddingBatcher,
} from "./vllm_embedder.ts";

interface Entry {
  readonly options: VllmEmbedderOptions;
  readonly batcher: VllmEmbeddingBatcher;
  readonly scope: Scope.Closeable;
}

const registry = new Map<string, Entry>();

// The spelling of a URL does not make another server: host case, a default port, a trailing `/v1`.
const canonicalRoot = (baseUrl: string): string =>
  URL.canParse(baseUrl) ? serverRoot(new URL(baseUrl).href) : serverRoot(baseUrl);

/**
 * The registry key of a configuration: the server's root URL, the model and the requested
 * `dimensions` (`null` for the model's own).
 *
 * @example
 * ```ts
 * import { vllmBatcherKey } from "./shared_batcher.ts";
 *
 * const a = vllmBatcherKey({ baseUrl: "http://GPU-1:8000/v1/", model: "BAAI/bge-m3" });
 * const b = vllmBatcherKey({ baseUrl: "http://gpu-1:8000", model: "BAAI/bge-m3" });
 * console.log(a === b); // true
 * ```
 *
 * @category combinators
 */
export const vllmBatcherKey = (
  options: Pick<VllmEmbedderOptions, "baseUrl" | "model" | "dimensions">,
): string =>
  JSON.stringify([canonicalRoot(options.baseUrl), options.model, options.dimensions ?? null]);

const settings = (options: VllmEmbedderOptions) => ({
  maxBatchSize: options.maxBatchSize ?? defaultMaxBatchSize,
  lingerMs: options.lingerMs ?? defaultLingerMs,
  maxConcurrentRequests: options.maxConcurrentRequests ?? defaultMaxConcurrentRequests,
  timeoutMs: options.timeoutMs ?? defaultVllmTimeoutMs,
});

// What a configuration asks for that the registered batcher does not do; the key is never shown.
const differences = (registered: VllmEmbedderOptions, asked: VllmEmbedderOptions): string[] => {
  const [has, wants] = [settings(registered), settings(asked)];
  const names = Object.keys(has) as Array<keyof typeof has>;
  return [
    ...names.filter((name) => has[name] !== wants[name]).map((name) =>
      `${name} ${wants[name]} (the shared batcher has ${has[name]})`
    ),
    ...(registered.apiKey === asked.apiKey ? [] : ["a different apiKey"]),
    ...(registered.fetch === asked.fetch ? [] : ["a different fetch"]),
  ];
};

const conflicting = (options: VllmEmbedderOptions, problems: string[]): VllmEmbeddingBatcher => {
  const message = `vLLM batcher for ${canonicalRoot(options.baseUrl)} model ${options.model}` +
    `${options.dimensions === undefined ? "" : ` (dimensions ${options.dimensions})`} is shared ` +
    `and configured otherwise: this configuration asks ${problems.join("; ")}`;
  return { options, embed: () => Effect.fail(new Permanent({ message })) };
};

/**
 * The process's batcher for this server, model and `dimensions`, made on first use and kept until
 * {@link closeSharedVllmBatchers}. The returned value carries `options` as given (so a stage reads
 * its own `maxInputChars`) and the shared batcher's `embed`. Invalid options are not registered:
 * their `embed` fails with `Permanent`, as with {@link makeVllmEmbeddingBatcher}.
 *
 * @example
 * ```ts
 * import { sharedVllmBatcher } from "./shared_batcher.ts";
 * import { makeVllmEmbedStage } from "./vllm_embedder.ts";
 *
 * const options = { baseUrl: "http://gpu-1:8000", model: "BAAI/bge-m3", maxBatchSize: 64 };
 * // Two stages (e.g. of two pipelines) fill the same requests.
 * const trials = makeVllmEmbedStage(sharedVllmBatcher(options));
 * const papers = makeVllmEmbedStage(sharedVllmBatcher(options));
 * ```
 *
 * @category constructors
 */
export const sharedVllmBatcher = (options: VllmEmbedderOptions): VllmEmbeddingBatcher => {
  if (validateVllmEmbedderOptions(options).length > 0) {
    // Nothing is forked for invalid options, so the scope is never needed again.
    return Effect.runSync(Scope.provide(makeVllmEmbeddingBatcher(options), Scope.makeUnsafe()));
  }
  const key = vllmBatcherKey(options);
  let entry = registry.get(key);
  if (entry === undefined) {
    const scope = Scope.makeUnsafe();
    const batcher = Effect.runSync(Scope.provide(makeVllmEmbeddingBatcher(options), scope));
    entry = { options, batcher, scope };
    registry.set(key, entry);
  }
  const problems = differences(entry.options, options);
  return problems.length > 0
    ? conflicting(options, problems)
    : { options, embed: entry.batcher.embed };
};

/**
 * Closes every shared batcher and empties the registry (at shutdown, or between tests): callers
 * still waiting fail with `Transient`, requests in flight are interrupted, and the next
 * {@link sharedVllmBatcher} call makes a new batcher.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { closeSharedVllmBatchers } from "./shared_batcher.ts";
 *
 * await Effect.runPromise(closeSharedVllmBatchers);
 * ```
 *
 * @category constructors
 */
export const closeSharedVllmBatchers: Effect.Effect<void> = Effect.suspend(() => {
  const entries = [...registry.values()];
  registry.clear();
  return Effect.forEach(entries, (entry) => Scope.close(entry.scope, Exit.void), {
    discard: true,
  });
});
