/**
 * The Download stage for open-access PDFs: picks the PDF URL out of an ingested OpenAlex,
 * Unpaywall or Europe PMC record, fetches it with SSRF, size and content guards, and stores it
 * under its sha256 in a file area, returning a `PdfReceipt`.
 *
 * @example
 * ```ts
 * import { isPrivateAddress, makePdfDownloadStage } from "./mod.ts";
 *
 * const download = makePdfDownloadStage({ fileArea: ".lineage-kit/pdfs", maxBytes: 50_000_000 });
 * console.log(download.type); // "Download"
 * console.log(isPrivateAddress("169.254.169.254")); // true
 * ```
 *
 * @module
 */
export * from "./pdf_download.ts";
