/**
 * The embedded knowledge graph: nodes and edges upserted by deterministic ids, so re-processing
 * a document never duplicates them.
 *
 * Node and edge ids are primary keys. An id too long for the index (PostgreSQL's btree holds at
 * most 2,704 bytes per entry) or holding text the store cannot hold is refused before the write,
 * with `InvalidInput` naming the entity or claim: the kit's Extract stage already refuses such
 * names with the metadata field, so this guards extraction stages that do not. A write the
 * database refuses for its data anyway is `Permanent`, never retried.
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { InvalidInput, type Permanent, type Transient } from "../../stages/errors.ts";
import { displayText } from "../../stages/storable_text.ts";
import type { Extraction, GraphWriteReceipt } from "../../stages/ir.ts";
import { extractionSchema, graphWriteReceiptSchema } from "../../stages/ir_schemas.ts";
import type { SqlClient } from "./sql_client.ts";
import { StoreDatabase } from "./store_database.ts";
import { unindexableText, writeFailure } from "./_write_faults.ts";

/**
 * The most UTF-8 bytes of a node or edge id: below the btree entry limit (2,704 bytes), with room
 * for the `doc_id` the edge key is paired with.
 */
export const maxGraphIdBytes = 2000;

const unwritableId = (extraction: Extraction): InvalidInput | undefined => {
  const ids: ReadonlyArray<readonly [string, string]> = [
    ...extraction.entities.map((e, i) => [`entities[${i}].id`, e.id] as const),
    ...extraction.claims.map((c, i) => [`claims[${i}].id`, c.id] as const),
  ];
  for (const [path, id] of ids) {
    const problem = unindexableText(id, maxGraphIdBytes);
    if (problem !== undefined) {
      return new InvalidInput({
        message: `${extraction.docId}: ${path} ("${displayText(id, 60)}"): ${problem}`,
        path,
      });
    }
  }
  return undefined;
};

/**
 * Writes a document's entities and claims into the store's knowledge graph (upserts by id; the
 * document's edges that it no longer states are removed).
 *
 * @category constructors
 */
export const writeGraph = (
  db: SqlClient,
  tenantId: string,
  extraction: Extraction,
): Effect.Effect<GraphWriteReceipt, InvalidInput | Permanent | Transient> => {
  const { docId, entities, claims } = extraction;
  const refused = unwritableId(extraction);
  if (refused !== undefined) return Effect.fail(refused);
  return Effect.tryPromise({
    try: async () => {
      // One statement, atomic on its own: the nodes upserted (properties merge, so a node seen
      // by several documents keeps what each one said), the document's edges it no longer
      // states removed and the others upserted. The edges' foreign keys are checked when the
      // statement ends, so they see the nodes it wrote.
      await db.query(
        `with nodes as (
           insert into lk_kg_nodes (tenant_id, node_id, label, name, properties)
             select $2, e.id, e.label, e.name, e.properties
             from jsonb_to_recordset($1::jsonb) as e(id text, label text, name text,
               properties jsonb)
             on conflict (tenant_id, node_id) do update
               set properties = lk_kg_nodes.properties || excluded.properties, updated_at = now()),
         stale as (
           delete from lk_kg_edges
           where tenant_id = $2 and doc_id = $4 and not (edge_id = any($5::text[])))
         insert into lk_kg_edges (tenant_id, edge_id, source_id, target_id, predicate, doc_id,
             properties)
           select $2, c.id, c.subject, c.object, c.predicate, c."docId", c.properties
           from jsonb_to_recordset($3::jsonb) as c(id text, subject text, object text,
             predicate text, "docId" text, properties jsonb)
           on conflict (tenant_id, edge_id, doc_id) do update
             set properties = excluded.properties, updated_at = now()`,
        [
          JSON.stringify(entities),
          tenantId,
          JSON.stringify(claims),
          docId,
          claims.map((c) => c.id),
        ],
      );
      return { docId, nodes: entities.length, edges: claims.length };
    },
    // Refused for the data in it: Permanent, never retried; anything else may pass on retry.
    catch: (cause) => writeFailure("graph write", cause),
  });
};

/**
 * The built-in KG stage: the store's knowledge graph tables.
 *
 * @category constructors
 */
export const embeddedGraphStage: StageDefinition<
  GraphWriteReceipt,
  Record<string, never>,
  { readonly Extract: typeof extractionSchema },
  StoreDatabase
> = defineStage({
  type: "KG",
  implementation: "embedded",
  description: "the store's knowledge graph: nodes and edges with their evidence",
  input: { Extract: extractionSchema },
  output: graphWriteReceiptSchema,
  run: (ctx, { Extract: extraction }) =>
    Effect.flatMap(Effect.service(StoreDatabase), (db) => writeGraph(db, ctx.tenantId, extraction)),
  outputCount: (receipt) => receipt.nodes + receipt.edges,
  writesTables: ["lk_kg_nodes", "lk_kg_edges"],
});
