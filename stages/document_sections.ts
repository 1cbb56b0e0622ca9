/**
 * Numbering a document's sections and blocks: one rule for every parser, so ids are
 * deterministic (`{docId}:s{i}`, `{docId}:s{i}:b{j}`) and every write downstream is an upsert.
 *
 * @module
 */
import type { Block, Section } from "./ir.ts";

/** A section before ids are assigned. */
export interface SectionDraft {
  /** The section title. */
  readonly title: string;
  /** The section's blocks, in order, without ids. */
  readonly blocks: ReadonlyArray<Omit<Block, "id">>;
}

/**
 * Numbers the non-empty sections and their blocks. A heading with nothing under it has nothing
 * to chunk, so empty sections are dropped and the ids stay dense.
 */
export const buildSections = (
  docId: string,
  drafts: ReadonlyArray<SectionDraft>,
): ReadonlyArray<Section> =>
  drafts
    .filter((draft) => draft.blocks.length > 0)
    .map((draft, i) => ({
      id: `${docId}:s${i}`,
      title: draft.title,
      blocks: draft.blocks.map((block, j) => ({ id: `${docId}:s${i}:b${j}`, ...block })),
    }));
