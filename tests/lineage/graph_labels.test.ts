import { describe, expect, it } from "vitest";
import { kindWord, nodeText, shorten } from "../../lineage/graph_labels.ts";
import type { GraphNode } from "../../lineage/lineage_view.ts";

const node = (kind: GraphNode["kind"], namespace: string, name: string, jobType?: string) => ({
  id: `${kind}:${namespace}:${name}`,
  kind,
  namespace,
  name,
  label: name,
  ...(jobType ? { jobType } : {}),
});

describe("shorten()", () => {
  it("keeps text that fits and puts one ellipsis in the middle of text that does not", () => {
    expect(shorten("abcdef", 6)).toBe("abcdef");
    expect(shorten("abcdefg", 6)).toBe("ab…efg");
    expect(shorten("clinicaltrials.gov/api/v2/studies", 20)).toBe("clinica…i/v2/studies");
    expect([...shorten("x".repeat(100), 25)]).toHaveLength(25);
  });
});

describe("nodeText()", () => {
  it("splits each kind of name into a caption and a name, and keeps the full name", () => {
    const nodes = [
      node("job", "lineage-kit", "auto", "DAG"),
      node("job", "lineage-kit", "pdf-two-phase.gate_pdf_ir_ready", "TASK"),
      node("job", "other", "nightly"),
      node("dataset", "https://api.fda.gov", "/drug/label.json"),
      node("dataset", "file", "/tmp/lk-demo/db.public.lk_kg_edges"),
      node("dataset", "inmemory://lineage-kit", "pdf-two-phase.download"),
    ];
    expect(nodes.map(nodeText)).toEqual([
      { caption: "pipeline", name: "auto", full: "auto\npipeline in lineage-kit" },
      {
        caption: "pdf-two-phase ›",
        name: "gate_pdf_ir_ready",
        full: "pdf-two-phase.gate_pdf_ir_ready\njob in lineage-kit",
      },
      { caption: "other", name: "nightly", full: "nightly\njob in other" },
      {
        caption: "api.fda.gov",
        name: "/drug/label.json",
        full: "/drug/label.json\ndataset in https://api.fda.gov",
      },
      {
        caption: "/tmp/lk-demo/",
        name: "db.public.lk_kg_edges",
        full: "/tmp/lk-demo/db.public.lk_kg_edges\ndataset in file",
      },
      {
        caption: "inmemory://lineage-kit",
        name: "pdf-two-phase.download",
        full: "pdf-two-phase.download\ndataset in inmemory://lineage-kit",
      },
    ]);
    expect(nodes.map(kindWord)).toEqual([
      "pipeline",
      "job",
      "job",
      "dataset",
      "dataset",
      "dataset",
    ]);
  });

  it("shows a store's checkpoints as the stage that wrote them, its tables as schema.table", () => {
    const nodes = [
      node("dataset", "file:///tmp/lk-test-0a1b2c3d/store/db", "postgres.public.lk_chunks"),
      node("dataset", "postgres://db:5432", "kg.public.lk_checkpoints.auto.parse"),
      node("dataset", "file", "/srv/my store/db/postgres.public.lk_checkpoints.pdf.ingest"),
    ];
    expect(nodes.map((n) => [nodeText(n).caption, nodeText(n).name])).toEqual([
      ["…/store/db", "public.lk_chunks"],
      ["checkpoint", "auto.parse"],
      ["checkpoint", "pdf.ingest"],
    ]);
  });

  it("keeps the end of a long folder path, where the folder nearest the file is", () => {
    const table = node("dataset", "file", "/tmp/lk-test-0a1b2c3d/store/db.public.lk_chunks");
    expect(nodeText(table)).toEqual({
      caption: "…/lk-test-0a1b2c3d/store/",
      name: "db.public.lk_chunks",
      full: "/tmp/lk-test-0a1b2c3d/store/db.public.lk_chunks\ndataset in file",
    });
  });

  it("shortens long names for the box but never in the full name", () => {
    const long = node("dataset", "s3://bucket", `${"a".repeat(40)}/part-0001.parquet`);
    const text = nodeText(long);
    expect(text.name).toBe("aaaaaaaaa…rt-0001.parquet");
    expect(text.full).toBe(`${long.name}\ndataset in s3://bucket`);
  });
});
