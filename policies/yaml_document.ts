/**
 * A parsed YAML configuration file that remembers where every node came from, so that a problem
 * found in the decoded value can name the file, line and column of the offending node.
 *
 * @module
 */
import {
  type Alias,
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type ParsedNode,
  parseDocument,
  visit,
  type YAMLError,
} from "yaml";
import type { z } from "zod";
import { describeIssue, type Problem, type ValuePath } from "./problem.ts";

/** A 1-based line and column. */
export interface Position {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** A YAML file parsed without syntax errors: its decoded value plus what locates its nodes. */
export interface YamlSource {
  /** The file name used in problems. */
  readonly file: string;
  /** The document decoded to plain JavaScript (mappings become objects). */
  readonly value: unknown;
  /** The document's root node with its source ranges; `null` for an empty document. */
  readonly root: ParsedNode | null;
  /** Turns the nodes' character offsets into lines and columns. */
  readonly lineCounter: LineCounter;
}

/** Where the leading segments of a path name something the caller puts in its own prefix. */
export interface IssueContext {
  /** e.g. `stage "embed"`; empty for none. */
  readonly prefix: string;
  /** How many leading path segments the prefix stands for. */
  readonly base: number;
}

/**
 * Parses YAML text keeping node ranges. Syntax errors (including duplicate keys and multiple
 * documents) come back as problems at their line and column, and then there is no source.
 */
export const parseYaml = (
  file: string,
  text: string,
): { readonly source?: YamlSource; readonly problems: ReadonlyArray<Problem> } => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (doc.errors.length > 0) {
    return { problems: doc.errors.map((error) => syntaxProblem(file, lineCounter, error)) };
  }
  try {
    return { source: { file, value: doc.toJS(), root: doc.contents, lineCounter }, problems: [] };
  } catch (error) {
    // Aliases are resolved only here: an unknown anchor or an alias bomb throws.
    const at = lineCounter.linePos(badAlias(doc)?.range?.[0] ?? 0);
    const message = `YAML error: ${error instanceof Error ? error.message : String(error)}`;
    return { problems: [{ file, line: at.line, column: at.col, message }] };
  }
};

const badAlias = (doc: Document): Alias | undefined => {
  let found: Alias | undefined;
  visit(doc, {
    Alias: (_, node) => {
      if (node.resolve(doc) !== undefined) return undefined;
      found = node;
      return visit.BREAK;
    },
  });
  return found;
};

const syntaxProblem = (file: string, lineCounter: LineCounter, error: YAMLError): Problem => {
  const at = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
  // yaml appends " at line L, column C:" and an excerpt, and for several documents suggests its
  // own API; the position is printed by us and only the finding is kept.
  const message = error.message.split(/ at line \d+, column \d+/)[0].split(/\n|; please use/)[0];
  return { file, line: at.line, column: at.col, message: `YAML syntax error: ${message}` };
};

/**
 * The position of the node at `path`: a mapping entry is located at its key, a sequence item at
 * the item. When the path goes further than the document, the nearest existing parent is used.
 */
export const locate = (source: YamlSource, path: ValuePath): Position => {
  let node: unknown = source.root;
  let found = startOf(source, source.root);
  for (const segment of path) {
    const step = childOf(node, segment);
    if (step === undefined) break;
    found = startOf(source, step.anchor) ?? found;
    node = step.node;
  }
  return found ?? { line: 1, column: 1 };
};

const childOf = (
  node: unknown,
  segment: string | number,
): { readonly anchor: unknown; readonly node: unknown } | undefined => {
  if (isMap(node)) {
    const pair = node.items.find((item) =>
      isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment)
    );
    return pair === undefined ? undefined : { anchor: pair.key, node: pair.value };
  }
  if (isSeq(node) && typeof segment === "number") {
    const item = node.items[segment];
    return item === undefined ? undefined : { anchor: item, node: item };
  }
  // Scalars have no children, and an alias is located where it is written, not at its anchor.
  return undefined;
};

const startOf = (source: YamlSource, node: unknown): Position | undefined => {
  const range = (node as Node | null | undefined)?.range;
  if (range === undefined || range === null) return undefined;
  const at = source.lineCounter.linePos(range[0]);
  return { line: at.line, column: at.col };
};

/** A problem about the node at `path`. */
export const problemAt = (source: YamlSource, path: ValuePath, message: string): Problem => {
  const at = locate(source, path);
  return { file: source.file, line: at.line, column: at.column, message };
};

/**
 * Every zod issue of a decode as problems, each at its node. `contextOf` names the thing a path
 * belongs to (a stage, a policy) so that messages start with it.
 */
export const problemsFromIssues = (
  source: YamlSource,
  issues: ReadonlyArray<z.core.$ZodIssue>,
  contextOf: (path: ValuePath) => IssueContext,
): ReadonlyArray<Problem> =>
  issues.flatMap((issue) => {
    const context = contextOf(issue.path.map((key) => typeof key === "number" ? key : String(key)));
    return describeIssue(issue, context.base).map(({ path, message }) =>
      problemAt(source, path, context.prefix === "" ? message : `${context.prefix}: ${message}`)
    );
  });
