// The template cache vitest.config.ts made for this run of the suite is removed when it ends;
// one named by LINEAGE_KIT_TEST_CACHE_DIR is the caller's, and stays.
export default (): (() => Promise<void>) | undefined => {
  const made = Deno.env.get("LINEAGE_KIT_CACHE_DIR");
  if (Deno.env.get("LINEAGE_KIT_TEST_CACHE_DIR") !== undefined || made === undefined) return;
  return () => Deno.remove(made, { recursive: true }).catch(() => {});
};
