/**
 * Wires the kit for a command: the store, the stage implementations, resilience state, and the
 * MinerU parser when a MinerU URL is configured. One place, so every command runs the same kit.
 *
 * @module
 */
import { Layer } from "effect";
import { resolve } from "node:path";
import { PipelineRuntime } from "../pipelines/runtime.ts";
import { layer as resilienceLayer, type Resilience } from "../policies/resilience.ts";
import type { JobLedger } from "../pipelines/ledger.ts";
import type { OutboxStore } from "../lineage/outbox.ts";
import type { PdfParser } from "../pipelines/pdf_parser.ts";
import { embeddedStages } from "../adapters/embedded.ts";
import { isServerStore, type Store, storeDatasetLocation } from "../adapters/store/store.ts";
import { layer as mineruLayer } from "../adapters/mineru/mineru_pdf_parser.ts";
import { UsageError } from "./_args.ts";
import type { ParentRun } from "../lineage/parent_run.ts";

/** What a command's kit is built from. */
export interface RuntimeOptions {
  /** The `--store` value: an embedded directory or a postgres:// URL. */
  readonly storeDir: string;
  readonly namespace: string;
  readonly allowPrivateNetwork?: boolean;
  /** The MinerU service (`--mineru-url` or `MINERU_URL`). */
  readonly mineruUrl?: string;
  /** The outside run that started this command (`OPENLINEAGE_PARENT_ID` / `OPENLINEAGE_CONTEXT`). */
  readonly parentRun?: ParentRun;
}

/** Where downloaded PDFs go: next to the embedded database, or under `.lineage-kit/`. */
export const fileArea = (storeDir: string): string =>
  resolve(isServerStore(storeDir) ? ".lineage-kit" : storeDir, "pdfs");

/** Checks a `--mineru-url` value (http or https). */
export const mineruUrlFrom = (
  flag: string | undefined,
  env: string | undefined,
): string | undefined => {
  const value = flag ?? env;
  if (value === undefined || value === "") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `${flag !== undefined ? "--mineru-url" : "MINERU_URL"}: "${value}" is not a URL`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--mineru-url: expected an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, "");
};

/** The layers a command runs with. */
export const runtimeLayer = (
  store: Store,
  options: RuntimeOptions,
): Layer.Layer<JobLedger | OutboxStore | PipelineRuntime | Resilience> =>
  Layer.mergeAll(
    store.layer,
    resilienceLayer,
    Layer.succeed(PipelineRuntime, {
      stages: embeddedStages(store.client, {
        download: {
          fileArea: fileArea(options.storeDir),
          allowPrivateNetwork: options.allowPrivateNetwork === true,
        },
      }),
      namespace: options.namespace,
      store: storeDatasetLocation(options.storeDir),
      ...(options.parentRun ? { parentRun: options.parentRun } : {}),
    }),
  );

/** The MinerU parser layer, when a MinerU URL is configured. */
export const parserLayer = (mineruUrl: string): Layer.Layer<PdfParser> =>
  mineruLayer({ baseUrl: mineruUrl });
