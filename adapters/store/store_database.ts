/**
 * The store's database as a service, for the stages that write into it (the embedded index and
 * knowledge graph). A command provides the database it opened.
 *
 * @module
 */
import { Context } from "effect";
import type { SqlClient } from "./sql_client.ts";

/** The store's database as a service. */
const StoreDatabaseBase: Context.ServiceClass<
  StoreDatabase,
  "@medkg/lineage-kit/StoreDatabase",
  SqlClient
> = Context.Service<StoreDatabase, SqlClient>()("@medkg/lineage-kit/StoreDatabase");
// Named with an explicit type so the published declaration needs no inference (JSR).
/**
 * The open store database the index and graph stages write into.
 *
 * @category services
 */
export class StoreDatabase extends StoreDatabaseBase {}
