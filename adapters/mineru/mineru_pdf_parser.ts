/**
 * MinerU as the kit's PDF parser: `POST /file_parse`, then the content list turned into the
 * document IR. GPU failures stay GPU errors; there is no other parser to fall back to.
 *
 * @module
 */
import { Effect, Layer } from "effect";
import { PdfParser, type PdfParserShape } from "../../pipelines/pdf_parser.ts";
import { type MineruParseOptions, parsePdfWithMineru } from "./mineru_client.ts";
import { contentListToDocument } from "./content_list.ts";

/** MinerU settings (everything but the PDF itself). */
export type MineruParserOptions = Omit<MineruParseOptions, "pdfPath" | "fileName">;

/** The PDF parser over a MinerU service. */
export const makeMineruPdfParser = (options: MineruParserOptions): PdfParserShape => ({
  service: `mineru@${new URL(options.baseUrl).host}`,
  parse: (request) =>
    Effect.map(
      parsePdfWithMineru({ ...options, pdfPath: request.pdf.path }),
      (result) =>
        contentListToDocument(result.contentList, {
          docId: request.docId,
          source: request.source,
          location: request.location,
          metadata: {
            pdfUri: request.pdf.uri,
            pdfSha256: request.pdf.sha256,
            mineruVersion: result.version ?? null,
            mineruBackend: result.backend ?? null,
          },
        }),
    ),
});

/** The PDF parser service over MinerU. */
export const layer = (options: MineruParserOptions): Layer.Layer<PdfParser> =>
  Layer.succeed(PdfParser, makeMineruPdfParser(options));
