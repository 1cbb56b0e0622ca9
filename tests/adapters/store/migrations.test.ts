import { describe, expect, it } from "vitest";
import { openPostgres } from "../../../adapters/store/postgres_client.ts";
import { storeFromClient } from "../../../adapters/store/store.ts";
import { migrate } from "../../../adapters/store/migrations.ts";
import { backends, databaseUrl, throwawayDatabase } from "../../_stores.ts";

describe.each(backends)("migrations on $name", (backend) => {
  it("run once: opening the store again applies nothing", async () => {
    const store = await backend.open();
    try {
      expect(await migrate(store.client)).toEqual([]);
      const versions = await store.client.query<{ version: number }>(
        "select version from lk_migrations order by version",
      );
      expect(versions.map((v) => v.version).at(-1)).toBeGreaterThanOrEqual(9);
    } finally {
      await store.close();
    }
  });
});

describe.skipIf(!databaseUrl)("migrations on a fresh PostgreSQL database", () => {
  it("let processes that start together take turns: both open the store", async () => {
    const db = await throwawayDatabase(databaseUrl!);
    try {
      const stores = await Promise.all(
        [1, 2, 3].map(async () => storeFromClient(await openPostgres(db.url))),
      );
      for (const store of stores) await store.close();
    } finally {
      await db.drop();
    }
  });
});
