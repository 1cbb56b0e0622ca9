/**
 * The `dataset` section of `openlineage.yml`: `namespaceResolvers` (the Java client's `hostList`,
 * `pattern` and `patternGroup` resolvers, keyed by the name they resolve to). The Java client's
 * dataset-name trimmers are Java classes and are refused.
 *
 * @module
 */
import { z } from "zod";
import type { ConfigProblem } from "./config_error.ts";
import type { ConfigPath } from "./_config_sources.ts";
import { decodeAt, quotedWord, type Where } from "./_config_issues.ts";
import { custom, strict, text, unsupported } from "./_config_values.ts";
import type { NamespaceResolver } from "./namespace_resolvers.ts";

const compiles = (s: string) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
};

const regex = text.refine(compiles, "is not a valid regular expression");
const schema = z.string().regex(/^[a-z][a-z0-9+.-]*$/, "must be a URI scheme such as kafka")
  .optional();
const hostList = strict({
  type: z.literal("hostList"),
  hosts: z.union([
    z.array(text).min(1),
    z.string().transform((s) =>
      s.replace(/^\s*\[|\]\s*$/g, "").split(/[;,]/).map((h) => h.trim().replace(/^'|'$/g, ""))
        .filter((h) => h)
    ),
  ]),
  schema,
});
const pattern = strict({ type: z.literal("pattern"), regex, schema });
const patternGroup = strict({
  type: z.literal("patternGroup"),
  regex,
  matchingGroup: text,
  schema,
}).superRefine((p, ctx) => {
  if (compiles(p.regex) && !new RegExp(`\\(\\?<${p.matchingGroup}>`).test(p.regex)) {
    ctx.addIssue(custom(["matchingGroup"], `names no group (?<${p.matchingGroup}>…) of regex`));
  }
});

const TRIMMERS = "the kit's dataset names carry no dates or partitions to trim";

const section = strict({
  namespaceResolvers: z.record(z.string(), z.unknown()).optional(),
  disabledTrimmers: unsupported(TRIMMERS),
  extraTrimmers: unsupported(TRIMMERS),
});

const RESOLVED = /^[a-zA-Z0-9_\-.@+:;=/]{1,256}$/;

/**
 * Decodes `dataset` at `path` into its namespace resolvers, in the order written.
 *
 * @category constructors
 */
export const decodeDataset = (
  value: unknown,
  path: ConfigPath,
  where: Where,
): { resolvers: NamespaceResolver[]; problems: ConfigProblem[] } => {
  const out = { resolvers: [] as NamespaceResolver[], problems: [] as ConfigProblem[] };
  const s = decodeAt(section, value, path, where);
  out.problems.push(...s.problems);
  for (const [name, raw] of Object.entries(s.value?.namespaceResolvers ?? {})) {
    const at = [...path, "namespaceResolvers", name];
    if (!RESOLVED.test(name)) {
      out.problems.push({
        where: where(at),
        message: `resolver name ${JSON.stringify(name)} must be usable in a namespace ` +
          "(letters, digits and _-.@+:;=/)",
      });
      continue;
    }
    const type = (raw as { type?: unknown } | null)?.type;
    const schemaOf = type === "hostList"
      ? hostList
      : type === "pattern"
      ? pattern
      : type === "patternGroup"
      ? patternGroup
      : undefined;
    if (schemaOf === undefined) {
      out.problems.push({
        where: where([...at, "type"]),
        message: type === undefined
          ? `missing required key "type" in ${["dataset", "namespaceResolvers", name].join(".")}`
          : `unknown resolver type${quotedWord(type)} (allowed: hostList, pattern, patternGroup)`,
      });
      continue;
    }
    const r = decodeAt(schemaOf as z.ZodType<Omit<NamespaceResolver, "name">>, raw, at, where);
    out.problems.push(...r.problems);
    if (r.value) out.resolvers.push({ ...r.value, name } as NamespaceResolver);
  }
  return out;
};
