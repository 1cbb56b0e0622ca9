import { readFile } from "node:fs/promises";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  type ContentListItem,
  contentListSchema,
  contentListToDocument,
  tableHtmlToText,
} from "../../../adapters/mineru/content_list.ts";
import type { Block, Document } from "../../../stages/ir.ts";

const shared = new URL(
  "../../fixtures/mineru/mineru-2.5.4-pipeline/",
  import.meta.url,
);

const load = async (id: string): Promise<ReadonlyArray<ContentListItem>> =>
  contentListSchema.parse(
    JSON.parse(await readFile(new URL(`${id}/${id}_content_list.json`, shared), "utf8")),
  );

const convert = (items: ReadonlyArray<ContentListItem>, docKey: string, title?: string) =>
  contentListToDocument(items, {
    docId: `openalex:${docKey}`,
    source: "openalex",
    location: { kind: "file", file: `files/${docKey}.pdf`, pointer: "" },
    ...(title === undefined ? {} : { title }),
  });

const blocks = (document: Document): ReadonlyArray<Block> =>
  document.sections.flatMap((s) => s.blocks);

const countByType = (document: Document): Record<string, number> =>
  blocks(document).reduce<Record<string, number>>((counts, block) => {
    counts[block.type] = (counts[block.type] ?? 0) + 1;
    return counts;
  }, {});

const pages = (document: Document): ReadonlyArray<number> =>
  [...new Set(blocks(document).map((b) => b.page!))].sort((a, b) => a - b);

describe("contentListToDocument() on recorded MinerU 2.5.4 output", () => {
  it("turns the 2-page Declaration of Helsinki into four titled sections", async () => {
    const document = convert(await load("W2497721881"), "W2497721881");
    expect(document.title).toBe("World Medical Association Declaration of Helsinki");
    expect(document.sections.map((s) => [s.id, s.title, s.blocks.length])).toEqual([
      ["openalex:W2497721881:s0", "World Medical Association Declaration of Helsinki", 2],
      ["openalex:W2497721881:s1", "A. Introduction", 9],
      ["openalex:W2497721881:s2", "B. Basic principles for all medical research", 18],
      [
        "openalex:W2497721881:s3",
        "C. Additional principles for medical research combined with medical care",
        5,
      ],
    ]);
    expect(countByType(document)).toEqual({ text: 34 });
    expect(pages(document)).toEqual([1, 2]);
    expect(document.sections[1].blocks[0]).toEqual({
      id: "openalex:W2497721881:s1:b0",
      type: "text",
      text: expect.stringMatching(/^1\. The World Medical Association has developed/),
      page: 1,
      bbox: expect.any(Array),
      readingOrder: 4,
    });
    expect(document.metadata).toEqual({ pageCount: 2, contentItems: 40 });
    expect(document.provenance).toEqual({
      source: "openalex",
      location: { kind: "file", file: "files/W2497721881.pdf", pointer: "" },
      parser: "mineru.content_list",
    });
  });

  it("turns the 6-page MRC guidance into 16 sections spanning pages 1–6 with one figure", async () => {
    const items = await load("W2162544110");
    const document = convert(items, "W2162544110");
    expect(document.title).toBe(
      "Developing and evaluating complex interventions: the new Medical Research Council guidance",
    );
    expect(document.sections.map((s) => [s.title, s.blocks.length])).toEqual([
      [document.title, 4],
      ["Revisiting the 2000 MRC framework", 2],
      ["What are complex interventions?", 2],
      ["Summary points", 1],
      ["Box 1 What makes an intervention complex?", 2],
      ["Development, evaluation, and implementation", 5],
      ["Developing a complex intervention", 3],
      ["Box 2 Developing and evaluating complex studies", 2],
      ["Assessing feasibility", 2],
      ["Evaluating a complex intervention", 1],
      ["Assessing effectiveness", 2],
      ["Measuring outcomes", 2],
      ["Understanding processes", 2],
      ["Box 3 Experimental designs for evaluating complex interventions", 5],
      ["Box 4 Choosing between randomised and non-randomised designs", 10],
      ["Conclusions", 4],
    ]);
    expect(countByType(document)).toEqual({ text: 48, figure: 1 });
    expect(pages(document)).toEqual([1, 2, 3, 4, 5, 6]);
    const figure = blocks(document).find((b) => b.type === "figure");
    expect(figure).toEqual({
      id: "openalex:W2162544110:s15:b3",
      type: "figure",
      text: "Figure Fig 1 Key elements of the development and evaluation process",
      page: 6,
      bbox: [92, 141, 623, 297],
      readingOrder: 67,
    });
    expect(document.metadata).toEqual({ pageCount: 6, contentItems: 68 });
  });

  it("keeps reading order increasing and every block's page and bbox from its item", async () => {
    const items = await load("W2162544110");
    const order = blocks(convert(items, "W2162544110")).map((b) => b.readingOrder!);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const block of blocks(convert(items, "W2162544110"))) {
      const item = items[block.readingOrder!];
      expect([block.page, block.bbox]).toEqual([item.page_idx + 1, item.bbox]);
    }
  });

  it("is deterministic", async () => {
    const items = await load("W2497721881");
    expect(convert(items, "W2497721881")).toEqual(convert(structuredClone(items), "W2497721881"));
  });
});

describe("contentListToDocument() item types", () => {
  const items: ReadonlyArray<ContentListItem> = [
    { type: "header", text: "Journal of Things 2024", page_idx: 0 },
    { type: "text", text: "Received 1 May", page_idx: 0, bbox: [1, 2, 3, 4] },
    { type: "text", text: "Results", text_level: 2, page_idx: 0 },
    {
      type: "table",
      table_caption: ["Table 1 Outcomes "],
      table_body:
        "<table><tr><th>Arm</th><th>n</th></tr><tr><td>A &amp; B</td><td>12</td></tr></table>",
      table_footnote: ["SD in brackets"],
      page_idx: 1,
    },
    {
      type: "equation",
      text: "$$E = mc^2$$",
      text_format: "latex",
      page_idx: 1,
    } as ContentListItem,
    { type: "image", img_path: "images/a.jpg", image_caption: [], page_idx: 1 } as ContentListItem,
    { type: "list", list_items: ["first", "second"], page_idx: 1 },
    { type: "code", code_caption: ["Listing 1"], code_body: "print(1)", page_idx: 2 },
    { type: "discarded", text: "Downloaded from …", page_idx: 2 },
    { type: "footer", text: "© 2024", page_idx: 2 },
    { type: "page_number", text: "3", page_idx: 2 },
    { type: "text", text: "Empty heading", text_level: 1, page_idx: 2 },
    { type: "text", text: "Discussion", text_level: 1, page_idx: 2 },
    { type: "text", text: "  It works.  ", page_idx: 2 },
  ];

  it("maps tables, equations, lists and code, skips furniture and uncaptioned images", () => {
    const document = contentListToDocument(items, {
      docId: "europepmc:PMC1",
      source: "europepmc",
      location: { kind: "url", url: "https://europepmc.org/articles/PMC1?pdf=render" },
      title: "Given title",
      metadata: { pmcid: "PMC1" },
    });
    expect(document.title).toBe("Given title");
    expect(document.sections).toEqual([
      {
        id: "europepmc:PMC1:s0",
        title: "Given title",
        blocks: [{
          id: "europepmc:PMC1:s0:b0",
          type: "text",
          text: "Received 1 May",
          page: 1,
          bbox: [1, 2, 3, 4],
          readingOrder: 1,
        }],
      },
      {
        id: "europepmc:PMC1:s1",
        title: "Results",
        blocks: [
          {
            id: "europepmc:PMC1:s1:b0",
            type: "table",
            text: "Table 1 Outcomes\nArm | n\nA & B | 12\nSD in brackets",
            page: 2,
            readingOrder: 3,
          },
          {
            id: "europepmc:PMC1:s1:b1",
            type: "equation",
            text: "$$E = mc^2$$",
            page: 2,
            readingOrder: 4,
          },
          {
            id: "europepmc:PMC1:s1:b2",
            type: "text",
            text: "first\nsecond",
            page: 2,
            readingOrder: 6,
          },
          {
            id: "europepmc:PMC1:s1:b3",
            type: "text",
            text: "Listing 1\nprint(1)",
            page: 3,
            readingOrder: 7,
          },
        ],
      },
      {
        id: "europepmc:PMC1:s2",
        title: "Discussion",
        blocks: [{
          id: "europepmc:PMC1:s2:b0",
          type: "text",
          text: "It works.",
          page: 3,
          readingOrder: 13,
        }],
      },
    ]);
    expect(document.metadata).toEqual({ pmcid: "PMC1", pageCount: 3, contentItems: 14 });
  });

  it("titles leading body 'Front matter' and the document by its first level-1 heading", () => {
    const document = contentListToDocument(items, {
      docId: "europepmc:PMC1",
      source: "europepmc",
      location: { kind: "url", url: "https://europepmc.org/articles/PMC1?pdf=render" },
    });
    expect(document.title).toBe("Empty heading");
    expect(document.sections.map((s) => s.title)).toEqual([
      "Front matter",
      "Results",
      "Discussion",
    ]);
  });

  it("renders table HTML rows as lines and cells joined by |", () => {
    expect(tableHtmlToText(
      "<table><thead><tr><th>a</th><th colspan='2'>b&nbsp;c</th></tr></thead>" +
        "<tbody><tr><td>1</td><td>&lt;2&gt;</td><td>&#955;</td></tr></tbody></table>",
    )).toBe("a | b c\n1 | <2> | λ");
  });
});

describe("contentListToDocument() properties", () => {
  const item = fc.record({
    type: fc.constantFrom("text", "image", "table", "equation", "discarded", "list"),
    text: fc.option(fc.string(), { nil: undefined }),
    text_level: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    page_idx: fc.integer({ min: 0, max: 20 }),
    image_caption: fc.option(fc.array(fc.string(), { maxLength: 2 }), { nil: undefined }),
  });

  test.prop([fc.array(item, { maxLength: 40 })])(
    "ids are dense and deterministic, pages 1-based, reading order the item index",
    (items) => {
      const options = {
        docId: "unpaywall:10.1/x",
        source: "unpaywall" as const,
        location: { kind: "url" as const, url: "https://example.org/x.pdf" },
      };
      const document = contentListToDocument(items, options);
      expect(contentListToDocument(items, options)).toEqual(document);
      document.sections.forEach((section, i) => {
        expect(section.id).toBe(`unpaywall:10.1/x:s${i}`);
        expect(section.blocks.length).toBeGreaterThan(0);
        section.blocks.forEach((block, j) => {
          expect(block.id).toBe(`unpaywall:10.1/x:s${i}:b${j}`);
          expect(block.text.trim()).toBe(block.text);
          expect(block.text).not.toBe("");
          expect(block.page).toBe(items[block.readingOrder!].page_idx + 1);
        });
      });
    },
  );
});
