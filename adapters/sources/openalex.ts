/**
 * OpenAlex work records (`/works/{id}` and the `results[]` of list pages) → Document IR. The
 * abstract comes as an inverted index (`{word: [positions]}`) and is rebuilt here; identifiers are
 * kept bare (`W1982728624`, `10.1371/…`, `17183658`) so other sources can join on them.
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import type { InvalidInput } from "../../stages/errors.ts";
import type { Document, FieldValue, RawPayload } from "../../stages/ir.ts";
import { buildSections, uniqueBy, validateRecord } from "./_document_parts.ts";

const text = z.string().nullish();
const named = z.looseObject({ display_name: text }).nullish();
const location = z.looseObject({ pdf_url: text, landing_page_url: text });

/** The parts of an OpenAlex work the parser reads. */
const openAlexWorkSchema = z.looseObject({
  id: z.string().regex(
    /^https:\/\/openalex\.org\/W\d+$/,
    "expected an OpenAlex work id (https://openalex.org/W…)",
  ),
  doi: text,
  title: text,
  display_name: text,
  publication_year: z.number().int().nullish(),
  publication_date: text,
  type: text,
  language: text,
  ids: z.looseObject({ pmid: text, pmcid: text }).nullish(),
  authorships: z.array(z.looseObject({
    author_position: text,
    author: z.looseObject({ id: text, display_name: text, orcid: text }),
  })).nullish(),
  topics: z.array(z.looseObject({
    id: z.string(),
    display_name: z.string(),
    score: z.number(),
    subfield: named,
    field: named,
    domain: named,
  })).nullish(),
  concepts: z.array(z.looseObject({
    id: z.string(),
    display_name: z.string(),
    score: z.number(),
    level: z.number().nullish(),
  })).nullish(),
  // 2024 responses used `keyword`, 2025+ use `display_name`.
  keywords: z.array(z.looseObject({ display_name: text, keyword: text })).nullish(),
  mesh: z.array(z.looseObject({
    descriptor_ui: z.string(),
    descriptor_name: z.string(),
    qualifier_name: text,
    is_major_topic: z.boolean(),
  })).nullish(),
  abstract_inverted_index: z.record(z.string(), z.array(z.number().int().nonnegative())).nullish(),
  open_access: z.looseObject({ is_oa: z.boolean(), oa_status: text }).nullish(),
  primary_location: location.nullish(),
  best_oa_location: location.nullish(),
  locations: z.array(location).nullish(),
});

/** A validated OpenAlex work. */
type OpenAlexWork = z.output<typeof openAlexWorkSchema>;

/**
 * Rebuilds an abstract from OpenAlex's inverted index: each word is placed at each of its
 * positions, and the words are joined in position order with single spaces.
 *
 * @example
 * ```ts
 * import { rebuildAbstract } from "./openalex.ts";
 * rebuildAbstract({ world: [1], hello: [0] }); // "hello world"
 * ```
 * @category constructors
 */
export const rebuildAbstract = (
  index: Readonly<Record<string, ReadonlyArray<number>>>,
): string =>
  // Sorting pairs instead of filling an array sized by the largest position keeps a bogus
  // position (1e9) from allocating a huge array.
  Object.entries(index)
    .flatMap(([word, positions]) => positions.map((position) => [position, word] as const))
    .sort((a, b) => a[0] - b[0])
    .map(([, word]) => word)
    .join(" ");

const stripPrefix = (value: string | null | undefined, prefix: RegExp): string | null =>
  value === null || value === undefined ? null : value.replace(prefix, "");

const openAlexPrefix = /^https:\/\/openalex\.org\//;

const pmcidOf = (value: string | null | undefined): string | null => {
  const last = value?.split("/").filter((s) => s !== "").pop();
  if (last === undefined) return null;
  return /^\d+$/.test(last) ? `PMC${last}` : last.toUpperCase();
};

/** The OA PDF: best OA location, else the primary location, else the first location that has one. */
const oaPdfUrl = (work: OpenAlexWork): string | null =>
  work.best_oa_location?.pdf_url ?? work.primary_location?.pdf_url ??
    (work.locations ?? []).find((l) => typeof l.pdf_url === "string")?.pdf_url ?? null;

const meshOf = (work: OpenAlexWork): FieldValue =>
  // OpenAlex repeats a descriptor once per qualifier (and sometimes verbatim): fold them.
  uniqueBy(work.mesh ?? [], (m) => m.descriptor_ui).map((m) => {
    const all = (work.mesh ?? []).filter((other) => other.descriptor_ui === m.descriptor_ui);
    const qualifiers = all.flatMap((other) => other.qualifier_name ? [other.qualifier_name] : []);
    return {
      descriptor_ui: m.descriptor_ui,
      descriptor_name: m.descriptor_name,
      is_major_topic: all.some((other) => other.is_major_topic),
      qualifier_names: [...new Set(qualifiers)],
    };
  });

const metadata = (work: OpenAlexWork): Record<string, FieldValue> => ({
  openalexId: work.id.replace(openAlexPrefix, ""),
  doi: stripPrefix(work.doi, /^https?:\/\/(dx\.)?doi\.org\//i),
  pmid: stripPrefix(work.ids?.pmid, /^https?:\/\/pubmed\.ncbi\.nlm\.nih\.gov\//),
  pmcid: pmcidOf(work.ids?.pmcid),
  publicationYear: work.publication_year ?? null,
  publicationDate: work.publication_date ?? null,
  type: work.type ?? null,
  language: work.language ?? null,
  authors: (work.authorships ?? []).map((a) => ({
    id: stripPrefix(a.author.id, openAlexPrefix),
    name: a.author.display_name ?? null,
    orcid: stripPrefix(a.author.orcid, /^https?:\/\/orcid\.org\//),
    position: a.author_position ?? null,
  })),
  topics: (work.topics ?? []).map((t) => ({
    id: t.id.replace(openAlexPrefix, ""),
    name: t.display_name,
    score: t.score,
    subfield: t.subfield?.display_name ?? null,
    field: t.field?.display_name ?? null,
    domain: t.domain?.display_name ?? null,
  })),
  concepts: (work.concepts ?? []).map((c) => ({
    id: c.id.replace(openAlexPrefix, ""),
    name: c.display_name,
    score: c.score,
    level: c.level ?? null,
  })),
  keywords: (work.keywords ?? []).flatMap((k) => {
    const name = k.display_name ?? k.keyword;
    return typeof name === "string" ? [name] : [];
  }),
  mesh: meshOf(work),
  oaPdfUrl: oaPdfUrl(work),
  isOa: work.open_access?.is_oa ?? false,
  oaStatus: work.open_access?.oa_status ?? null,
});

/**
 * Parses one OpenAlex work into a Document (title, rebuilt abstract); a malformed record fails with
 * `InvalidInput` naming the file and field.
 *
 * @category constructors
 */
export const parseOpenAlex = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(validateRecord(openAlexWorkSchema, payload), (work) => {
    const id = `${payload.source}:${payload.docKey}`;
    const title = work.title ?? work.display_name ?? work.id.replace(openAlexPrefix, "");
    const abstract = rebuildAbstract(work.abstract_inverted_index ?? {});
    return {
      id,
      source: payload.source,
      title,
      sections: buildSections(id, [
        { title: "Title", blocks: [{ type: "text", text: title }] },
        { title: "Abstract", blocks: abstract === "" ? [] : [{ type: "text", text: abstract }] },
      ]),
      metadata: metadata(work),
      provenance: { source: payload.source, location: payload.location, parser: "openalex.work" },
    };
  });
