/**
 * Wires the kit for a run: the store's ledger and outbox, the process's resilience state, and the
 * runner's environment with the services the stages ask for (the store database the embedded
 * index and graph write to, where PDFs go, live-ingest client settings, the source catalog). One
 * place, so every command and `runPipeline` run the same kit.
 *
 * @module
 */
import { Context, Layer } from "effect";
import { resolve } from "node:path";
import { PipelineRuntime } from "../pipelines/runtime.ts";
import { layer as resilienceLayer, type Resilience } from "../policies/resilience.ts";
import type { JobLedger } from "../pipelines/ledger.ts";
import type { OutboxStore } from "../lineage/outbox.ts";
import type { ParentRun } from "../lineage/parent_run.ts";
import type { SourceCatalog } from "../stages/source_contract.ts";
import { isServerStore, type Store, storeDatasetLocation } from "../adapters/store/store.ts";
import { StoreDatabase } from "../adapters/store/store_database.ts";
import { DownloadSettings } from "../adapters/download/pdf_download.ts";
import {
  type HttpIngestOptions,
  httpIngestOptionsFromEnv,
  HttpIngestSettings,
} from "../adapters/sources/http_ingest.ts";
import { Sources } from "../adapters/sources/builtin_sources.ts";

/** What a run's kit is built from. */
export interface KitLayerOptions {
  /** The store spec (an embedded directory or a postgres:// URL), for dataset names and PDFs. */
  readonly storeDir: string;
  /** The OpenLineage namespace of the run's jobs. */
  readonly namespace: string;
  /** Let PDF downloads reach loopback and private addresses. @default false */
  readonly allowPrivateNetwork?: boolean;
  /** The outside run that started this one (`OPENLINEAGE_PARENT_ID` / `OPENLINEAGE_CONTEXT`). */
  readonly parentRun?: ParentRun;
  /** The sources the run knows. @default the built-in sources */
  readonly sources?: SourceCatalog;
  /** Live ingest's client settings. @default from the environment (`OPENALEX_MAILTO`) */
  readonly http?: HttpIngestOptions;
  /** More services the run's stages need (a user's stage with requirements). */
  readonly services?: Context.Context<never>;
}

/**
 * Where downloaded PDFs go: next to the embedded database, or under `./.lineage-kit/` for a
 * server store.
 *
 * @category constructors
 */
export const fileArea = (storeDir: string): string =>
  resolve(isServerStore(storeDir) ? ".lineage-kit" : storeDir, "pdfs");

/**
 * The services every stage attempt of a run is given.
 *
 * @category constructors
 */
export const stageServices = (store: Store, options: KitLayerOptions): Context.Context<never> => {
  let services = Context.make(StoreDatabase, store.client).pipe(
    Context.add(DownloadSettings, {
      fileArea: fileArea(options.storeDir),
      allowPrivateNetwork: options.allowPrivateNetwork === true,
    }),
    Context.add(HttpIngestSettings, options.http ?? httpIngestOptionsFromEnv(Deno.env.toObject())),
  ) as Context.Context<unknown>;
  if (options.sources !== undefined) services = Context.add(services, Sources, options.sources);
  if (options.services !== undefined) services = Context.merge(services, options.services);
  return services as Context.Context<never>;
};

/**
 * The layers a run needs: ledger and outbox over the store, fresh resilience state, and the
 * runner's environment.
 *
 * @category layers
 */
export const kitLayer = (
  store: Store,
  options: KitLayerOptions,
): Layer.Layer<JobLedger | OutboxStore | PipelineRuntime | Resilience> =>
  Layer.mergeAll(
    store.layer,
    resilienceLayer,
    Layer.succeed(PipelineRuntime, {
      namespace: options.namespace,
      store: storeDatasetLocation(options.storeDir),
      ...(options.parentRun ? { parentRun: options.parentRun } : {}),
      ...(options.sources ? { sources: options.sources } : {}),
      services: stageServices(store, options),
    }),
  );
