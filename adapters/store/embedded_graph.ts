/**
 * The embedded knowledge graph: nodes and edges upserted by deterministic ids, so re-processing
 * a document never duplicates them.
 *
 * @module
 */
import { Effect } from "effect";
import type { KGStage } from "../../stages/contracts.ts";
import { Transient } from "../../stages/errors.ts";
import type { SqlClient } from "./sql_client.ts";

/** The KG stage writing into the embedded store. */
export const makeEmbeddedGraphStage = (db: SqlClient): KGStage => ({
  type: "KG",
  implementation: "pglite-graph",
  outputCount: (receipt) => receipt.nodes + receipt.edges,
  run: (_ctx, inputs) => {
    const { docId, entities, claims } = inputs.get("Extract");
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
  },
});
