import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { repoRoot } from "../_harness.ts";
// The guide's vitest example: importing it registers its tests in this file.
import "../../docs/keywords_stage_laws.ts";

const docsDir = resolve(repoRoot, "docs");
const guide = ["concepts.md", "writing_a_stage.md", "policies.md", "lineage.md", "operating.md"];

/** Each code block the guide marks `<!-- file: NAME -->`, with the file it shows. */
const markedBlocks = async () => {
  const blocks: Array<{ page: string; file: string; code: string }> = [];
  for (const page of guide) {
    const text = await Deno.readTextFile(resolve(docsDir, page));
    for (const m of text.matchAll(/<!-- file: (\S+) -->\n\n```[^\n]*\n([\s\S]*?)```\n/g)) {
      blocks.push({ page, file: m[1], code: m[2] });
    }
  }
  return blocks;
};

describe("the guide's code blocks that show a file", () => {
  it("are that file, word for word (the file is what the suite compiles and runs)", async () => {
    const blocks = await markedBlocks();
    expect(blocks.map((b) => `${b.page} → ${b.file}`)).toEqual([
      "writing_a_stage.md → keywords_stage.ts",
      "writing_a_stage.md → keywords_stage_laws.ts",
    ]);
    for (const block of blocks) {
      expect(block.code).toBe(await Deno.readTextFile(resolve(docsDir, block.file)));
    }
  });
});
