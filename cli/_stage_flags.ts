/**
 * The flags that choose stage implementations without code, shared by `run-pipeline` and
 * `worker`: `--config FILE` (the project file), `--embedder`, `--vllm-url`, `--vllm-model`,
 * `--index`, `--opensearch-url`.
 *
 * @module
 */
import type { StageShortcuts } from "../kit/stage_overrides.ts";
import { embedderChoices, indexChoices } from "../kit/stage_overrides.ts";
import { type FlagSpec, UsageError } from "./_args.ts";

/** The flags, for a command's parser. */
export const stageFlagSpecs: Readonly<Record<string, FlagSpec>> = {
  config: { type: "string" },
  embedder: { type: "string" },
  "vllm-url": { type: "string" },
  "vllm-model": { type: "string" },
  index: { type: "string" },
  "opensearch-url": { type: "string" },
};

/** The flags' lines in a command's usage text. */
export const stageFlagsUsage =
  `  --config FILE       the project file (default: ./lineage-kit.yaml when present)
  --embedder hashing|vllm
                      the Embed implementation (default: the project file's, else hashing)
  --vllm-url URL      the vLLM server (or $VLLM_URL, or stages.embed.url in the project file)
  --vllm-model NAME   the model it serves (or $VLLM_MODEL)
  --index embedded|opensearch
                      the Index implementation (default: the project file's, else embedded)
  --opensearch-url URL
                      the OpenSearch cluster (or $OPENSEARCH_URL)`;

const httpUrl = (flag: string, value: string): string => {
  if (!/^https?:\/\/[^/?#]+/i.test(value) || !URL.canParse(value)) {
    throw new UsageError(`--${flag}: expected an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, "");
};

const oneOf = (flag: string, value: string, choices: Readonly<Record<string, string>>) => {
  if (!(value in choices)) {
    throw new UsageError(
      `--${flag}: unknown choice "${value}" (allowed: ${Object.keys(choices).join(", ")})`,
    );
  }
  return value;
};

/** The project file and shortcuts the flags give; throws UsageError on a bad value. */
export const stageFlagsFrom = (
  flags: Readonly<Record<string, unknown>>,
): { readonly config?: string; readonly shortcuts: StageShortcuts } => {
  const text = (name: string) => flags[name] as string | undefined;
  const embedder = text("embedder");
  const index = text("index");
  const vllmUrl = text("vllm-url");
  const vllmModel = text("vllm-model");
  const opensearchUrl = text("opensearch-url");
  if (vllmModel !== undefined && vllmModel.trim() === "") {
    throw new UsageError("--vllm-model: expected a model name");
  }
  return {
    ...(text("config") === undefined ? {} : { config: text("config") }),
    shortcuts: {
      ...(embedder === undefined ? {} : { embedder: oneOf("embedder", embedder, embedderChoices) }),
      ...(index === undefined ? {} : { index: oneOf("index", index, indexChoices) }),
      ...(vllmUrl === undefined ? {} : { vllmUrl: httpUrl("vllm-url", vllmUrl) }),
      ...(vllmModel === undefined ? {} : { vllmModel }),
      ...(opensearchUrl === undefined
        ? {}
        : { opensearchUrl: httpUrl("opensearch-url", opensearchUrl) }),
    },
  };
};
