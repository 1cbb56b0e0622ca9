/**
 * The embedded defaults wired together: recorded source files, the kit's pure stages, and the
 * PGlite index and graph. Nothing here needs a network or a GPU.
 *
 * @module
 */
import type { AnyStageDefinition, StageType } from "../stages/contracts.ts";
import { makeChunkStage } from "../stages/chunker.ts";
import { makeHashingEmbedStage } from "../stages/hashing_embedder.ts";
import { extractStage } from "../stages/extract.ts";
import type { StageRegistry } from "../pipelines/runtime.ts";
import { makeIngestStage } from "./sources/ingest_stage.ts";
import type { HttpIngestOptions } from "./sources/http_ingest.ts";
import { parseStage } from "./sources/parse_stage.ts";
import { makeEmbeddedIndexStage } from "./store/embedded_index.ts";
import { makeEmbeddedGraphStage } from "./store/embedded_graph.ts";
import type { SqlClient } from "./store/sql_client.ts";

/** The stage implementations of the embedded defaults, over an open store database. */
export const embeddedStages = (db: SqlClient, http: HttpIngestOptions = {}): StageRegistry =>
  new Map<StageType, AnyStageDefinition>([
    ["Ingest", makeIngestStage(http)],
    ["Parse", parseStage],
    ["Chunk", makeChunkStage()],
    ["Embed", makeHashingEmbedStage()],
    ["Index", makeEmbeddedIndexStage(db)],
    ["Extract", extractStage],
    ["KG", makeEmbeddedGraphStage(db)],
  ]);
