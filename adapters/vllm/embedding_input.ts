/**
 * The unit of work of the vLLM adapter: a text with the id that names it, and the function that
 * embeds a list of them in one request.
 *
 * @module
 */
import type { Effect } from "effect";
import type { StageError } from "../../stages/errors.ts";

/**
 * One text to embed and the id that names it in errors (the kit passes chunk ids).
 *
 * @category models
 */
export interface EmbeddingInput {
  /** Names the text in errors, e.g. `openalex:W1982728624:chunk:3`. */
  readonly id: string;
  /** The text sent to the model. */
  readonly text: string;
}

/**
 * Embeds texts in one request and returns one vector per text, in their order. A text the model
 * cannot take fails the whole request with `InvalidInput` whose `path` is that text's id.
 *
 * @category models
 */
export type EmbedRequest = (
  inputs: ReadonlyArray<EmbeddingInput>,
) => Effect.Effect<ReadonlyArray<ReadonlyArray<number>>, StageError>;
