/**
 * MinerU's `content_list.json` (2.x and 3.x) → Document IR. Pure: no I/O. Headings start flat
 * sections, body items become blocks that keep their 1-based page, bbox and reading order, and
 * page furniture (headers, footers, page numbers, discarded boxes) is left out.
 *
 * @module
 */
import { buildSections } from "../../stages/document_sections.ts";
import { z } from "zod";
import type {
  Block,
  BlockType,
  Document,
  FieldValue,
  RecordLocation,
  SourceName,
} from "../../stages/ir.ts";

const text = z.string().nullish();
const captions = z.array(z.string()).nullish();

/**
 * One `content_list` item. Only the fields the converter reads are checked; the rest pass through.
 *
 * @category schemas
 */
export const contentListItemSchema: z.ZodType<ContentListItem> = z.looseObject({
  type: z.string(),
  text,
  text_level: z.number().int().nonnegative().nullish(),
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).nullish(),
  page_idx: z.number().int().nonnegative(),
  image_caption: captions,
  table_caption: captions,
  table_footnote: captions,
  table_body: text,
  chart_caption: captions,
  code_caption: captions,
  code_body: text,
  list_items: captions,
});

/**
 * A whole `content_list` (an array of items in reading order).
 *
 * @category schemas
 */
export const contentListSchema: z.ZodType<ReadonlyArray<ContentListItem>> = z.array(
  contentListItemSchema,
);

/**
 * One `content_list` item as MinerU writes it. `bbox` is normalised to 0–1000; `page_idx` is
 * 0-based; `text_level` 1 is a top-level heading, absent or 0 is body text.
 *
 * @category models
 */
export interface ContentListItem {
  /** The item kind: `text`, `image`, `table`, `equation`, `discarded`, and in 3.x also `chart`, `code`, `list`, `header`, `footer`, `page_number` …. */
  readonly type: string;
  /** The item's text (an equation's LaTeX for `equation` items). */
  readonly text?: string | null;
  /** Heading level: 1 for a top-level heading, 2 below it …; absent or 0 for body text. */
  readonly text_level?: number | null;
  /** `[x0, y0, x1, y1]` on the page, normalised to 0–1000. */
  readonly bbox?: readonly [number, number, number, number] | null;
  /** The page the item is on, 0-based. */
  readonly page_idx: number;
  /** An `image` item's caption lines. */
  readonly image_caption?: ReadonlyArray<string> | null;
  /** A `table` item's caption lines. */
  readonly table_caption?: ReadonlyArray<string> | null;
  /** A `table` item's footnotes. */
  readonly table_footnote?: ReadonlyArray<string> | null;
  /** A `table` item's content as HTML. */
  readonly table_body?: string | null;
  /** A `chart` item's caption lines. */
  readonly chart_caption?: ReadonlyArray<string> | null;
  /** A `code` item's caption lines. */
  readonly code_caption?: ReadonlyArray<string> | null;
  /** A `code` item's source text. */
  readonly code_body?: string | null;
  /** A `list` item's entries, one string each. */
  readonly list_items?: ReadonlyArray<string> | null;
}

/** What {@link contentListToDocument} needs besides the items. */
export interface ContentListDocumentOptions {
  /** The document id, `{source}:{docKey}`; section and block ids derive from it. */
  readonly docId: string;
  /** The source the PDF came from. */
  readonly source: SourceName;
  /** Where the source record was found (the ingest request's location), kept as provenance. */
  readonly location: RecordLocation;
  /** The document title; when absent, the first level-1 heading. */
  readonly title?: string;
  /** Extra metadata to keep on the document (source identifiers, MinerU version …). */
  readonly metadata?: Readonly<Record<string, FieldValue>>;
}

/** Page furniture that is not part of the text. */
const skipped = new Set(["discarded", "header", "footer", "page_number"]);

const entities: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
};

const decodeEntities = (s: string): string =>
  s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name[0] !== "#") return entities[name.toLowerCase()] ?? whole;
    const code = name[1] === "x" || name[1] === "X"
      ? parseInt(name.slice(2), 16)
      : parseInt(name.slice(1), 10);
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });

const squash = (s: string): string => s.replace(/\s+/g, " ").trim();

/**
 * Renders table HTML as text: one line per row, cells joined by ` | `, tags dropped, entities
 * decoded.
 *
 * @example
 * ```ts
 * import { tableHtmlToText } from "./content_list.ts";
 * tableHtmlToText("<table><tr><td>a</td><td>b &amp; c</td></tr></table>"); // "a | b & c"
 * ```
 * @category constructors
 */
export const tableHtmlToText = (html: string): string =>
  html
    .split(/<\/tr\s*>/i)
    .map((row) =>
      row
        .split(/<\/t[dh]\s*>/i)
        .map((cell) => squash(decodeEntities(cell.replace(/<[^>]*>/g, " "))))
        .filter((cell) => cell !== "")
        .join(" | ")
    )
    .filter((row) => row !== "")
    .join("\n");

const joined = (parts: ReadonlyArray<string> | null | undefined, separator = " "): string =>
  (parts ?? []).map((p) => p.trim()).filter((p) => p !== "").join(separator);

const lines = (...parts: ReadonlyArray<string>): string => parts.filter((p) => p !== "").join("\n");

/** The block an item becomes, or `undefined` when it carries no text worth keeping. */
const blockOf = (
  item: ContentListItem,
): { readonly type: BlockType; readonly text: string } | undefined => {
  const body = (item.text ?? "").trim();
  const make = (type: BlockType, t: string) => (t === "" ? undefined : { type, text: t });
  switch (item.type) {
    case "table":
      return make(
        "table",
        lines(
          joined(item.table_caption),
          tableHtmlToText(item.table_body ?? ""),
          joined(item.table_footnote),
        ),
      );
    case "equation":
      return make("equation", body);
    case "image":
      // An uncaptioned image has no text to search or chunk.
      return make("figure", joined(item.image_caption));
    case "chart":
      return make("figure", joined(item.chart_caption));
    case "list":
      return make("text", item.list_items ? joined(item.list_items, "\n") : body);
    case "code":
      return make("text", lines(joined(item.code_caption), (item.code_body ?? body).trim()));
    default:
      return make("text", body);
  }
};

const isHeading = (item: ContentListItem): boolean =>
  (item.type === "text" || item.type === "title") && (item.text_level ?? 0) >= 1 &&
  (item.text ?? "").trim() !== "";

/** A section being filled while the content list is read. */
interface OpenSection {
  readonly title: string;
  readonly blocks: Array<Omit<Block, "id">>;
}

const draftSections = (
  items: ReadonlyArray<ContentListItem>,
  frontTitle: string,
): ReadonlyArray<OpenSection> => {
  const drafts: Array<OpenSection> = [{ title: frontTitle, blocks: [] }];
  items.forEach((item, readingOrder) => {
    if (skipped.has(item.type)) return;
    if (isHeading(item)) {
      drafts.push({ title: squash(item.text ?? ""), blocks: [] });
      return;
    }
    const block = blockOf(item);
    if (block === undefined) return;
    drafts[drafts.length - 1].blocks.push({
      ...block,
      page: item.page_idx + 1,
      ...(item.bbox ? { bbox: item.bbox } : {}),
      readingOrder,
    });
  });
  return drafts;
};

const titleOf = (items: ReadonlyArray<ContentListItem>, given: string | undefined): string => {
  if (given !== undefined && given.trim() !== "") return given.trim();
  const headings = items.filter(isHeading);
  const top = headings.find((item) => item.text_level === 1) ?? headings[0];
  return top === undefined ? "" : squash(top.text ?? "");
};

/**
 * Turns a MinerU content list into a Document. A heading (`text_level` ≥ 1) starts a new section
 * titled by it; body before the first heading goes into a first section titled by the given title
 * or "Front matter". Blocks keep `page` (1-based), `bbox` and `readingOrder` (the item's index in
 * the content list). Ids are `{docId}:s{i}` and `{docId}:s{i}:b{j}`; empty sections are dropped.
 *
 * @param items the validated content list, in reading order
 * @param options document id, source, location, and optionally the title and metadata
 * @returns the document; deterministic for the same input
 * @example
 * ```ts
 * import { contentListToDocument } from "./content_list.ts";
 * const document = contentListToDocument([
 *   { type: "text", text: "A study", text_level: 1, page_idx: 0 },
 *   { type: "text", text: "We measured things.", page_idx: 0 },
 * ], {
 *   docId: "unpaywall:10.1/x",
 *   source: "unpaywall",
 *   location: { kind: "url", url: "https://example.org/x.pdf" },
 * });
 * console.log(document.title, document.sections[0].blocks[0].page); // "A study" 1
 * ```
 * @category constructors
 */
export const contentListToDocument = (
  items: ReadonlyArray<ContentListItem>,
  options: ContentListDocumentOptions,
): Document => {
  const title = titleOf(items, options.title);
  const sections = buildSections(
    options.docId,
    draftSections(items, options.title?.trim() || "Front matter"),
  );
  const pages = items.reduce((max, item) => Math.max(max, item.page_idx + 1), 0);
  return {
    id: options.docId,
    source: options.source,
    title: title === "" ? options.docId : title,
    sections,
    metadata: { ...options.metadata, pageCount: pages, contentItems: items.length },
    provenance: {
      source: options.source,
      location: options.location,
      parser: "mineru.content_list",
    },
  };
};
