/**
 * The Parse stage for recorded source records: hands the ingested payload to its source's parser.
 *
 * @module
 */
import { parseEuropePmc, parseUnpaywall } from "./pdf_sources.ts";
import { Effect } from "effect";
import type { ParseStage } from "../../stages/contracts.ts";
import { type InvalidInput, Permanent } from "../../stages/errors.ts";
import {
  type Document,
  type RawPayload,
  recordFormatOf,
  type SourceName,
} from "../../stages/ir.ts";
import { parseClinicalTrials } from "./clinicaltrials.ts";
import { parseOpenAlex } from "./openalex.ts";
import { parseOpenFda } from "./openfda.ts";

/** The record parsers, by source. */
export const sourceParsers: Readonly<
  Partial<Record<SourceName, (payload: RawPayload) => Effect.Effect<Document, InvalidInput>>>
> = {
  clinicaltrials: parseClinicalTrials,
  openalex: parseOpenAlex,
  openfda: parseOpenFda,
  unpaywall: parseUnpaywall,
  europepmc: parseEuropePmc,
};

/**
 * Parses any payload whose source has a parser; other sources fail with `Permanent`.
 *
 * @category constructors
 */
export const parsePayload = (
  payload: RawPayload,
): Effect.Effect<Document, InvalidInput | Permanent> => {
  const parser = sourceParsers[recordFormatOf(payload.source)];
  if (parser !== undefined) return parser(payload);
  const known = Object.keys(sourceParsers).join(", ");
  return Effect.fail(
    new Permanent({
      message: `${payload.docKey}: no parser for source "${payload.source}" (known: ${known})`,
    }),
  );
};

/**
 * Parse stage: the Ingest output → Document. `outputCount` is the number of blocks.
 *
 * @category constructors
 */
export const parseStage: ParseStage = {
  type: "Parse",
  implementation: "source-records",
  run: (_ctx, inputs) => parsePayload(inputs.get("Ingest")),
  outputCount: (document) =>
    document.sections.reduce((sum, section) => sum + section.blocks.length, 0),
};
