import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The default forks pool fails under Deno; threads works.
    pool: "threads",
    include: ["tests/**/*.test.ts"],
    setupFiles: ["tests/_deno_shims.ts", "tests/_setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
