/**
 * The embedded defaults wired together: recorded source files, the kit's pure stages, and the
 * PGlite index and graph. Nothing here needs a network or a GPU.
 *
 * @module
 */
import type { AnyStageDefinition, DownloadStage, StageType } from "../stages/contracts.ts";
import { pdfUrlOf } from "./sources/pdf_sources.ts";
import { dependencyOf } from "./http/fetch_json.ts";
import { makeChunkStage } from "../stages/chunker.ts";
import { makeHashingEmbedStage } from "../stages/hashing_embedder.ts";
import { extractStage } from "../stages/extract.ts";
import type { StageRegistry } from "../pipelines/runtime.ts";
import { makeIngestStage } from "./sources/ingest_stage.ts";
import type { HttpIngestOptions } from "./sources/http_ingest.ts";
import { makePdfDownloadStage, type PdfDownloadOptions } from "./download/pdf_download.ts";
import { parseStage } from "./sources/parse_stage.ts";
import { makeEmbeddedIndexStage } from "./store/embedded_index.ts";
import { makeEmbeddedGraphStage } from "./store/embedded_graph.ts";
import type { SqlClient } from "./store/sql_client.ts";

/** Options of {@link embeddedStages}. */
export interface EmbeddedStageOptions {
  /** Options of live HTTP ingest (user agent, OpenAlex `mailto`, fetch). */
  readonly http?: HttpIngestOptions;
  /** Where downloaded PDFs are stored, and whether private addresses may be fetched. */
  readonly download?: PdfDownloadOptions;
}

/** The PDF download, keyed by the PDF's host for the breaker and the polite rate limit. */
const politeDownload = (options: PdfDownloadOptions): DownloadStage => ({
  ...makePdfDownloadStage(options),
  dependency: (_ctx, inputs) => {
    const url = pdfUrlOf(inputs.get("Ingest"));
    return url === undefined ? undefined : dependencyOf(url);
  },
});

/** The stage implementations of the embedded defaults, over an open store database. */
export const embeddedStages = (db: SqlClient, options: EmbeddedStageOptions = {}): StageRegistry =>
  new Map<StageType, AnyStageDefinition>([
    ["Ingest", makeIngestStage(options.http)],
    ...(options.download
      ? [["Download", politeDownload(options.download)] as [StageType, AnyStageDefinition]]
      : []),
    ["Parse", parseStage],
    ["Chunk", makeChunkStage()],
    ["Embed", makeHashingEmbedStage()],
    ["Index", makeEmbeddedIndexStage(db)],
    ["Extract", extractStage],
    ["KG", makeEmbeddedGraphStage(db)],
  ]);
