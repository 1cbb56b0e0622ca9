/**
 * What a node of the lineage graph says about itself: a short caption and name that fit its box,
 * and the full name (namespace and name) for its tooltip and the details panel.
 *
 * @module
 */
import type { GraphNode } from "./lineage_view.ts";

/**
 * The text of a node: two short lines for its box and the full name for its tooltip.
 *
 * @category models
 */
export interface NodeText {
  /** The small first line: what kind of thing, or where it lives. */
  readonly caption: string;
  /** The second line: the distinctive part of the name. */
  readonly name: string;
  /** Name, kind and namespace in full, one per line. */
  readonly full: string;
}

/**
 * How many characters of the caption line a node box holds at most.
 *
 * @category models
 */
export const CAPTION_CHARS = 26;
/**
 * How many characters of the name line a node box holds at most.
 *
 * @category models
 */
export const NAME_CHARS = 25;

/**
 * Shortens text to `max` characters with an ellipsis in the middle, keeping more of the end:
 * the end of a path or a dotted name is what tells two apart.
 *
 * @example
 * ```ts
 * import { shorten } from "./graph_labels.ts";
 *
 * console.log(shorten("clinicaltrials.gov/api/v2/studies", 20)); // "clinica…i/v2/studies"
 * ```
 *
 * @category constructors
 */
export const shorten = (text: string, max: number): string => {
  const chars = [...text];
  if (chars.length <= max) return text;
  const head = Math.floor((max - 1) * 0.4);
  return `${chars.slice(0, head).join("")}…${
    chars.slice(chars.length - (max - 1 - head)).join("")
  }`;
};

/**
 * What a node is, in a word.
 *
 * @category constructors
 */
export const kindWord = (n: GraphNode): string =>
  n.kind === "dataset" ? "dataset" : n.jobType === "DAG" ? "pipeline" : "job";

// The folder nearest the file says most: a path keeps its end, cut at a slash where one fits.
const keepEnd = (path: string, max: number): string => {
  if ([...path].length <= max) return path;
  const end = [...path].slice(-(max - 1)).join("");
  const slash = end.indexOf("/");
  return `…${slash >= 0 && slash < end.length - 1 ? end.slice(slash) : end}`;
};

const split = (n: GraphNode): { caption: string; name: string } => {
  if (n.kind === "job") {
    if (n.jobType === "DAG") return { caption: "pipeline", name: n.name };
    const dot = n.name.lastIndexOf(".");
    // Stage jobs are named `<pipeline>.<stage>`: the stage is the name, the pipeline the caption.
    return dot > 0 && dot < n.name.length - 1
      ? { caption: `${n.name.slice(0, dot)} ›`, name: n.name.slice(dot + 1) }
      : { caption: n.namespace, name: n.name };
  }
  if (/^https?:\/\//.test(n.namespace)) {
    return { caption: n.namespace.replace(/^https?:\/\//, ""), name: n.name };
  }
  // A store's tables: what a stage handed on reads as that stage, a table as `schema.table`
  // under the database (its folder or server).
  const checkpoint = /(?:^|\.)lk_checkpoints\.(.+)$/.exec(n.name);
  if (checkpoint) return { caption: "checkpoint", name: checkpoint[1] };
  if (/^(postgres|file):\/\//.test(n.namespace)) {
    return {
      caption: keepEnd(n.namespace.replace(/^file:\/\//, ""), CAPTION_CHARS),
      name: n.name.split(".").slice(-2).join("."),
    };
  }
  const slash = n.name.lastIndexOf("/");
  if (n.namespace === "file" && slash >= 0 && slash < n.name.length - 1) {
    return {
      caption: keepEnd(n.name.slice(0, slash + 1), CAPTION_CHARS),
      name: n.name.slice(slash + 1),
    };
  }
  return { caption: n.namespace, name: n.name };
};

/**
 * The two lines a node shows and its full name.
 *
 * @example
 * ```ts
 * import { nodeText } from "./graph_labels.ts";
 *
 * const text = nodeText({
 *   id: "dataset:https://api.fda.gov:/drug/label.json",
 *   kind: "dataset",
 *   namespace: "https://api.fda.gov",
 *   name: "/drug/label.json",
 *   label: "api.fda.gov/drug/label.json",
 * });
 * console.log(text.caption, text.name); // "api.fda.gov" "/drug/label.json"
 * ```
 *
 * @category constructors
 */
export const nodeText = (n: GraphNode): NodeText => {
  const { caption, name } = split(n);
  return {
    caption: shorten(caption, CAPTION_CHARS),
    name: shorten(name, NAME_CHARS),
    full: `${n.name}\n${kindWord(n)} in ${n.namespace}`,
  };
};
