/**
 * The intermediate representation that flows between stages. Ids are deterministic so every
 * write downstream is an upsert.
 *
 * @module
 */

/**
 * The outside systems a document can come from. `openalex-pdf` is OpenAlex taken for its
 * open-access PDFs: the same work records, routed to the PDF pipeline instead of `openalex`'s
 * metadata-only one.
 */
export type SourceName =
  | "clinicaltrials"
  | "openalex"
  | "openalex-pdf"
  | "openfda"
  | "europepmc"
  | "unpaywall";

/** Every known source name, in a stable order. */
export const sourceNames: ReadonlyArray<SourceName> = [
  "clinicaltrials",
  "openalex",
  "openalex-pdf",
  "openfda",
  "europepmc",
  "unpaywall",
];

// Sources whose records come in another source's format.
const sharedFormats: Readonly<Partial<Record<SourceName, SourceName>>> = {
  "openalex-pdf": "openalex",
};

/**
 * The source whose record format (shape, parser, live API) a source's records have: itself,
 * except for a source that reads another's records (`openalex-pdf` → `openalex`).
 */
export const recordFormatOf = (source: SourceName): SourceName => sharedFormats[source] ?? source;

/** Where an ingest stage finds a record: a recorded response file or a live URL. */
export type RecordLocation =
  | { readonly kind: "file"; readonly file: string; readonly pointer: string }
  | { readonly kind: "url"; readonly url: string };

/** What a job asks its ingest stage to fetch. */
export interface IngestRequest {
  readonly source: SourceName;
  /** Stable document key within the source, e.g. `NCT00763412`, `W1982728624`. */
  readonly docKey: string;
  readonly location: RecordLocation;
}

/** A raw record as fetched, before validation. */
export interface RawPayload {
  readonly source: SourceName;
  readonly docKey: string;
  readonly location: RecordLocation;
  readonly record: unknown;
}

/** The kind of a document block. */
export type BlockType = "text" | "heading" | "table" | "equation" | "figure" | "list";

/** A unit of content inside a section. */
export interface Block {
  readonly id: string;
  readonly type: BlockType;
  readonly text: string;
  readonly page?: number;
  /** `[x0, y0, x1, y1]` as the producer reported it. */
  readonly bbox?: readonly [number, number, number, number];
  readonly readingOrder?: number;
}

/** A titled group of blocks. */
export interface Section {
  readonly id: string;
  readonly title: string;
  readonly blocks: ReadonlyArray<Block>;
}

/** Where a document came from and how it was made. */
export interface Provenance {
  readonly source: SourceName;
  readonly location: RecordLocation;
  readonly parser: string;
}

/** A structured field value kept from the source record for extraction. */
export type FieldValue = string | number | boolean | null | ReadonlyArray<FieldValue> | {
  readonly [key: string]: FieldValue;
};

/** The parsed, source-independent document. */
export interface Document {
  /** `{source}:{docKey}`, e.g. `clinicaltrials:NCT00763412`. */
  readonly id: string;
  readonly source: SourceName;
  readonly title: string;
  readonly sections: ReadonlyArray<Section>;
  /** Structured fields the extractor reads (conditions, interventions, authors …). */
  readonly metadata: Readonly<Record<string, FieldValue>>;
  readonly provenance: Provenance;
}

/** A retrievable piece of a document. */
export interface Chunk {
  /** `{docId}:chunk:{i}`. */
  readonly chunkId: string;
  readonly docId: string;
  readonly tenantId: string;
  readonly text: string;
  readonly sectionId: string;
  /** Offsets into the section's text (blocks joined by a blank line). */
  readonly start: number;
  readonly end: number;
  readonly metadata: Readonly<Record<string, FieldValue>>;
}

/** The chunks of one document. */
export interface ChunkSet {
  readonly docId: string;
  readonly chunks: ReadonlyArray<Chunk>;
}

/** Dense vectors for a document's chunks, in chunk order. */
export interface EmbeddingBatch {
  readonly docId: string;
  readonly model: string;
  readonly dimensions: number;
  readonly vectors: ReadonlyArray<
    { readonly chunkId: string; readonly vector: ReadonlyArray<number> }
  >;
}

/** What an index write did. */
export interface IndexReceipt {
  readonly docId: string;
  readonly index: string;
  readonly upserted: number;
}

/** A node-to-be in the knowledge graph. `id` is `{label}:{normalised name}`. */
export interface Entity {
  readonly id: string;
  readonly label: string;
  readonly name: string;
  readonly properties: Readonly<Record<string, FieldValue>>;
}

/** An edge-to-be: `subject --predicate--> object`, with the document as evidence. */
export interface Claim {
  readonly id: string;
  readonly subject: string;
  readonly predicate: string;
  readonly object: string;
  readonly docId: string;
  readonly properties: Readonly<Record<string, FieldValue>>;
}

/** Entities and claims found in one document. */
export interface Extraction {
  readonly docId: string;
  readonly entities: ReadonlyArray<Entity>;
  readonly claims: ReadonlyArray<Claim>;
}

/** What a knowledge-graph write did. */
export interface GraphWriteReceipt {
  readonly docId: string;
  readonly nodes: number;
  readonly edges: number;
}

/** A PDF stored by a download stage. */
export interface PdfReceipt {
  readonly docId: string;
  readonly uri: string;
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly contentType: string;
}

/** The result of an opened gate: the document made while the job waited (e.g. by MinerU). */
export interface GateOutcome {
  readonly gate: string;
  readonly open: boolean;
  /** The artifact named `document`, which stands in for a parse output after the gate. */
  readonly document?: Document;
}
