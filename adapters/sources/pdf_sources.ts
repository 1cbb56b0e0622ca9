/**
 * Records that point at an open-access PDF: Unpaywall `/v2/{doi}` records, Europe PMC search
 * results, and the OA locations of OpenAlex works. Here they are recognised in response files
 * (for discovery and ingest), parsed into a small metadata Document, and asked for their PDF URL
 * (for the Download stage).
 *
 * Which URL is chosen:
 * - OpenAlex work: `best_oa_location.pdf_url`, else `primary_location.pdf_url`, else the first
 *   `locations[].pdf_url`.
 * - Unpaywall: `best_oa_location.url_for_pdf`, else the first `oa_locations[].url_for_pdf`.
 * - Europe PMC result: a `fullTextUrlList.fullTextUrl[]` entry with `documentStyle: "pdf"` that is
 *   open access (`availabilityCode` `OA`) or free (`F`), open access first; otherwise, when the
 *   record has a `pmcid` and does not say `inEPMC: "N"` or `hasPDF: "N"`, Europe PMC's render URL
 *   `https://europepmc.org/articles/{PMCID}?pdf=render` (the `lite` result type carries no URL
 *   list, and this is the link OpenAlex and Unpaywall themselves record for PMC copies).
 *
 * @module
 */
import { Effect } from "effect";
import { z } from "zod";
import { InvalidInput } from "../../stages/errors.ts";
import {
  type Document,
  type FieldValue,
  type RawPayload,
  recordFormatOf,
  type SourceName,
} from "../../stages/ir.ts";
import { buildSections, invalidRecord, validateRecord } from "./_document_parts.ts";
import {
  describeValue,
  type FileShape,
  keyProblem,
  pathOf,
  type RecordRef,
} from "./_record_shape.ts";

const text = z.string().nullish();
const flag = z.string().nullish();

const unpaywallLocationSchema = z.looseObject({
  url: text,
  url_for_pdf: text,
  url_for_landing_page: text,
  host_type: text,
  version: text,
  license: text,
  is_best: z.boolean().nullish(),
});

/**
 * The parts of an Unpaywall `/v2/{doi}` record this kit reads.
 *
 * @category schemas
 */
export const unpaywallRecordSchema: z.ZodType<UnpaywallRecord> = z.looseObject({
  doi: z.string().regex(/^10\.\S+\/\S+$/, "expected a bare DOI (10.…/…)"),
  title: text,
  year: z.number().int().nullish(),
  genre: text,
  is_oa: z.boolean().nullish(),
  oa_status: text,
  journal_name: text,
  publisher: text,
  best_oa_location: unpaywallLocationSchema.nullish(),
  oa_locations: z.array(unpaywallLocationSchema).nullish(),
});

/** One Unpaywall OA location. */
export interface UnpaywallLocation {
  /** The location's best URL: the PDF URL when there is one, else the landing page. */
  readonly url?: string | null;
  /** A direct link to the PDF, when known. */
  readonly url_for_pdf?: string | null;
  /** The landing page of the article at this location. */
  readonly url_for_landing_page?: string | null;
  /** `publisher` or `repository`. */
  readonly host_type?: string | null;
  /** `submittedVersion`, `acceptedVersion` or `publishedVersion`. */
  readonly version?: string | null;
  /** The copy's license, e.g. `cc-by`. */
  readonly license?: string | null;
  /** Whether this is the record's best OA location. */
  readonly is_best?: boolean | null;
}

/** A validated Unpaywall record. */
export interface UnpaywallRecord {
  /** The bare DOI, e.g. `10.1038/nature12373`. */
  readonly doi: string;
  /** The work's title. */
  readonly title?: string | null;
  /** The year the work was published. */
  readonly year?: number | null;
  /** The Crossref work type, e.g. `journal-article`. */
  readonly genre?: string | null;
  /** Whether any open-access copy is known. */
  readonly is_oa?: boolean | null;
  /** The OA status, e.g. `gold`, `hybrid`, `bronze`, `green`, `closed`. */
  readonly oa_status?: string | null;
  /** The journal's name. */
  readonly journal_name?: string | null;
  /** The publisher's name. */
  readonly publisher?: string | null;
  /** The best open-access copy; `null` for closed access. */
  readonly best_oa_location?: UnpaywallLocation | null;
  /** Every open-access copy found. */
  readonly oa_locations?: ReadonlyArray<UnpaywallLocation> | null;
}

/**
 * One result of a Europe PMC REST search (`resultList.result[]`, `lite` or `core`).
 *
 * @category schemas
 */
export const europePmcResultSchema: z.ZodType<EuropePmcResult> = z.looseObject({
  id: z.string().min(1),
  source: z.string().min(1),
  pmid: text,
  pmcid: z.string().regex(/^PMC\d+$/i, "expected a PMC id (PMC…)").nullish(),
  doi: text,
  title: text,
  authorString: text,
  journalTitle: text,
  pubYear: text,
  abstractText: text,
  isOpenAccess: flag,
  inEPMC: flag,
  hasPDF: flag,
  fullTextUrlList: z.looseObject({
    fullTextUrl: z.array(z.looseObject({
      availabilityCode: text,
      documentStyle: text,
      site: text,
      url: z.string(),
    })).nullish(),
  }).nullish(),
});

/** A validated Europe PMC search result. */
export interface EuropePmcResult {
  /** The record's id within its Europe PMC source (for `MED`, the PMID). */
  readonly id: string;
  /** The Europe PMC source the record is from, e.g. `MED`, `PMC`, `PPR`. */
  readonly source: string;
  /** The PubMed id. */
  readonly pmid?: string | null;
  /** The PubMed Central id, `PMC…`. */
  readonly pmcid?: string | null;
  /** The bare DOI. */
  readonly doi?: string | null;
  /** The article's title. */
  readonly title?: string | null;
  /** The authors as one string, e.g. `Smith J, Doe A.`. */
  readonly authorString?: string | null;
  /** The journal's title. */
  readonly journalTitle?: string | null;
  /** The publication year, as a string. */
  readonly pubYear?: string | null;
  /** The abstract (`core` results only; may hold HTML tags). */
  readonly abstractText?: string | null;
  /** `Y` when the article is open access, else `N`. */
  readonly isOpenAccess?: string | null;
  /** `Y` when Europe PMC holds the full text, else `N`. */
  readonly inEPMC?: string | null;
  /** `Y` when a PDF of the full text is available, else `N`. */
  readonly hasPDF?: string | null;
  /** Full-text links (`core` results only): `availabilityCode` (`OA` open access, `F` free …), `documentStyle` (`pdf`, `html` …), `site` and `url`. */
  readonly fullTextUrlList?: {
    readonly fullTextUrl?:
      | ReadonlyArray<{
        readonly availabilityCode?: string | null;
        readonly documentStyle?: string | null;
        readonly site?: string | null;
        readonly url: string;
      }>
      | null;
  } | null;
}

const openAlexLocationSchema = z.looseObject({ pdf_url: text });
const openAlexOaSchema = z.looseObject({
  best_oa_location: openAlexLocationSchema.nullish(),
  primary_location: openAlexLocationSchema.nullish(),
  locations: z.array(openAlexLocationSchema).nullish(),
});

/** A PDF URL and the record field it was read from. */
export interface PdfLink {
  /** The PDF's URL. */
  readonly url: string;
  /** The record field the URL came from, e.g. `best_oa_location.pdf_url`. */
  readonly path: string;
}

const firstLink = (
  candidates: ReadonlyArray<readonly [string, string | null | undefined]>,
): PdfLink | undefined => {
  const found = candidates.find(([, url]) => typeof url === "string" && url.trim() !== "");
  return found === undefined ? undefined : { path: found[0], url: found[1]!.trim() };
};

/** Europe PMC's PDF rendering of a PMC article. */
export const europePmcRenderUrl = (pmcid: string): string =>
  `https://europepmc.org/articles/${pmcid.toUpperCase()}?pdf=render`;

const europePmcLink = (result: EuropePmcResult): PdfLink | undefined => {
  const urls = result.fullTextUrlList?.fullTextUrl ?? [];
  const rank = (code: string | null | undefined) => (code === "OA" ? 0 : code === "F" ? 1 : 2);
  const pdfs = urls
    .map((entry, i) => ({ entry, i }))
    .filter(({ entry }) => entry.documentStyle === "pdf" && rank(entry.availabilityCode) < 2)
    .sort((a, b) => rank(a.entry.availabilityCode) - rank(b.entry.availabilityCode) || a.i - b.i);
  if (pdfs.length > 0) {
    return { url: pdfs[0].entry.url, path: `fullTextUrlList.fullTextUrl[${pdfs[0].i}].url` };
  }
  if (!result.pmcid || result.inEPMC === "N" || result.hasPDF === "N") return undefined;
  return { url: europePmcRenderUrl(result.pmcid), path: "pmcid" };
};

interface PdfRules {
  readonly schema: z.ZodType;
  readonly link: (record: never) => PdfLink | undefined;
  readonly lookedAt: string;
}

const pdfRules: Readonly<Partial<Record<SourceName, PdfRules>>> = {
  openalex: {
    schema: openAlexOaSchema,
    link: (work: z.output<typeof openAlexOaSchema>) =>
      firstLink([
        ["best_oa_location.pdf_url", work.best_oa_location?.pdf_url],
        ["primary_location.pdf_url", work.primary_location?.pdf_url],
        ...(work.locations ?? []).map((l, i) => [`locations[${i}].pdf_url`, l.pdf_url] as const),
      ]),
    lookedAt: "best_oa_location, primary_location and locations[] have no pdf_url",
  },
  unpaywall: {
    schema: unpaywallRecordSchema,
    link: (record: UnpaywallRecord) =>
      firstLink([
        ["best_oa_location.url_for_pdf", record.best_oa_location?.url_for_pdf],
        ...(record.oa_locations ?? []).map((l, i) =>
          [`oa_locations[${i}].url_for_pdf`, l.url_for_pdf] as const
        ),
      ]),
    lookedAt: "best_oa_location and oa_locations[] have no url_for_pdf",
  },
  europepmc: {
    schema: europePmcResultSchema,
    link: europePmcLink,
    lookedAt: "no open or free PDF in fullTextUrlList and no PMC copy",
  },
};

/** The sources whose records can point at a PDF. */
export const pdfSourceNames: ReadonlyArray<SourceName> = [
  "openalex",
  "openalex-pdf",
  "unpaywall",
  "europepmc",
];

/**
 * The PDF URL of an ingested record, or `undefined` when it has none (closed access, a source
 * without PDFs, or a record too malformed to read).
 *
 * @example
 * ```ts
 * import { pdfUrlOf } from "./pdf_sources.ts";
 * pdfUrlOf({
 *   source: "unpaywall",
 *   docKey: "10.1/x",
 *   location: { kind: "url", url: "https://api.unpaywall.org/v2/10.1/x" },
 *   record: { doi: "10.1/x", best_oa_location: { url_for_pdf: "https://example.org/x.pdf" } },
 * }); // "https://example.org/x.pdf"
 * ```
 * @category constructors
 */
export const pdfUrlOf = (payload: RawPayload): string | undefined => {
  const rules = pdfRules[recordFormatOf(payload.source)];
  const parsed = rules?.schema.safeParse(payload.record);
  return parsed?.success ? rules!.link(parsed.data as never)?.url : undefined;
};

/**
 * The PDF link of an ingested record and the field it came from, failing with `InvalidInput` when
 * the record is malformed, its source carries no PDFs, or it has no open-access PDF.
 *
 * @category constructors
 */
export const requirePdfLink = (payload: RawPayload): Effect.Effect<PdfLink, InvalidInput> => {
  const docId = `${payload.source}:${payload.docKey}`;
  const rules = pdfRules[recordFormatOf(payload.source)];
  if (rules === undefined) {
    const known = pdfSourceNames.join(", ");
    return Effect.fail(
      new InvalidInput({
        message:
          `${docId}: source "${payload.source}" records carry no PDF (PDF sources: ${known})`,
        path: "",
      }),
    );
  }
  const parsed = rules.schema.safeParse(payload.record);
  if (!parsed.success) return Effect.fail(invalidRecord(payload, parsed.error));
  const link = rules.link(parsed.data as never);
  return link === undefined
    ? Effect.fail(
      new InvalidInput({ message: `${docId}: no open-access PDF (${rules.lookedAt})`, path: "" }),
    )
    : Effect.succeed(link);
};

const stripTags = (html: string): string =>
  html.replace(/<[^>]*>/g, " ").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/\s+/g, " ").trim();

const documentOf = (
  payload: RawPayload,
  parser: string,
  title: string,
  abstract: string,
  metadata: Record<string, FieldValue>,
): Document => {
  const id = `${payload.source}:${payload.docKey}`;
  return {
    id,
    source: payload.source,
    title,
    sections: buildSections(id, [
      { title: "Title", blocks: [{ type: "text", text: title }] },
      { title: "Abstract", blocks: abstract === "" ? [] : [{ type: "text", text: abstract }] },
    ]),
    metadata: { ...metadata, pdfUrl: pdfUrlOf(payload) ?? null },
    provenance: { source: payload.source, location: payload.location, parser },
  };
};

/**
 * Parses an Unpaywall record into a Document (title) with its OA metadata and PDF URL.
 *
 * @category constructors
 */
export const parseUnpaywall = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(
    validateRecord(unpaywallRecordSchema, payload),
    (record) =>
      documentOf(payload, "unpaywall.v2", record.title?.trim() || record.doi, "", {
        doi: record.doi.toLowerCase(),
        publicationYear: record.year ?? null,
        genre: record.genre ?? null,
        journal: record.journal_name ?? null,
        publisher: record.publisher ?? null,
        isOa: record.is_oa ?? false,
        oaStatus: record.oa_status ?? null,
        license: record.best_oa_location?.license ?? null,
        version: record.best_oa_location?.version ?? null,
      }),
  );

/**
 * Parses a Europe PMC search result into a Document (title, abstract when the `core` result type
 * carries one) with its identifiers and PDF URL.
 *
 * @category constructors
 */
export const parseEuropePmc = (payload: RawPayload): Effect.Effect<Document, InvalidInput> =>
  Effect.map(validateRecord(europePmcResultSchema, payload), (result) => {
    const year = Number(result.pubYear);
    const title = stripTags(result.title ?? "") || result.pmcid || `${result.source}/${result.id}`;
    return documentOf(payload, "europepmc.search", title, stripTags(result.abstractText ?? ""), {
      europePmcId: `${result.source}/${result.id}`,
      pmid: result.pmid ?? null,
      pmcid: result.pmcid?.toUpperCase() ?? null,
      doi: result.doi?.toLowerCase() ?? null,
      authors: result.authorString ?? null,
      journal: result.journalTitle ?? null,
      publicationYear: Number.isInteger(year) && year > 0 ? year : null,
      isOa: result.isOpenAccess === "Y",
    });
  });

type Json = Readonly<Record<string, unknown>>;

const isObject = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u);

const isUnpaywallRecord = (value: Json): boolean =>
  typeof value.doi === "string" && /^10\./.test(value.doi) &&
  ("best_oa_location" in value || Array.isArray(value.oa_locations));

const isEuropePmcResult = (value: Json): boolean =>
  typeof value.id === "string" && typeof value.source === "string" &&
  /^[A-Z]{3}$/.test(value.source) && ("pmid" in value || "pmcid" in value || "inEPMC" in value);

const europePmcList = (value: Json): ReadonlyArray<unknown> | undefined => {
  const list = value.resultList;
  return isObject(list) && Array.isArray(list.result) ? list.result : undefined;
};

// A key becomes a job id: one the store cannot hold is a problem of the record, not the run.
const storable = (key: string, field: string): { key: string } | { problem: string } => {
  const problem = keyProblem(key, "string");
  return problem === undefined ? { key } : { problem: `${field}: ${problem}` };
};

/** The key of a Europe PMC result: its PMCID, else `{source}-{id}` (`MED-20516115`). */
const europePmcKey = (record: unknown): { key: string } | { problem: string } => {
  const r = isObject(record) ? record : {};
  if (typeof r.pmcid === "string" && /^PMC\d+$/i.test(r.pmcid)) {
    return { key: r.pmcid.toUpperCase() };
  }
  if (typeof r.source === "string" && typeof r.id === "string" && r.id.trim() !== "") {
    return storable(`${r.source}-${r.id.trim()}`, "id");
  }
  return { problem: `id: expected string, received ${describeValue(r.id)}` };
};

const refOf = (
  pointer: string,
  read: { key: string } | { problem: string },
  where: ReadonlyArray<string>,
): RecordRef =>
  "key" in read ? { pointer, docKey: read.key, problem: undefined } : {
    pointer,
    docKey: undefined,
    problem: [pathOf(where), read.problem].filter(Boolean).join("."),
  };

/**
 * Recognises an Unpaywall record (top-level bare `doi` plus `best_oa_location` or
 * `oa_locations`), a Europe PMC search response (`resultList.result[]`) or a single Europe PMC
 * result, the way `detectShape` does for the other sources. With `source`, only that source's
 * shapes are accepted.
 *
 * @category constructors
 */
export const detectPdfShape = (value: unknown, source?: SourceName): FileShape | undefined => {
  if (!isObject(value)) return undefined;
  if ((source === undefined || source === "unpaywall") && isUnpaywallRecord(value)) {
    const doi = (value.doi as string).trim().toLowerCase();
    return {
      source: "unpaywall",
      kind: "single",
      records: [refOf("", storable(doi, "doi"), [])],
    };
  }
  if (source !== undefined && source !== "europepmc") return undefined;
  const list = europePmcList(value);
  if (list !== undefined) {
    return {
      source: "europepmc",
      kind: "list",
      records: list.map((item, i) =>
        refOf(`/resultList/result/${i}`, europePmcKey(item), ["resultList", "result", String(i)])
      ),
    };
  }
  if (isEuropePmcResult(value)) {
    return { source: "europepmc", kind: "single", records: [refOf("", europePmcKey(value), [])] };
  }
  return undefined;
};

/**
 * The PDF-bearing records in a parsed response file, as ingest payloads (one per Unpaywall record
 * or Europe PMC result). A record whose key cannot be read is keyed `{file}#{index}`.
 *
 * @param value the parsed file
 * @param file the file's path, recorded in each payload's location
 * @category constructors
 */
export const pdfRecordsOf = (value: unknown, file: string): ReadonlyArray<RawPayload> => {
  const shape = detectPdfShape(value);
  if (shape === undefined) return [];
  const items = shape.kind === "single" ? [value] : (europePmcList(value as Json) ?? []);
  return shape.records.map((ref, i) => ({
    source: shape.source,
    docKey: ref.docKey ?? `${file}#${i}`,
    location: { kind: "file", file, pointer: ref.pointer },
    record: items[i],
  }));
};
