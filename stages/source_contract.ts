/**
 * Source contracts: what a source of documents declares, and {@link defineSource}, the one way
 * sources are made, the kit's built-in ones included. A source recognises its records in a file
 * (`detect`), may fetch one live (`fetch`) or list records live (`discover`), and parses a record
 * into the document IR (`parse`).
 *
 * @module
 */
import type { Effect } from "effect";
import type { InvalidInput, Permanent, StageError } from "./errors.ts";
import type { Document, IngestRequest, RawPayload, SourceName } from "./ir.ts";

/** One record a source recognised inside a file: its JSON pointer and key, or why it has none. */
export interface SourceRecordRef {
  /** JSON pointer to the record inside the file (`""` for the whole file). */
  readonly pointer: string;
  /** The record's document key, when it could be read. */
  readonly docKey?: string;
  /** Why the key could not be read (the record's job fails with it). */
  readonly problem?: string;
}

/** What a file holds for a source: one record or a page of them. */
export interface SourceRecords {
  /** A single record or a list response. */
  readonly kind: "single" | "list";
  /** The records, in file order. */
  readonly records: ReadonlyArray<SourceRecordRef>;
}

/** What a live discovery asks a source for. */
export interface SourceQuery {
  /** Free-text search (`--query`). */
  readonly query?: string;
  /** Specific document keys (`--ids`). */
  readonly ids?: ReadonlyArray<string>;
  /** A filter in the API's own syntax (`--filter`; OpenAlex's `filter=`). */
  readonly filter?: string;
  /** At most this many records. */
  readonly limit: number;
}

/** A record found by a live discovery: its key and the record itself. */
export interface DiscoveredRecord {
  /** The document key. */
  readonly docKey: string;
  /** The record, as the source's parser reads it. */
  readonly record: unknown;
}

/** A source of documents. */
export interface SourceDefinition {
  /** The source's name (`--source`, `applicable_sources`, the `{source}:` of document ids). */
  readonly name: SourceName;
  /** The source whose record format this one reads (`openalex-pdf` reads `openalex`'s). */
  readonly format: SourceName;
  /** What the source is, in one sentence. */
  readonly description: string;
  /** The upstream API as an OpenLineage dataset, when there is one. */
  readonly dataset?: { readonly namespace: string; readonly name: string };
  /** Parses one record into a document; a bad record fails with `InvalidInput` naming the field. */
  readonly parse: (payload: RawPayload) => Effect.Effect<Document, InvalidInput | Permanent>;
  /** Recognises a parsed record file as this source's: its records and their keys. */
  readonly detect?: (value: unknown) => SourceRecords | undefined;
  /** Fetches one record live by its key. */
  readonly fetch?: (request: IngestRequest) => Effect.Effect<unknown, StageError>;
  /** Lists records live for a query (paging as the API does). */
  readonly discover?: (
    query: SourceQuery,
  ) => Effect.Effect<ReadonlyArray<DiscoveredRecord>, StageError>;
}

/** What {@link defineSource} takes. */
export interface SourceSpec extends Omit<SourceDefinition, "format" | "description"> {
  /** The source whose record format this one reads. @default the source itself */
  readonly format?: SourceName;
  /** What the source is. @default "" */
  readonly description?: string;
}

/**
 * Defines a source of documents.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { defineSource } from "./source_contract.ts";
 *
 * const notes = defineSource({
 *   name: "notes",
 *   parse: (payload) =>
 *     Effect.succeed({
 *       id: `notes:${payload.docKey}`,
 *       source: "notes",
 *       title: String((payload.record as { title?: unknown }).title ?? payload.docKey),
 *       sections: [],
 *       metadata: {},
 *       provenance: { source: "notes", location: payload.location, parser: "notes.v1" },
 *     }),
 * });
 * console.log(notes.format); // "notes"
 * ```
 *
 * @category constructors
 */
export const defineSource = (spec: SourceSpec): SourceDefinition => ({
  ...spec,
  format: spec.format ?? spec.name,
  description: spec.description ?? "",
});

/** The sources a process knows, by name. */
export interface SourceCatalog {
  /** Every source name, in registration order. */
  readonly names: ReadonlyArray<SourceName>;
  /** The source of that name. */
  readonly get: (name: SourceName) => SourceDefinition | undefined;
  /** A catalog with more sources; one of an existing name replaces it. */
  readonly with: (sources: Iterable<SourceDefinition>) => SourceCatalog;
}

/**
 * A catalog of the given sources.
 *
 * @category constructors
 */
export const makeSourceCatalog = (sources: Iterable<SourceDefinition> = []): SourceCatalog => {
  const byName = new Map<SourceName, SourceDefinition>();
  for (const s of sources) byName.set(s.name, s);
  return {
    names: [...byName.keys()],
    get: (name) => byName.get(name),
    with: (more) => makeSourceCatalog([...byName.values(), ...more]),
  };
};
