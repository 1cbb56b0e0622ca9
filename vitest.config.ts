import { defineConfig } from "vitest/config";

// Embedded stores start from a cached template (adapters/store/store_template.ts). Tests keep
// theirs in a temporary folder of this run, never in the user's cache; commands they spawn
// inherit it. It is removed when the run ends (tests/_global_setup.ts).
Deno.env.set(
  "LINEAGE_KIT_CACHE_DIR",
  Deno.env.get("LINEAGE_KIT_TEST_CACHE_DIR") ?? Deno.makeTempDirSync({ prefix: "lk-test-cache-" }),
);

export default defineConfig({
  test: {
    // The default forks pool fails under Deno; threads works.
    pool: "threads",
    include: ["tests/**/*.test.ts"],
    setupFiles: ["tests/_deno_shims.ts", "tests/_setup.ts"],
    globalSetup: ["tests/_global_setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
