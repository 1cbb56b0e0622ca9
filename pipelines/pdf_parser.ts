/**
 * The PDF parser port: what the MinerU bridge calls to turn a stored PDF into a document.
 * `adapters/mineru/` implements it over MinerU's HTTP API.
 *
 * @module
 */
import { Context, type Effect } from "effect";
import type { StageError } from "../stages/errors.ts";
import type { Document, PdfReceipt, RecordLocation, SourceName } from "../stages/ir.ts";

/** What the parser is asked to parse. */
export interface PdfParseRequest {
  /** The id of the document to make. */
  readonly docId: string;
  /** The source the job's record came from. */
  readonly source: SourceName;
  /** Where the job's record was found, for the document's provenance. */
  readonly location: RecordLocation;
  /** The stored PDF to parse, as the download stage recorded it. */
  readonly pdf: PdfReceipt;
}

/** A PDF parser (a GPU service). Its GPU failures are GpuUnavailable / GpuOutOfMemory. */
export interface PdfParserShape {
  /** The service, for lineage and breaker keys (e.g. `mineru@127.0.0.1:8000`). */
  readonly service: string;
  /** Parses the stored PDF into a document. */
  readonly parse: (request: PdfParseRequest) => Effect.Effect<Document, StageError>;
}

/** The PDF parser as a service. */
export const PdfParserBase: Context.ServiceClass<
  PdfParser,
  "@medkg/lineage-kit/PdfParser",
  PdfParserShape
> = Context.Service<
  PdfParser,
  PdfParserShape
>()("@medkg/lineage-kit/PdfParser");
// Named with an explicit type so the published declaration needs no inference (JSR).
/** The PDF parser as a service: provide a {@link PdfParserShape} to run the MinerU bridge. */
export class PdfParser extends PdfParserBase {}
