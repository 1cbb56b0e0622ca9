/**
 * One canonical spelling per name, so the same drug, condition or organisation found in different
 * records becomes one knowledge-graph node (`Drug:gefitinib` for "Gefitinib Tablets", "GEFITINIB"
 * and "Gefitinib®").
 *
 * @module
 */

const trademarkMarks = /[®™℠©]/gu;
const edgeChar = /^[\s.,;:!?*'"`‘’“”\-–—_/\\|]$/u;

// Trimmed with two scans, not a `[…]+$` pattern: a regex engine retries that pattern from every
// position of a long run of punctuation, which is quadratic in the name's length.
const trimEdgePunctuation = (text: string): string => {
  let start = 0;
  let end = text.length;
  while (start < end && edgeChar.test(text[start])) start += 1;
  while (end > start && edgeChar.test(text[end - 1])) end -= 1;
  return text.slice(start, end);
};

// Labels name the product ("Gefitinib Tablets", "Pembrolizumab for injection"); the graph wants the
// substance, so trailing dosage-form words are dropped. Only at the end, and never the whole name.
const dosageFormWords: ReadonlySet<string> = new Set([
  "tablet",
  "tablets",
  "capsule",
  "capsules",
  "injection",
  "injections",
  "injectable",
  "oral",
  "solution",
  "suspension",
  "powder",
  "film-coated",
  "coated",
]);

const stripDosageForm = (words: ReadonlyArray<string>): ReadonlyArray<string> => {
  let end = words.length;
  while (end > 1) {
    const last = trimEdgePunctuation(words[end - 1]);
    const isForm = dosageFormWords.has(last);
    // "for" only goes when a dosage form followed it ("… for injection", "… for oral suspension").
    const isDanglingFor = last === "for" && end < words.length;
    if (!isForm && !isDanglingFor) break;
    end -= 1;
  }
  return words.slice(0, end);
};

/**
 * Normalises an entity name: NFKC, lower case, no ®/™, single spaces, no punctuation at the ends,
 * no trailing dosage-form words ("tablets", "capsules", "injection", "oral" …).
 *
 * @example
 * ```ts
 * import { normaliseName } from "./normalise_name.ts";
 * normaliseName("Gefitinib Tablets"); // "gefitinib"
 * ```
 * @category constructors
 */
export const normaliseName = (name: string): string => {
  // Marks go before NFKC, which would otherwise spell ™ as "TM".
  const cleaned = trimEdgePunctuation(
    name
      .replace(trademarkMarks, "")
      .normalize("NFKC")
      .toLowerCase()
      .replace(/\s+/gu, " "),
  );
  const words = cleaned.split(" ").filter((word) => word.length > 0);
  return trimEdgePunctuation(stripDosageForm(words).join(" "));
};
