/**
 * How vLLM's failures map to stage errors. GPU failures are never retried and never answered by
 * another embedder: a CUDA out-of-memory error is `GpuOutOfMemory`; a dead engine (`EngineCore`,
 * `CUDA error`, `CUBLAS`, `NCCL` in a 5xx), a 503 or a server that cannot be reached is
 * `GpuUnavailable`. An input longer than the model's context is `InvalidInput` naming the text; a
 * wrong model name is `Permanent`. Both vLLM error bodies are read: `{"error":{message,type,param,
 * code}}` and the older flat `{"object":"error",message,type,param,code}`.
 *
 * @module
 */
import {
  GpuOutOfMemory,
  GpuUnavailable,
  InvalidInput,
  Permanent,
  type StageError,
} from "../../stages/errors.ts";
import {
  classifyHttpOutcome,
  describeNetworkError,
  describeOutcome,
  type HttpOutcome,
  parseRemoteError,
} from "../http/http_errors.ts";
import type { EmbeddingInput } from "./embedding_input.ts";

const outOfMemory = /CUDA out of memory|OutOfMemoryError/i;
const engineDead =
  /EngineCore|EngineDeadError|engine is already dead|CUDA error|CUBLAS|NCCL|Free memory on device/i;
const inputTooLong =
  /maximum context length|input tokens|input characters|maximum input length|reduce the length of the input/i;

const longestInput = (inputs: ReadonlyArray<EmbeddingInput>): EmbeddingInput =>
  inputs.reduce((longest, input) => (input.text.length > longest.text.length ? input : longest));

const tooLong = (
  model: string,
  inputs: ReadonlyArray<EmbeddingInput>,
  remote: string,
): InvalidInput => {
  // vLLM does not say which input was too long; the longest text is the one that overflows.
  const input = longestInput(inputs);
  const which = inputs.length > 1 ? ` (the longest of ${inputs.length} in the request)` : "";
  return new InvalidInput({
    message: `chunk ${input.id} is too long for model ${model}${which}: ${remote}`,
    path: input.id,
  });
};

/**
 * How vLLM's failures map to stage errors, for one request carrying `inputs`; `undefined` leaves
 * the outcome to the generic HTTP classification (429, 502, 504, timeouts, other 5xx).
 *
 * @example
 * ```ts
 * import { classifyVllmOutcome } from "./vllm_errors.ts";
 *
 * const error = classifyVllmOutcome({
 *   kind: "status",
 *   method: "POST",
 *   url: "http://gpu-1:8000/v1/embeddings",
 *   status: 500,
 *   headers: new Headers(),
 *   text: '{"error":{"message":"CUDA out of memory.","type":"InternalServerError","code":500}}',
 * }, "BAAI/bge-m3", [{ id: "doc:chunk:0", text: "aspirin" }]);
 * console.log(error?._tag); // "GpuOutOfMemory"
 * ```
 *
 * @category errors
 */
export const classifyVllmOutcome = (
  outcome: HttpOutcome,
  model: string,
  inputs: ReadonlyArray<EmbeddingInput>,
): StageError | undefined => {
  const message = describeOutcome(outcome);
  if (outcome.kind === "network") {
    return describeNetworkError(outcome.cause).unreachable
      ? new GpuUnavailable({ message })
      : undefined;
  }
  if (outcome.kind !== "status") return undefined;
  const { status, text } = outcome;
  const remote = parseRemoteError(text);
  const said = `${remote?.message ?? ""}\n${text}`;
  if (outOfMemory.test(said)) return new GpuOutOfMemory({ message });
  if ((status >= 500 && engineDead.test(said)) || status === 503) {
    return new GpuUnavailable({ message });
  }
  if (status === 400) {
    const param = remote?.param ?? "";
    return (param === "input_tokens" || param === "input_text" || inputTooLong.test(said)) &&
        inputs.length > 0
      ? tooLong(model, inputs, remote?.message ?? text)
      : new Permanent({ message });
  }
  return status === 404 ? new Permanent({ message }) : undefined;
};

/**
 * What a vLLM request was about, for reading its failure.
 *
 * @category models
 */
export interface VllmRequestContext {
  /** The served model the request named. */
  readonly model: string;
  /** The texts the request carried (empty for requests without texts, such as `/v1/models`). */
  readonly inputs: ReadonlyArray<EmbeddingInput>;
  /** The current time, for HTTP-date `Retry-After` values. */
  readonly nowMs: number;
}

/**
 * The stage error for a failed vLLM exchange: vLLM's own reading first, then the generic HTTP
 * classification.
 *
 * @category errors
 */
export const vllmFailure = (outcome: HttpOutcome, context: VllmRequestContext): StageError =>
  classifyVllmOutcome(outcome, context.model, context.inputs) ??
    classifyHttpOutcome(outcome, context.nowMs);
