/**
 * Wires the kit for a command: the kit's layer (store, stages' services, resilience) and the
 * MinerU parser when a MinerU URL is configured.
 *
 * @module
 */
import type { Layer } from "effect";
import type { PdfParser } from "../pipelines/pdf_parser.ts";
import { layer as mineruLayer } from "../adapters/mineru/mineru_pdf_parser.ts";
import { UsageError } from "./_args.ts";
export { fileArea, kitLayer as runtimeLayer, type KitLayerOptions } from "../kit/kit_layer.ts";

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

/** The MinerU parser layer, when a MinerU URL is configured. */
export const parserLayer = (mineruUrl: string): Layer.Layer<PdfParser> =>
  mineruLayer({ baseUrl: mineruUrl });
