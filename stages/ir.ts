/**
 * The intermediate representation that flows between stages. Ids are deterministic so every
 * write downstream is an upsert.
 *
 * @module
 */

/**
 * The name of an outside system a document comes from: one of the built-in sources
 * ({@link sourceNames}) or a source a user registered. `openalex-pdf` is OpenAlex taken for its
 * open-access PDFs: the same work records, routed to the PDF pipeline instead of `openalex`'s
 * metadata-only one.
 */
export type SourceName = string;

/** The built-in source names, in a stable order. */
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

/**
 * Where an ingest stage finds a record: a recorded response file (and a JSON pointer into it), a
 * live URL, or the record itself (given to `runPipeline` in memory, or fetched by a live source
 * and stored with the job before it starts).
 */
export type RecordLocation =
  | { readonly kind: "file"; readonly file: string; readonly pointer: string }
  | { readonly kind: "url"; readonly url: string }
  | { readonly kind: "inline"; readonly record: unknown };

/** What a job asks its ingest stage to fetch. */
export interface IngestRequest {
  /** The source to fetch the record from. */
  readonly source: SourceName;
  /** Stable document key within the source, e.g. `NCT00763412`, `W1982728624`. */
  readonly docKey: string;
  /** Where the record is: a recorded file and JSON pointer, a live URL, or the record itself. */
  readonly location: RecordLocation;
  /**
   * String values the job carries to every stage (`StageContext.metadata`): from the record's
   * discovery and `run-pipeline --meta key=value`.
   */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** A raw record as fetched, before validation. */
export interface RawPayload {
  /** The source the record came from. */
  readonly source: SourceName;
  /** The document key, as in the {@link IngestRequest}. */
  readonly docKey: string;
  /** Where the record was read from. */
  readonly location: RecordLocation;
  /** The record as parsed JSON, not yet checked against the source's schema. */
  readonly record: unknown;
}

/** The kind of a document block. */
export type BlockType = "text" | "heading" | "table" | "equation" | "figure" | "list";

/** A unit of content inside a section. */
export interface Block {
  /** `{docId}:s{i}:b{j}`: the document id, section index and block index. */
  readonly id: string;
  /** What kind of content the block holds. */
  readonly type: BlockType;
  /** The block's text; a table is one line per row, cells joined by ` | `. */
  readonly text: string;
  /** 1-based page number, for sources that have pages (PDFs). */
  readonly page?: number;
  /** `[x0, y0, x1, y1]` as the producer reported it. */
  readonly bbox?: readonly [number, number, number, number];
  /** Position in the producer's reading order (MinerU: the item's index in the content list). */
  readonly readingOrder?: number;
}

/** A titled group of blocks. */
export interface Section {
  /** `{docId}:s{i}`: the document id and the section's index. */
  readonly id: string;
  /** The section heading (or a name given by the parser, such as `Front matter`). */
  readonly title: string;
  /** The section's blocks, in reading order. */
  readonly blocks: ReadonlyArray<Block>;
}

/** Where a document came from and how it was made. */
export interface Provenance {
  /** The source the record came from. */
  readonly source: SourceName;
  /** Where the record was read from. */
  readonly location: RecordLocation;
  /** The parser that made the document, e.g. `clinicaltrials.v2`, `mineru.content_list`. */
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
  /** The source the document came from. */
  readonly source: SourceName;
  /** The document's title. */
  readonly title: string;
  /** The document's sections, in reading order. */
  readonly sections: ReadonlyArray<Section>;
  /** Structured fields the extractor reads (conditions, interventions, authors …). */
  readonly metadata: Readonly<Record<string, FieldValue>>;
  /** Where the document came from and which parser made it. */
  readonly provenance: Provenance;
}

/** A retrievable piece of a document. */
export interface Chunk {
  /** `{docId}:chunk:{i}`. */
  readonly chunkId: string;
  /** The id of the document the chunk was cut from. */
  readonly docId: string;
  /** The tenant the chunk belongs to (the job's tenant). */
  readonly tenantId: string;
  /** The chunk's text: an exact slice of its section's text. */
  readonly text: string;
  /** The id of the section the chunk was cut from. */
  readonly sectionId: string;
  /** Offsets into the section's text (blocks joined by a blank line). */
  readonly start: number;
  /** Offset just past the chunk's last character (exclusive). */
  readonly end: number;
  /** Chunk metadata, e.g. `section_title`, `page`, `split_id`, `sentence_count`. */
  readonly metadata: Readonly<Record<string, FieldValue>>;
}

/** The chunks of one document. */
export interface ChunkSet {
  /** The document the chunks were cut from. */
  readonly docId: string;
  /** The chunks, in document order. */
  readonly chunks: ReadonlyArray<Chunk>;
}

/** Dense vectors for a document's chunks, in chunk order. */
export interface EmbeddingBatch {
  /** The document the chunks belong to. */
  readonly docId: string;
  /** The embedding model's name. */
  readonly model: string;
  /** The length of every vector. */
  readonly dimensions: number;
  /** One vector per chunk, keyed by chunk id, in chunk order. */
  readonly vectors: ReadonlyArray<
    { readonly chunkId: string; readonly vector: ReadonlyArray<number> }
  >;
}

/** What an index write did. */
export interface IndexReceipt {
  /** The document whose chunks were written. */
  readonly docId: string;
  /** The index written to, e.g. `lk_chunks`. */
  readonly index: string;
  /** How many chunks were inserted or updated. */
  readonly upserted: number;
}

/** A node-to-be in the knowledge graph. */
export interface Entity {
  /** `{label}:{key}`: the key is the source's own id where there is one (`Trial:NCT…`), else the normalised name (`Drug:gefitinib`). */
  readonly id: string;
  /** The node label, e.g. `Trial`, `Drug`, `Condition`, `Organization`. */
  readonly label: string;
  /** The name as found in the document. */
  readonly name: string;
  /** Node properties (e.g. `meshId`); merged when several documents name the node. */
  readonly properties: Readonly<Record<string, FieldValue>>;
}

/** An edge-to-be: `subject --predicate--> object`, with the document as evidence. */
export interface Claim {
  /** `{subject}|{predicate}|{object}`. */
  readonly id: string;
  /** The id of the subject entity. */
  readonly subject: string;
  /** The relationship, e.g. `STUDIES`, `TESTS`, `SPONSORED_BY`. */
  readonly predicate: string;
  /** The id of the object entity. */
  readonly object: string;
  /** The document the claim was found in (its evidence). */
  readonly docId: string;
  /** Edge properties, e.g. `via` (the field the claim came from). */
  readonly properties: Readonly<Record<string, FieldValue>>;
}

/** Entities and claims found in one document. */
export interface Extraction {
  /** The document the entities and claims were found in. */
  readonly docId: string;
  /** The entities, sorted by id. */
  readonly entities: ReadonlyArray<Entity>;
  /** The claims, sorted by id. */
  readonly claims: ReadonlyArray<Claim>;
}

/** What a knowledge-graph write did. */
export interface GraphWriteReceipt {
  /** The document whose entities and claims were written. */
  readonly docId: string;
  /** How many nodes were written (one per entity). */
  readonly nodes: number;
  /** How many edges were written (one per claim). */
  readonly edges: number;
}

/** A PDF stored by a download stage. */
export interface PdfReceipt {
  /** The document the PDF belongs to. */
  readonly docId: string;
  /** The URL the PDF was fetched from, after redirects. */
  readonly uri: string;
  /** The stored file, `<fileArea>/<sha256>.pdf`. */
  readonly path: string;
  /** SHA-256 of the PDF's bytes, in lowercase hex. */
  readonly sha256: string;
  /** The PDF's size in bytes. */
  readonly bytes: number;
  /** The response's `Content-Type` (`application/pdf` when it sent none). */
  readonly contentType: string;
}

/** The result of an opened gate: the document made while the job waited (e.g. by MinerU). */
export interface GateOutcome {
  /** The gate's stage name. */
  readonly gate: string;
  /** Whether the gate opened (a gate that stays shut pauses the job instead). */
  readonly open: boolean;
  /** The artifact named `document`, which stands in for a parse output after the gate. */
  readonly document?: Document;
}
