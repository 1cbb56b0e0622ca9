/**
 * How the OpenSearch index adapter reaches its cluster and shapes its index, and the checks run
 * on those options before any request is made.
 *
 * @module
 */

/**
 * The HNSW engines the vector field may use; both support cosine similarity and filtered k-NN.
 *
 * @category models
 */
export type KnnEngine = "faiss" | "lucene";

/**
 * Where the index lives and what it holds. Credentials are values here: the configuration names
 * the environment variables they are read from.
 *
 * @category models
 */
export interface OpenSearchOptions {
  /** The cluster, e.g. `https://search-1:9200`. */
  readonly url: string;
  /** The index name, e.g. `lk-chunks`. */
  readonly index: string;
  /** The embedder's vector length; the `embedding` field is created with it. */
  readonly dimensions: number;
  /** Basic-auth user name (sent only together with `password`). */
  readonly username?: string;
  /** Basic-auth password. */
  readonly password?: string;
  /**
   * The search pipeline that fuses the hybrid query's rankings.
   * @default `${index}-rrf`
   */
  readonly searchPipeline?: string;
  /**
   * The k-NN engine of the vector field.
   * @default "faiss"
   */
  readonly engine?: KnnEngine;
  /** Primary shards of a new index; the cluster's default when absent. */
  readonly shards?: number;
  /** Replicas of a new index; the cluster's default when absent. */
  readonly replicas?: number;
  /**
   * Milliseconds to wait for each request.
   * @default 30000
   */
  readonly timeoutMs?: number;
  /**
   * Whether a TLS certificate must be signed by a trusted authority.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
}

/**
 * The per-request timeout used when none is given.
 *
 * @category constructors
 */
export const defaultOpenSearchTimeoutMs = 30_000;

/**
 * The largest vector length OpenSearch's k-NN plugin accepts for the faiss and lucene engines.
 *
 * @category constructors
 */
export const maxKnnDimensions = 16_000;

/**
 * The search pipeline a set of options uses: `searchPipeline`, else `{index}-rrf`.
 *
 * @category combinators
 */
export const searchPipelineOf = (options: OpenSearchOptions): string =>
  options.searchPipeline ?? `${options.index}-rrf`;

// OpenSearch's own index name rules (MetadataCreateIndexService.validateIndexOrAliasName).
const badIndexCharacters = /[\\/*?"<>| ,#:A-Z]/;

const indexNameProblems = (index: unknown): ReadonlyArray<string> => {
  if (typeof index !== "string" || index === "") return ["index must be a non-empty string"];
  const problems: Array<string> = [];
  if (badIndexCharacters.test(index)) {
    problems.push(
      `index ${JSON.stringify(index)} must be lower case without \\ / * ? " < > | , # : or spaces`,
    );
  }
  if (/^[-_+]/.test(index) || index === "." || index === "..") {
    problems.push(`index ${JSON.stringify(index)} must not start with - _ + or be . or ..`);
  }
  return problems;
};

const integerIn = (
  name: string,
  value: number | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): ReadonlyArray<string> =>
  value === undefined || (Number.isInteger(value) && value >= min && value <= max)
    ? []
    : [`${name} must be an integer from ${min} to ${max} (got ${value})`];

/**
 * Checks OpenSearch options and returns one message per problem (empty when valid).
 *
 * @example
 * ```ts
 * import { validateOpenSearchOptions } from "./opensearch_options.ts";
 *
 * const problems = validateOpenSearchOptions({ url: "http://search-1:9200", index: "Chunks", dimensions: 0 });
 * console.log(problems.length); // 2
 * ```
 *
 * @category constructors
 */
export const validateOpenSearchOptions = (options: OpenSearchOptions): ReadonlyArray<string> => {
  const problems: Array<string> = [];
  if (!/^https?:\/\/[^/?#]+/i.test(options.url ?? "") || !URL.canParse(options.url)) {
    problems.push(`url must be an http(s) URL (got ${JSON.stringify(options.url)})`);
  }
  problems.push(
    ...indexNameProblems(options.index),
    ...integerIn("dimensions", options.dimensions ?? Number.NaN, 1, maxKnnDimensions),
    ...integerIn("shards", options.shards, 1),
    ...integerIn("replicas", options.replicas, 0),
    ...integerIn("timeoutMs", options.timeoutMs, 1),
  );
  if ((options.username === undefined) !== (options.password === undefined)) {
    problems.push("username and password must be given together");
  }
  if (options.engine !== undefined && options.engine !== "faiss" && options.engine !== "lucene") {
    problems.push(`engine must be faiss or lucene (got ${JSON.stringify(options.engine)})`);
  }
  if (options.searchPipeline !== undefined && !/^[^\s/]+$/.test(options.searchPipeline)) {
    problems.push(
      `searchPipeline must be a name without spaces or slashes (got ${
        JSON.stringify(options.searchPipeline)
      })`,
    );
  }
  return problems;
};
