/**
 * What the extractors share: reading `Document.metadata` fields defensively, and a collector that
 * deduplicates entities and claims by id and refuses an entity whose graph key is too long to be
 * a node id.
 *
 * @module
 */
import type { Claim, Entity, Extraction, FieldValue } from "./ir.ts";
import { normaliseName } from "./normalise_name.ts";

/** Metadata fields, as a parser keeps them. */
export type Fields = Readonly<Record<string, FieldValue>>;
type Properties = Readonly<Record<string, FieldValue>>;

/** A non-blank string, or `undefined`. */
export const str = (v: FieldValue | undefined): string | undefined =>
  typeof v === "string" && v.trim() !== "" ? v : undefined;
/** An array, or empty. */
export const list = (v: FieldValue | undefined): ReadonlyArray<FieldValue> =>
  Array.isArray(v) ? v : [];
/** The non-blank strings of an array. */
export const strs = (v: FieldValue | undefined): ReadonlyArray<string> =>
  list(v).flatMap((x) => str(x) ?? []);
/** An object, or `undefined`. */
export const fields = (v: FieldValue | undefined): Fields | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Fields) : undefined;
/** The objects of an array. */
export const fieldList = (v: FieldValue | undefined): ReadonlyArray<Fields> =>
  list(v).flatMap((x): ReadonlyArray<Fields> => {
    const f = fields(x);
    return f === undefined ? [] : [f];
  });

/**
 * The longest entity key (the part of a node id after `Label:`), in UTF-16 code units. Node ids
 * and the edge ids built from two of them are primary keys: PostgreSQL's btree index holds at most
 * 2,704 bytes per entry, and 256 units are at most 768 UTF-8 bytes, so an edge id of two node ids
 * and a predicate stays well inside it.
 */
export const maxEntityKeyLength = 256;

/** An entity the collector refused, and the metadata field it came from. */
export interface RefusedEntity {
  /** The metadata field, e.g. `metadata.conditions[2]`. */
  readonly field: string;
  /** The node label it would have had. */
  readonly label: string;
  /** How long its key was. */
  readonly keyLength: number;
}

/** Options of {@link Collector.entity}. */
export interface EntityOptions {
  /** The source's own id; the normalised name when absent. */
  readonly key?: string;
  readonly properties?: Properties;
  /** Where in the document's metadata the name or key was read, for refusals. */
  readonly field: string;
}

/** Gathers entities and claims while an extractor reads a document. */
export interface Collector {
  /** Adds (or enriches) an entity and returns its id; `undefined` when it has no usable key. */
  readonly entity: (label: string, name: string, options: EntityOptions) => string | undefined;
  readonly claim: (
    subject: string | undefined,
    predicate: string,
    object: string | undefined,
    properties?: Properties,
  ) => void;
  /** Entities refused because their key was too long, in the order met. */
  readonly refused: () => ReadonlyArray<RefusedEntity>;
  readonly result: () => Extraction;
}

const byId = <A extends { readonly id: string }>(a: A, b: A): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * A collector for one document. When an entity or claim is found twice, the first sighting's
 * values win and later ones only fill in properties it lacked (a condition named in `conditions`
 * and again as a MeSH term gains `meshId`).
 */
export const makeCollector = (docId: string): Collector => {
  const entities = new Map<string, Entity>();
  const claims = new Map<string, Claim>();
  const refused: Array<RefusedEntity> = [];
  return {
    entity: (label, name, options) => {
      const key = options.key ?? normaliseName(name);
      if (key === "") return undefined;
      if (key.length > maxEntityKeyLength) {
        refused.push({ field: options.field, label, keyLength: key.length });
        return undefined;
      }
      const id = `${label}:${key}`;
      const found = entities.get(id);
      const properties = { ...options.properties, ...found?.properties };
      entities.set(
        id,
        found === undefined ? { id, label, name, properties } : { ...found, properties },
      );
      return id;
    },
    claim: (subject, predicate, object, extra = {}) => {
      if (subject === undefined || object === undefined) return;
      const id = `${subject}|${predicate}|${object}`;
      const properties = { ...extra, ...claims.get(id)?.properties };
      claims.set(id, { id, subject, predicate, object, docId, properties });
    },
    refused: () => refused,
    result: () => ({
      docId,
      entities: [...entities.values()].sort(byId),
      claims: [...claims.values()].sort(byId),
    }),
  };
};
