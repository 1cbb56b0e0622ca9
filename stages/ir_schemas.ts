/**
 * zod schemas of the document IR: what each built-in stage type produces, checked before it is
 * checkpointed, and what a user's stage declares it reads from an upstream stage. Each schema is
 * typed by its IR interface, so a drift between the two fails type checking.
 *
 * @module
 */
import { z } from "zod";
import type {
  Block,
  Chunk,
  ChunkSet,
  Claim,
  Document,
  EmbeddingBatch,
  Entity,
  Extraction,
  FieldValue,
  GateOutcome,
  GraphWriteReceipt,
  IndexReceipt,
  IngestRequest,
  PdfReceipt,
  Provenance,
  RawPayload,
  RecordLocation,
  Section,
} from "./ir.ts";

/**
 * A JSON value kept from a source record (numbers finite, no `undefined`).
 *
 * @category schemas
 */
export const fieldValueSchema: z.ZodType<FieldValue> = z.json() as z.ZodType<FieldValue>;

const fields: z.ZodType<Readonly<Record<string, FieldValue>>> = z.record(
  z.string(),
  fieldValueSchema,
);

/**
 * Where an ingest stage finds a record: a file and JSON pointer, a live URL, or the record itself.
 *
 * @category schemas
 */
export const recordLocationSchema: z.ZodType<RecordLocation> = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("file"), file: z.string(), pointer: z.string() }),
  z.object({ kind: z.literal("url"), url: z.string() }),
  z.object({ kind: z.literal("inline"), record: z.unknown() }),
]) as z.ZodType<RecordLocation>;

/**
 * What a job asks its ingest stage to fetch.
 *
 * @category schemas
 */
export const ingestRequestSchema: z.ZodType<IngestRequest> = z.object({
  source: z.string().min(1),
  docKey: z.string().min(1),
  location: recordLocationSchema,
  metadata: z.record(z.string(), z.string()).optional(),
}) as z.ZodType<IngestRequest>;

/**
 * A raw record as fetched (Ingest output).
 *
 * @category schemas
 */
export const rawPayloadSchema: z.ZodType<RawPayload> = z.object({
  source: z.string().min(1),
  docKey: z.string().min(1),
  location: recordLocationSchema,
  record: z.unknown(),
}) as z.ZodType<RawPayload>;

const bbox = z.tuple([z.number(), z.number(), z.number(), z.number()]);

const blockSchema: z.ZodType<Block> = z.object({
  id: z.string(),
  type: z.enum(["text", "heading", "table", "equation", "figure", "list"]),
  text: z.string(),
  page: z.number().int().min(1).optional(),
  bbox: bbox.optional(),
  readingOrder: z.number().int().min(0).optional(),
});

const sectionSchema: z.ZodType<Section> = z.object({
  id: z.string(),
  title: z.string(),
  blocks: z.array(blockSchema),
});

const provenanceSchema: z.ZodType<Provenance> = z.object({
  source: z.string(),
  location: recordLocationSchema,
  parser: z.string(),
}) as z.ZodType<Provenance>;

/**
 * The parsed, source-independent document (Parse output).
 *
 * @category schemas
 */
export const documentSchema: z.ZodType<Document> = z.object({
  id: z.string().min(1),
  source: z.string().min(1),
  title: z.string(),
  sections: z.array(sectionSchema),
  metadata: fields,
  provenance: provenanceSchema,
}) as z.ZodType<Document>;

const chunkSchema: z.ZodType<Chunk> = z.object({
  chunkId: z.string().min(1),
  docId: z.string(),
  tenantId: z.string(),
  text: z.string(),
  sectionId: z.string(),
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  metadata: fields,
});

/**
 * The chunks of one document (Chunk output).
 *
 * @category schemas
 */
export const chunkSetSchema: z.ZodType<ChunkSet> = z.object({
  docId: z.string(),
  chunks: z.array(chunkSchema),
});

/**
 * A vector: finite numbers, checked in one loop. Checked as `z.array(z.number())`, each number
 * was a schema of its own: 40 checks of a batch of 9 vectors of 256 (the bundled records'
 * embeddings, checked as the Embed stage's output and the Index stage's input) took 20-23 ms in
 * a new process, 6-8 ms in one loop, and 3.5 times as long once warm.
 */
const vectorSchema = z.custom<number[]>((v) => Array.isArray(v), {
  message: "expected an array of numbers",
}).superRefine((vector, ctx) => {
  for (let i = 0; i < vector.length; i++) {
    const x: unknown = vector[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      ctx.addIssue({
        code: "custom",
        path: [i],
        message: `expected a finite number, got ${typeof x === "number" ? x : typeof x}`,
      });
      return;
    }
  }
});

/**
 * Dense vectors for a document's chunks (Embed output): every vector has `dimensions` finite
 * numbers.
 *
 * @category schemas
 */
export const embeddingBatchSchema: z.ZodType<EmbeddingBatch> = z.object({
  docId: z.string(),
  model: z.string().min(1),
  dimensions: z.number().int().min(1),
  vectors: z.array(z.object({ chunkId: z.string(), vector: vectorSchema })),
}).superRefine((batch, ctx) => {
  batch.vectors.forEach((v, i) => {
    if (v.vector.length !== batch.dimensions) {
      ctx.addIssue({
        code: "custom",
        path: ["vectors", i, "vector"],
        message: `has ${v.vector.length} numbers, expected dimensions (${batch.dimensions})`,
      });
    }
  });
});

/**
 * What an index write did (Index output).
 *
 * @category schemas
 */
export const indexReceiptSchema: z.ZodType<IndexReceipt> = z.object({
  docId: z.string(),
  index: z.string(),
  upserted: z.number().int().min(0),
});

const entitySchema: z.ZodType<Entity> = z.object({
  id: z.string().min(1),
  label: z.string().min(1),
  name: z.string(),
  properties: fields,
});

const claimSchema: z.ZodType<Claim> = z.object({
  id: z.string().min(1),
  subject: z.string(),
  predicate: z.string(),
  object: z.string(),
  docId: z.string(),
  properties: fields,
});

/**
 * Entities and claims found in one document (Extract output).
 *
 * @category schemas
 */
export const extractionSchema: z.ZodType<Extraction> = z.object({
  docId: z.string(),
  entities: z.array(entitySchema),
  claims: z.array(claimSchema),
});

/**
 * What a knowledge-graph write did (KG output).
 *
 * @category schemas
 */
export const graphWriteReceiptSchema: z.ZodType<GraphWriteReceipt> = z.object({
  docId: z.string(),
  nodes: z.number().int().min(0),
  edges: z.number().int().min(0),
});

/**
 * A PDF stored by a download stage (Download output).
 *
 * @category schemas
 */
export const pdfReceiptSchema: z.ZodType<PdfReceipt> = z.object({
  docId: z.string(),
  uri: z.string(),
  path: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().min(0),
  contentType: z.string(),
});

/**
 * What an opened gate passes on (Gate output).
 *
 * @category schemas
 */
export const gateOutcomeSchema: z.ZodType<GateOutcome> = z.object({
  gate: z.string(),
  open: z.boolean(),
  document: documentSchema.optional(),
});
