/**
 * The Parse stage: hands the ingested payload to its source's parser (the built-in sources and
 * any a user registered, from the {@link Sources} catalog).
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { type InvalidInput, Permanent } from "../../stages/errors.ts";
import type { Document, RawPayload } from "../../stages/ir.ts";
import { documentSchema, rawPayloadSchema } from "../../stages/ir_schemas.ts";
import { documentSchemaFields } from "../../lineage/datasets.ts";
import type { SourceCatalog } from "../../stages/source_contract.ts";
import { Sources } from "./builtin_sources.ts";

/**
 * Parses a payload with its source's parser from `catalog`; a source without one fails with
 * `Permanent`.
 *
 * @category constructors
 */
export const parseWith = (
  catalog: SourceCatalog,
  payload: RawPayload,
): Effect.Effect<Document, InvalidInput | Permanent> => {
  const source = catalog.get(payload.source);
  if (source !== undefined) return source.parse(payload);
  return Effect.fail(
    new Permanent({
      message: `${payload.docKey}: no parser for source "${payload.source}" (known: ${
        catalog.names.join(", ")
      })`,
    }),
  );
};

/**
 * Parses any payload whose source the run knows.
 *
 * @category constructors
 */
export const parsePayload = (
  payload: RawPayload,
): Effect.Effect<Document, InvalidInput | Permanent> =>
  Effect.flatMap(Effect.service(Sources), (catalog) => parseWith(catalog, payload));

/**
 * Parse stage: the Ingest output → Document. `outputCount` is the number of blocks.
 *
 * @category constructors
 */
export const parseStage: StageDefinition<
  Document,
  Record<string, never>,
  { readonly Ingest: typeof rawPayloadSchema }
> = defineStage({
  type: "Parse",
  implementation: "source-records",
  description: "parses the ingested record with its source's parser",
  input: { Ingest: rawPayloadSchema },
  output: documentSchema,
  run: (_ctx, { Ingest: payload }) => parsePayload(payload),
  outputCount: (document) =>
    document.sections.reduce((sum, section) => sum + section.blocks.length, 0),
  outputFields: documentSchemaFields,
});
