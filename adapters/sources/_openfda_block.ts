/**
 * The `openfda` block openFDA adds to labels, Drugs@FDA applications and the drugs of FAERS
 * reports: the harmonised names and codes of the product (every field a `string[]`).
 *
 * @module
 */
import { z } from "zod";

const strings = z.array(z.string());

/** The parts of an `openfda` block the parsers read. */
export const openfdaBlock = z.looseObject({
  application_number: strings.optional(),
  brand_name: strings.optional(),
  generic_name: strings.optional(),
  manufacturer_name: strings.optional(),
  product_type: strings.optional(),
  route: strings.optional(),
  substance_name: strings.optional(),
  rxcui: strings.optional(),
  spl_id: strings.optional(),
  unii: strings.optional(),
  pharm_class_epc: strings.optional(),
  pharm_class_moa: strings.optional(),
  pharm_class_pe: strings.optional(),
  pharm_class_cs: strings.optional(),
});

/** A validated `openfda` block. */
export type OpenfdaBlock = z.output<typeof openfdaBlock>;

/** openFDA dates are `YYYYMMDD`; shown as `YYYY-MM-DD` when they are, as given otherwise. */
export const isoDate = (value: string | null | undefined): string | null => {
  if (value === null || value === undefined || value.trim() === "") return null;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim());
  return m === null ? value.trim() : `${m[1]}-${m[2]}-${m[3]}`;
};

/** The distinct non-blank strings, in first-seen order. */
export const distinct = (values: ReadonlyArray<string | null | undefined>): Array<string> => [
  ...new Set(values.flatMap((v) => (v === null || v === undefined || v.trim() === "" ? [] : [v]))),
];
