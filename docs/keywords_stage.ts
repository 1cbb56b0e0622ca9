import { Effect } from "effect";
import { z } from "zod";
import { defineStage, documentSchema, optionsConfig } from "../mod.ts";

/** Options of the Keywords stage, decoded from its `config:` block. */
export interface KeywordOptions {
  readonly minLength: number;
  readonly top: number;
}

/** The most frequent words of a parsed document (ties in alphabetical order). */
export const keywords = defineStage({
  type: "Keywords",
  description: "the most frequent words of each document",
  input: { Parse: documentSchema },
  output: z.object({ docId: z.string(), words: z.array(z.string()) }),
  // `config: { min_length: 5, top: 3 }` in YAML; both optional, no other key allowed.
  config: optionsConfig(
    { min_length: z.number().int().min(1).optional(), top: z.number().int().min(1).optional() },
    (c): KeywordOptions => ({ minLength: c.min_length ?? 4, top: c.top ?? 5 }),
  ),
  run: (_ctx, { Parse: doc }, options) =>
    Effect.sync(() => {
      const counts = new Map<string, number>();
      for (const block of doc.sections.flatMap((s) => s.blocks)) {
        for (const word of block.text.toLowerCase().match(/\p{L}+/gu) ?? []) {
          if (word.length >= options.minLength) counts.set(word, (counts.get(word) ?? 0) + 1);
        }
      }
      const ranked = [...counts].sort(([a, m], [b, n]) => n - m || (a < b ? -1 : 1));
      return { docId: doc.id, words: ranked.slice(0, options.top).map(([word]) => word) };
    }),
  outputCount: (output) => output.words.length,
});
