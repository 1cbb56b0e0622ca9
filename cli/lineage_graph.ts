/**
 * `deno task lineage graph`: the jobs and datasets of a store's lineage and how they connect, as
 * Mermaid (default, to stdout), Graphviz DOT, JSON, or a self-contained HTML page with the graph
 * and the latest runs' timelines (written to `--out`, default `lineage-graph.html`).
 *
 * Exit status: 0; 2 for usage errors or a missing store.
 *
 * @module
 */
import { resolve } from "node:path";
import { renderDot, renderHtml, renderMermaid } from "../lineage/graph_render.ts";
import { lineageGraph, runDatasets, runTimeline, summarizeRuns } from "../lineage/lineage_view.ts";
import type { LineageEvent } from "../lineage/lineage_view.ts";
import { type FlagSpec, parseArgs, UsageError } from "./_args.ts";
import { withUsage } from "./_command.ts";
import { loadLineageEvents, tenantFlag, tenantOf, tenantUsage } from "./_lineage_events.ts";

const USAGE = `usage: deno task lineage graph [options]

  --format F        mermaid (default), dot, json or html
  --out FILE        write to FILE instead of stdout (html: default lineage-graph.html)
  --runs N          html: how many of the latest pipeline runs to offer in the run picker
                    (default: 5)
  --store DIR|URL   the store: a directory (default: .lineage-kit) or postgres:// URL
${tenantUsage}
  --help            this text`;

const FORMATS = ["mermaid", "dot", "json", "html"] as const;
type Format = typeof FORMATS[number];

const flagSpecs: Readonly<Record<string, FlagSpec>> = {
  store: { type: "string" },
  ...tenantFlag,
  format: { type: "string" },
  out: { type: "string" },
  runs: { type: "integer", min: 0 },
  help: { type: "boolean" },
};

const render = (
  format: Format,
  events: ReadonlyArray<LineageEvent>,
  options: { location: string; runs: number },
): string => {
  const graph = lineageGraph(events);
  if (format === "mermaid") return renderMermaid(graph);
  if (format === "dot") return renderDot(graph);
  if (format === "json") return JSON.stringify(graph) + "\n";
  const timelines = summarizeRuns(events).slice(0, options.runs)
    .map((r) => ({ ...runTimeline(events, r.runId)!, datasets: runDatasets(events, r.runId) }));
  return renderHtml(graph, { subtitle: options.location, timelines });
};

/** Runs the command; returns its exit status. */
export const main = (args: ReadonlyArray<string>): Promise<number> =>
  withUsage("lineage graph", USAGE, async () => {
    const { flags, positional } = parseArgs(args, flagSpecs);
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const format = (flags.format as string | undefined) ?? "mermaid";
    if (!(FORMATS as ReadonlyArray<string>).includes(format)) {
      throw new UsageError(`--format: expected one of ${FORMATS.join(", ")}, got "${format}"`);
    }
    const loaded = await loadLineageEvents(
      "lineage graph",
      flags.store as string | undefined,
      tenantOf(flags),
    );
    if (typeof loaded === "number") return loaded;
    const text = render(format as Format, loaded.events, {
      location: loaded.location,
      runs: (flags.runs as number | undefined) ?? 5,
    });
    const out = (flags.out as string | undefined) ??
      (format === "html" ? "lineage-graph.html" : undefined);
    if (out === undefined) {
      // console.log adds a newline the renderers already end with.
      console.log(text.replace(/\n$/, ""));
      return 0;
    }
    try {
      await Deno.writeTextFile(resolve(out), text);
    } catch (e) {
      console.error(`lineage graph: --out: cannot write ${resolve(out)}: ${(e as Error).message}`);
      return 2;
    }
    console.log(resolve(out));
    return 0;
  });

if (import.meta.main) Deno.exit(await main(Deno.args));
