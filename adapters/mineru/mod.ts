/**
 * The MinerU adapter: a client for the `mineru-api` HTTP service (2.5.x and 3.x) that sends a
 * stored PDF to `/file_parse` and classifies GPU failures into `GpuOutOfMemory` and
 * `GpuUnavailable` (never retried, never replaced by a CPU path), and the pure conversion of
 * MinerU's `content_list` into the kit's Document IR with pages, boxes and reading order.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { contentListToDocument, parsePdfWithMineru } from "./mod.ts";
 *
 * const program = Effect.map(
 *   parsePdfWithMineru({ baseUrl: "http://127.0.0.1:8000", pdfPath: "files/abc.pdf" }),
 *   (result) =>
 *     contentListToDocument(result.contentList, {
 *       docId: "unpaywall:10.1038/nature12373",
 *       source: "unpaywall",
 *       location: { kind: "url", url: "https://www.nature.com/articles/nature12373.pdf" },
 *     }),
 * );
 * const outcome = await Effect.runPromise(Effect.result(program));
 * console.log(outcome._tag);
 * ```
 *
 * @module
 */
export * from "./content_list.ts";
export * from "./mineru_client.ts";
export * from "./mineru_pdf_parser.ts";
export * from "./parsed_document.ts";
