/**
 * Tenants never see or change each other's rows: two tenants process the same document, and
 * changed copies of it, in any interleaving; after every run each tenant's jobs, chunks, index
 * rows, graph edges and nodes, and search hits are exactly what its own runs made.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Effect } from "effect";
import { resolve } from "node:path";
import { kitFor, runPipeline } from "../../kit/run_pipeline.ts";
import { searchPipelineIndex } from "../../kit/search.ts";
import { openEmbeddedStore, type Store } from "../../adapters/store/store.ts";
import { repoRoot, tempDir } from "../_harness.ts";

const TENANTS = ["acme", "globex"] as const;
const DOCS = ["d1", "d2"] as const;
// Words no record contains: which copy of the document a tenant's rows come from.
const MARKERS = ["zebrastripe", "quokkasmile"] as const;

type Tenant = typeof TENANTS[number];
type Doc = typeof DOCS[number];
interface Step {
  readonly tenant: Tenant;
  readonly doc: Doc;
  readonly version: 0 | 1;
}

const base = JSON.parse(
  await Deno.readTextFile(resolve(repoRoot, "data/records/clinicaltrials/NCT00763412.json")),
);

/** The record with the version's marker at the start of its brief summary. */
const recordOf = (version: 0 | 1) => {
  const copy = structuredClone(base);
  const d = copy.protocolSection.descriptionModule;
  d.briefSummary = `${MARKERS[version]} ${d.briefSummary}`;
  return copy;
};

const steps = fc.array(
  fc.record({
    tenant: fc.constantFrom(...TENANTS),
    doc: fc.constantFrom(...DOCS),
    version: fc.constantFrom(0 as const, 1 as const),
  }),
  { minLength: 1, maxLength: 5 },
);

const { kit } = await kitFor({});
const pipeline = kit.config.routeSource("clinicaltrials")!;

/** Each (tenant, document) with the version its last run processed. */
type Model = Map<Tenant, Map<Doc, 0 | 1>>;

const docId = (doc: Doc) => `clinicaltrials:${doc}`;

const rowsOf = async (store: Store, tenant: Tenant) => {
  const q = <T>(sql: string) => store.client.query<T>(sql, [tenant]);
  return {
    jobs: (await q<{ doc_key: string }>("select doc_key from lk_jobs where tenant_id = $1"))
      .map((r) => r.doc_key).sort(),
    chunks: await q<{ doc_id: string; body: string }>(
      "select doc_id, body from lk_chunks where tenant_id = $1 order by chunk_id",
    ),
    edgeDocs: (await q<{ doc_id: string }>(
      "select distinct doc_id from lk_kg_edges where tenant_id = $1",
    )).map((r) => r.doc_id).sort(),
    nodes: (await q<{ n: number }>(
      "select count(*)::int as n from lk_kg_nodes where tenant_id = $1",
    ))[0].n,
  };
};

/** Checks every row of `tenant` against what its own runs made. */
const checkTenant = async (store: Store, tenant: Tenant, model: Model) => {
  const mine = model.get(tenant) ?? new Map<Doc, 0 | 1>();
  const ran = [...mine.keys()].map(docId).sort();
  const rows = await rowsOf(store, tenant);
  expect({ tenant, jobs: rows.jobs, edgeDocs: rows.edgeDocs }).toEqual({
    tenant,
    jobs: ran,
    edgeDocs: ran,
  });
  expect({ tenant, hasNodes: rows.nodes > 0 }).toEqual({ tenant, hasNodes: ran.length > 0 });
  for (const doc of DOCS) {
    const text = rows.chunks.filter((c) => c.doc_id === docId(doc)).map((c) => c.body).join(" ");
    const version = mine.get(doc);
    expect({ tenant, doc, has: MARKERS.map((m) => text.includes(m)) }).toEqual({
      tenant,
      doc,
      has: MARKERS.map((_, v) => version === v),
    });
  }
  for (const [v, marker] of MARKERS.entries()) {
    const found = await Effect.runPromise(
      searchPipelineIndex(pipeline, store, marker, { tenantId: tenant, k: 50 }),
    );
    const docs = [...new Set(found.hits.filter((h) => h.text.includes(marker)).map((h) => h.docId))]
      .sort();
    expect({ tenant, marker, docs }).toEqual({
      tenant,
      marker,
      docs: [...mine].filter(([, last]) => last === v).map(([d]) => docId(d)).sort(),
    });
    // Every hit is one of this tenant's chunks.
    for (const h of found.hits) {
      expect(rows.chunks.some((c) => c.doc_id === h.docId && c.body === h.text)).toBe(true);
    }
  }
};

describe("tenant isolation", () => {
  it(
    "two tenants running the same and changed documents in any order never touch each other's rows",
    async () => {
      const lineage = await tempDir();
      try {
        await fc.assert(
          fc.asyncProperty(steps, async (plan: ReadonlyArray<Step>) => {
            const store = await openEmbeddedStore();
            try {
              const model: Model = new Map();
              for (const step of plan) {
                const summary = await runPipeline({
                  store,
                  lineage,
                  tenant: step.tenant,
                  force: true,
                  checkServices: false,
                  records: [{
                    source: "clinicaltrials",
                    docKey: step.doc,
                    record: recordOf(step.version),
                  }],
                });
                expect(summary.jobs.succeeded).toBe(1);
                const mine = model.get(step.tenant) ?? new Map<Doc, 0 | 1>();
                mine.set(step.doc, step.version);
                model.set(step.tenant, mine);
                for (const tenant of TENANTS) await checkTenant(store, tenant, model);
              }
            } finally {
              await store.close();
            }
          }),
          { numRuns: 6 },
        );
      } finally {
        await Deno.remove(lineage, { recursive: true });
      }
    },
    240_000,
  );
});
