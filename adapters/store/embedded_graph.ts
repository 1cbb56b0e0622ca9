/**
 * The embedded knowledge graph: nodes and edges upserted by deterministic ids, so re-processing
 * a document never duplicates them.
 *
 * @module
 */
import { Effect } from "effect";
import { defineStage, type StageDefinition } from "../../stages/contracts.ts";
import { Transient } from "../../stages/errors.ts";
import type { Extraction, GraphWriteReceipt } from "../../stages/ir.ts";
import { extractionSchema, graphWriteReceiptSchema } from "../../stages/ir_schemas.ts";
import type { SqlClient } from "./sql_client.ts";
import { StoreDatabase } from "./store_database.ts";

/**
 * Writes a document's entities and claims into the store's knowledge graph (upserts by id; the
 * document's edges that it no longer states are removed).
 *
 * @category constructors
 */
export const writeGraph = (
  db: SqlClient,
  extraction: Extraction,
): Effect.Effect<GraphWriteReceipt, Transient> => {
  const { docId, entities, claims } = extraction;
  return Effect.tryPromise({
    try: () =>
      db.transaction(async (tx) => {
        if (entities.length > 0) {
          // Properties merge, so a node seen by several documents keeps what each one said.
          await tx.query(
            `insert into lk_kg_nodes (node_id, label, name, properties)
               select e.id, e.label, e.name, e.properties
               from jsonb_to_recordset($1::jsonb) as e(id text, label text, name text, properties jsonb)
               on conflict (node_id) do update
                 set properties = lk_kg_nodes.properties || excluded.properties, updated_at = now()`,
            [JSON.stringify(entities)],
          );
        }
        await tx.query(
          "delete from lk_kg_edges where doc_id = $1 and not (edge_id = any($2::text[]))",
          [docId, claims.map((c) => c.id)],
        );
        if (claims.length > 0) {
          await tx.query(
            `insert into lk_kg_edges (edge_id, source_id, target_id, predicate, doc_id, properties)
               select c.id, c.subject, c.object, c.predicate, c."docId", c.properties
               from jsonb_to_recordset($1::jsonb) as c(id text, subject text, object text,
                 predicate text, "docId" text, properties jsonb)
               on conflict (edge_id, doc_id) do update set properties = excluded.properties,
                 updated_at = now()`,
            [JSON.stringify(claims)],
          );
        }
        return { docId, nodes: entities.length, edges: claims.length };
      }),
    catch: (cause) =>
      new Transient({ message: `graph write failed: ${(cause as Error).message ?? cause}` }),
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
  run: (_ctx, { Extract: extraction }) =>
    Effect.flatMap(Effect.service(StoreDatabase), (db) => writeGraph(db, extraction)),
  outputCount: (receipt) => receipt.nodes + receipt.edges,
  writesTables: ["lk_kg_nodes", "lk_kg_edges"],
});
